"""The shared ledger's arithmetic: true sliding windows, reconciliation, crash-left reservations,
shared cool-downs and the Pacific-midnight day, on SQLite and PostgreSQL."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import ModelLimits
from elevra_pipeline.quotas.windows import day_key, seconds_until_day_reset
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.repository import Repository

T0 = 1_800_000_000.0


def _upload(engine) -> int:
    return Repository(engine).add_upload(partition_key="u1", content_hash="h1", original_filename="u.csv").id


@pytest.fixture
def ledger(db_url):
    return QuotaLedger(migrated_engine(db_url), window_seconds=10, day_seconds=None)


def test_sliding_window_admits_again_exactly_when_the_oldest_call_leaves(ledger):
    limits = ModelLimits(rpm=3)
    for t in (0, 1, 2):
        assert ledger.try_reserve("m", limits, 10, T0 + t).admitted
    denied = ledger.try_reserve("m", limits, 10, T0 + 5)
    assert not denied.admitted and denied.wait == pytest.approx(5) and "RPM" in denied.reason
    assert not ledger.try_reserve("m", limits, 10, T0 + 9.999).admitted
    assert ledger.try_reserve("m", limits, 10, T0 + 10).admitted


def test_a_new_fixed_minute_does_not_reopen_the_window(ledger):
    """A fixed window would let 2x the limit through around its edge; a sliding one does not."""
    limits = ModelLimits(rpm=3)
    for t in (8, 9, 9.5):
        assert ledger.try_reserve("m", limits, 10, T0 + t).admitted
    assert not ledger.try_reserve("m", limits, 10, T0 + 10.5).admitted
    assert ledger.try_reserve("m", limits, 10, T0 + 18.01).admitted


def test_token_window_waits_until_enough_tokens_leave(ledger):
    limits = ModelLimits(tpm=1000)
    assert ledger.try_reserve("m", limits, 600, T0).admitted
    assert ledger.try_reserve("m", limits, 300, T0 + 2).admitted
    denied = ledger.try_reserve("m", limits, 500, T0 + 3)
    assert not denied.admitted and denied.wait == pytest.approx(7) and "TPM" in denied.reason
    assert ledger.try_reserve("m", limits, 1001, T0 + 100).wait == float("inf")


def test_reconciling_with_actual_tokens_frees_the_over_estimate(ledger):
    limits = ModelLimits(tpm=1500)
    first = ledger.try_reserve("m", limits, 1000, T0)
    assert not ledger.try_reserve("m", limits, 1000, T0 + 1).admitted
    ledger.settle(first.reservation_id, T0 + 1.5, actual_tokens=200)
    assert ledger.try_reserve("m", limits, 1000, T0 + 2).admitted


def test_settled_calls_count_from_when_the_answer_came(ledger):
    limits = ModelLimits(rpm=1)
    first = ledger.try_reserve("m", limits, 10, T0)
    ledger.settle(first.reservation_id, T0 + 4)  # the server may have counted it as late as this
    assert not ledger.try_reserve("m", limits, 10, T0 + 12).admitted
    assert ledger.try_reserve("m", limits, 10, T0 + 14).admitted


def test_a_crashed_process_reservation_counts_until_its_window_passes_and_locks_nothing(db_url):
    engine = migrated_engine(db_url)
    crashed, survivor = QuotaLedger(engine, 10), QuotaLedger(engine, 10)
    limits = ModelLimits(rpm=2)
    assert crashed.try_reserve("m", limits, 60, T0).admitted  # never settled: its process died
    assert survivor.try_reserve("m", limits, 30, T0 + 1).admitted  # no lock was left behind
    assert not survivor.try_reserve("m", limits, 30, T0 + 2).admitted
    assert survivor.try_reserve("m", limits, 30, T0 + 10.01).admitted


def test_batch_enqueued_tokens_hold_until_the_job_ends_and_online_calls_do_not_count(db_url):
    engine = migrated_engine(db_url)
    one, other = QuotaLedger(engine, 10), QuotaLedger(engine, 10)
    limits = ModelLimits(batch_enqueued_tokens=100)
    assert one.try_reserve("m", limits, 90, T0).admitted  # an online call: not the Batch API's limit
    job = {"key": "k1", "upload_id": _upload(engine), "stage": "analysis", "state": "submitting", "batch_ids": [1]}
    first = one.open_batch_job("m", limits, 60, {**job, "submitted_at": T0})
    assert first is not None and other.batch_capacity("m", limits) == 40
    assert other.open_batch_job("m", limits, 60, {**job, "key": "k2", "submitted_at": T0}) is None
    with engine.begin() as conn:
        conn.execute(text("UPDATE gemini_batch_jobs SET ended_at = :t WHERE id = :i"), {"t": T0 + 5, "i": first})
    assert other.open_batch_job("m", limits, 60, {**job, "key": "k2", "submitted_at": T0 + 6}) is not None
    assert one.batch_capacity("m", ModelLimits()) == float("inf")


def test_cool_down_is_shared_by_every_process_and_never_shortened(db_url):
    engine = migrated_engine(db_url)
    one, other = QuotaLedger(engine, 10), QuotaLedger(engine, 10)
    one.cool_down("m", T0 + 30, "429 retry in 30s")
    one.cool_down("m", T0 + 5, "shorter")
    denied = other.try_reserve("m", ModelLimits(), 1, T0 + 1)
    assert not denied.admitted and denied.wait == pytest.approx(29) and "429 retry in 30s" in denied.reason
    assert other.try_reserve("m", ModelLimits(), 1, T0 + 30.5).admitted


def test_requests_per_day_reset_with_the_day(db_url):
    ledger = QuotaLedger(migrated_engine(db_url), window_seconds=1, day_seconds=100)
    limits = ModelLimits(rpd=2)
    day_start = 18_000_000 * 100.0
    assert ledger.try_reserve("m", limits, 1, day_start + 10).admitted
    assert ledger.try_reserve("m", limits, 1, day_start + 20).admitted
    denied = ledger.try_reserve("m", limits, 1, day_start + 30)
    assert not denied.admitted and denied.wait == pytest.approx(70) and "RPD" in denied.reason
    assert ledger.try_reserve("m", limits, 1, day_start + 100).admitted


PT = ZoneInfo("America/Los_Angeles")


@pytest.mark.parametrize(
    "local, key, until_reset",
    [
        (datetime(2026, 11, 22, 23, 59, 30, tzinfo=PT), "2026-11-22", 30),
        (datetime(2026, 11, 23, 0, 0, 0, tzinfo=PT), "2026-11-23", 86400),
        (datetime(2026, 7, 4, 23, 0, 0, tzinfo=PT), "2026-07-04", 3600),  # daylight time, UTC-7
        (datetime(2026, 3, 8, 0, 30, 0, tzinfo=PT), "2026-03-08", 23 * 3600 - 1800),  # a 23-hour day
    ],
)
def test_the_day_resets_at_midnight_pacific(local, key, until_reset):
    now = local.timestamp()
    assert day_key(now) == key
    assert seconds_until_day_reset(now) == pytest.approx(until_reset)


def test_reserving_several_calls_at_once_decides_as_one_after_another(db_url):
    """One transaction for a turn of the event loop must admit exactly what calls one at a time would:
    the same admissions, the same waits (each refused caller waiting is one more ahead of the next),
    the same day count."""
    limits = ModelLimits(rpm=4, tpm=1000, rpd=50)
    together = QuotaLedger(migrated_engine(db_url), window_seconds=10, day_seconds=None)
    assert together.try_reserve("m", limits, 100, T0).admitted
    asked = [100, 2000, 300, 100, 100, 100, 100]  # the 2,000-token call can never fit; the last three wait
    decisions = together.try_reserve_many("m", limits, asked, T0 + 1, ahead=0)

    alone = QuotaLedger(migrated_engine(db_url), window_seconds=10, day_seconds=None)
    assert alone.try_reserve("other", limits, 100, T0).admitted
    ahead, expected = 0, []
    for tokens in asked:
        decision = alone.try_reserve("other", limits, tokens, T0 + 1, ahead)
        ahead += not decision.admitted and decision.wait != float("inf")
        expected.append(decision)

    assert [d.admitted for d in decisions] == [True, False, True, True, False, False, False]
    assert [(d.admitted, d.wait, d.reason) for d in decisions] == [(e.admitted, e.wait, e.reason) for e in expected]
    # behind 0, 1, 2 callers: the first waits for the call of T0 to leave, the others for this turn's
    assert [d.wait for d in decisions[4:]] == pytest.approx([9, 10, 10])
    ids = [d.reservation_id for d in decisions if d.admitted]
    assert len(set(ids)) == 3 and ids == sorted(ids)
    assert together.usage("m", T0 + 1)["requests_today"] == 4 == alone.usage("other", T0 + 1)["requests_today"]

"""Routing and retries: fall back when the preferred model is full or cooling down, come back when it
frees up, read 429s, back off on 5xx and bad output, give up after the attempt limit."""

import pytest

from elevra_pipeline.exceptions import BatchFailedError, ModelCallError
from elevra_pipeline.quotas.engine import CallResult, QuotaEngine
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import parse_quotas
from elevra_pipeline.storage.database import migrated_engine


class FakeClock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def make_engine(db_url, clock, **limits):
    config = parse_quotas(
        {
            "window_seconds": 60,
            "fallback_after_seconds": 5,
            "max_wait_seconds": 600,
            "models": {"pro": limits.get("pro", {}), "backup": limits.get("backup", {})},
            "chains": {"analysis": ["pro", "backup"]},
        }
    )
    rows = []
    ledger = QuotaLedger(migrated_engine(db_url), 60, None)
    engine = QuotaEngine(config, ledger, attempt_sink=rows.append, clock=clock, sleep=clock.sleep, backoff_base=0.5)
    return engine, rows


def ok(model):
    return CallResult(value=model, input_tokens=10, output_tokens=5, excerpt="{}")


def test_preferred_model_full_falls_back_with_the_reason_then_returns(db_url):
    clock = FakeClock()
    engine, rows = make_engine(db_url, clock, pro={"rpm": 2})
    used = [engine.call("analysis", 40, ok).model for _ in range(3)]
    assert used == ["pro", "pro", "backup"]
    assert rows[2]["is_fallback"] and "pro: RPM limit reached" in rows[2]["fallback_reason"]
    clock.now += 61
    assert engine.call("analysis", 40, ok).model == "pro"


def test_waits_for_the_preferred_model_when_it_frees_up_soon(db_url):
    clock = FakeClock()
    engine, _ = make_engine(db_url, clock, pro={"rpm": 1})
    engine.call("analysis", 40, ok)
    clock.now += 57  # pro is free again in 3 s, within fallback_after_seconds
    outcome = engine.call("analysis", 40, ok)
    assert outcome.model == "pro" and outcome.fallback_reason is None and clock.now >= 1_800_000_060


def test_per_minute_429_cools_the_model_down_for_the_server_delay_and_falls_back(db_url):
    clock = FakeClock()
    engine, rows = make_engine(db_url, clock)
    replies = iter(
        [
            ModelCallError(
                "429",
                error_type="rate_limited",
                status_code=429,
                retry_delay=37,
                quota_id="GenerateRequestsPerMinutePerProjectPerModel",
                scope="minute",
            )
        ]
    )

    def invoke(model):
        if model == "pro":
            raise next(replies)
        return ok(model)

    assert engine.call("analysis", 40, invoke).model == "backup"
    assert rows[0]["status"] == "rate_limited" and rows[0]["quota_id"].endswith("PerMinutePerProjectPerModel")
    assert rows[1]["is_fallback"] and "cooling down" in rows[1]["fallback_reason"]
    assert engine.ledger.usage("pro", clock.now)["cooldown_seconds"] == pytest.approx(37, abs=0.1)


def test_per_day_429_cools_the_model_down_until_the_pacific_midnight(db_url):
    clock = FakeClock()
    engine, _ = make_engine(db_url, clock)

    def invoke(model):
        if model == "pro":
            raise ModelCallError(
                "429",
                error_type="rate_limited",
                status_code=429,
                scope="day",
                quota_id="GenerateRequestsPerDayPerProjectPerModel",
                retry_delay=30,
            )
        return ok(model)

    engine.call("analysis", 40, invoke)
    from elevra_pipeline.quotas.windows import seconds_until_day_reset

    cooldown = engine.ledger.usage("pro", clock.now)["cooldown_seconds"]
    assert cooldown == pytest.approx(seconds_until_day_reset(clock.now), abs=0.1) and cooldown > 30


@pytest.mark.parametrize("error_type", ["server_error", "timeout", "invalid_output"])
def test_transient_errors_are_retried_with_backoff_then_succeed(db_url, error_type):
    clock = FakeClock()
    engine, rows = make_engine(db_url, clock)
    failures = iter([ModelCallError("x", error_type=error_type)] * 2)

    def invoke(model):
        error = next(failures, None)
        if error:
            raise error
        return ok(model)

    outcome = engine.call("analysis", 40, invoke)
    assert outcome.attempts == 3 and [r["status"] for r in rows] == [error_type, error_type, "ok"]


def test_gives_up_after_five_attempts_with_the_last_error(db_url):
    clock = FakeClock()
    engine, rows = make_engine(db_url, clock)

    def invoke(model):
        raise ModelCallError("503 UNAVAILABLE: overloaded", error_type="server_error", status_code=503)

    with pytest.raises(BatchFailedError, match="after 5 attempt.*503 UNAVAILABLE"):
        engine.call("analysis", 40, invoke)
    assert len(rows) == 5


def test_429_without_details_backs_off_on_our_own(db_url):
    clock = FakeClock()
    engine, rows = make_engine(db_url, clock)
    replies = iter([ModelCallError("429", error_type="rate_limited", status_code=429)])

    def invoke(model):
        error = next(replies, None)
        if error:
            raise error
        return ok(model)

    started = clock.now
    engine.call("analysis", 40, invoke)
    assert rows[0]["retry_delay_s"] is None
    assert rows[1]["model"] == "pro" and clock.now - started >= 0.5  # waited out its own backoff, no fallback


def test_reservations_are_reconciled_with_actual_tokens(db_url):
    clock = FakeClock()
    engine, rows = make_engine(db_url, clock, pro={"tpm": 1000})
    engine.call("analysis", 4000, ok)  # estimated ~1400 tokens: over TPM, so it runs on backup
    assert rows[-1]["model"] == "backup" and rows[-1]["estimated_tokens"] > 1000
    engine.call("analysis", 400, ok)
    assert engine.ledger.usage("pro", clock.now)["tokens_in_window"] == 10
    assert engine.estimator.estimate(400) < 50  # calibrated down to what the server counted


def slow(clock, seconds):
    def invoke(model):
        clock.now += seconds  # the model thinks for this long after the server counted the call
        return ok(model)

    return invoke


def test_a_slow_answer_holds_its_slot_from_arrival_not_for_the_thinking_time(db_url):
    clock = FakeClock()
    engine, _ = make_engine(db_url, clock, pro={"rpm": 1})
    sent = clock.now
    engine.call("analysis", 40, slow(clock, 30))  # counted by sent + arrival margin (2 s), not at +30 s
    clock.now = sent + 60 + 2 + 0.01
    assert engine.call("analysis", 40, ok).model == "pro"


def test_a_quick_answer_counts_from_when_it_came(db_url):
    clock = FakeClock()
    engine, _ = make_engine(db_url, clock, pro={"rpm": 1})
    sent = clock.now
    engine.call("analysis", 40, slow(clock, 0.5))  # answered before the margin: the server counted it by then
    clock.now = sent + 60 + 0.4
    assert engine.ledger.try_reserve("pro", engine.config.limits("pro"), 10, clock.now).admitted is False
    clock.now = sent + 60 + 0.5 + 0.01
    assert engine.call("analysis", 40, ok).model == "pro"


def test_callers_waiting_in_one_process_queue_for_successive_slots(db_url):
    clock = FakeClock()
    engine, _ = make_engine(db_url, clock, pro={"rpm": 2})
    engine.call("analysis", 40, ok)
    clock.now += 1
    engine.call("analysis", 40, ok)
    clock.now += 57  # first slot frees in 2 s, the second in 3 s
    limits = engine.config.limits("pro")
    assert engine.ledger.try_reserve("pro", limits, 10, clock.now).wait == pytest.approx(2, abs=0.01)
    assert engine.ledger.try_reserve("pro", limits, 10, clock.now, ahead=1).wait == pytest.approx(3, abs=0.01)
    assert engine.ledger.try_reserve("pro", limits, 10, clock.now, ahead=2).wait == 60  # not within this window

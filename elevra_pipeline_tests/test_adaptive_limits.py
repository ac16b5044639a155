"""Effective limits: declared x share, shared by every process through the ledger, lowered when Google's
429s show that someone else uses the quota, raised again step by step, every change recorded."""

import asyncio
import json
import time
from datetime import datetime, timezone

import pytest

from elevra_pipeline.gemini.client import GeminiCaller, make_client
from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.gemini.prompts import ANALYSIS_SYSTEM
from elevra_pipeline.gemini.schemas import BatchAnalysis
from elevra_pipeline.quotas.engine import QuotaEngine
from elevra_pipeline.quotas.in_flight import run_paced
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import ModelLimits, parse_quotas
from elevra_pipeline.storage.database import migrated_engine

T0 = 1_800_000_000.0


def config(rpm: int, **extra):
    return parse_quotas(
        {
            "window_seconds": 1,
            "fallback_after_seconds": 0.1,
            "arrival_margin_seconds": 0.3,
            "models": {"pro": {"rpm": rpm, "rpd": 1000}},
            "chains": {"analysis": ["pro"]},
            **extra,
        }
    )


def test_share_takes_part_of_each_declared_limit_named_or_as_a_number():
    assert config(100, share="balanced").allowed("pro").rpm == 80
    assert config(100, share=0.5).allowed("pro") == ModelLimits(rpm=50, rpd=500, share=0.5)
    own = parse_quotas({"share": "conservative", "models": {"pro": {"rpm": 100, "share": 1.0}, "flash": {"rpm": 10}}})
    assert (own.allowed("pro").rpm, own.allowed("flash").rpm) == (100, 5)
    with pytest.raises(Exception, match="share"):
        config(100, share=1.5)


def test_a_429_under_our_own_count_cuts_the_limit_for_every_process_and_clean_windows_raise_it(db_url):
    engine = migrated_engine(db_url)
    one, other = QuotaLedger(engine, 10, adaptive=True), QuotaLedger(engine, 10, adaptive=True)
    allowed = ModelLimits(rpm=20)
    reserved = [one.try_reserve("pro", allowed, 10, T0 + i * 0.1) for i in range(13)]
    one.settle_refused(reserved[-1].reservation_id)  # Google refused the 13th: it did not count it
    one.rate_limited("pro", allowed, "minute", "GenerateRequestsPerMinutePerProjectPerModel", T0 + 1.3)
    assert other.effective_limits("pro", allowed, T0 + 2).rpm == 12  # what Google had admitted of ours
    assert not other.try_reserve("pro", allowed, 10, T0 + 2).admitted  # 12 in the window: the new limit
    (change,) = one.limit_changes("pro")
    assert (change["limit"], change["old"], change["new"]) == ("rpm", 20, 12) and "someone else" in change["reason"]
    # two clean windows later (the wait doubles after each cut), one step (5% of 20) back up
    assert other.try_reserve("pro", allowed, 10, T0 + 1.3 + 20.5).admitted
    assert one.effective_limits("pro", allowed, T0 + 22).rpm == 13
    assert [c["reason"] for c in one.limit_changes("pro")][1].startswith("2 clean window(s): raised by a step")


def test_a_daily_429_below_our_daily_count_sets_todays_limit_to_what_we_sent(db_url):
    ledger = QuotaLedger(migrated_engine(db_url), 10, adaptive=True)
    allowed = ModelLimits(rpd=1000)
    sent = [ledger.try_reserve("pro", allowed, 1, T0 + i * 20) for i in range(5)]
    ledger.settle_refused(sent[-1].reservation_id)
    ledger.rate_limited("pro", allowed, "day", "GenerateRequestsPerDayPerProjectPerModel", T0 + 100)
    assert ledger.effective_limits("pro", allowed, T0 + 101).rpd == 4
    assert "today" in ledger.limit_changes()[0]["reason"]


def test_without_adaptive_the_declared_share_is_all_that_counts(db_url):
    ledger = QuotaLedger(migrated_engine(db_url), 10, adaptive=False)
    ledger.try_reserve("pro", ModelLimits(rpm=20), 1, T0)
    ledger.rate_limited("pro", ModelLimits(rpm=20), "minute", "PerMinute", T0)
    assert ledger.limit_changes() == [] and ledger.effective_limits("pro", ModelLimits(rpm=20), T0).rpm == 20


def test_against_a_real_limit_half_the_declared_one_the_engine_converges(sqlite_url):
    """Google (the emulator) admits 10 calls a window where 20 are declared: the first windows end in
    429s, then the effective limit settles near 10, the 429s stop and every call completes."""
    declared, real = config(20), config(10)
    server = start_in_thread(quotas=real)
    ledger = QuotaLedger.for_config(migrated_engine(sqlite_url), declared)
    rows: list[dict] = []
    engine = QuotaEngine(
        declared,
        ledger,
        attempt_sink=lambda row: rows.append({**row, "at": time.time()}),
        backoff_base=0.05,
        max_in_flight=40,
    )
    caller = GeminiCaller(make_client(None, server.base_url, 30, 40), engine)
    prompts = [f'TASK: analyze-election-batch\n<rows>[{{"candidate_name": "N{i}"}}]</rows>' for i in range(80)]
    started = time.time()
    try:
        paced = run_paced(
            lambda prompt: caller.arun("analysis", ANALYSIS_SYSTEM, prompt, BatchAnalysis),
            prompts,
            lambda: engine.in_flight("analysis"),
            ceiling=40,
        )
        asyncio.run(paced)
        stats = server.stats()
    finally:
        server.shutdown()
        server.server_close()
    elapsed = time.time() - started
    assert stats["calls"] == {"pro": 80}  # every call answered
    limited = [r for r in rows if r["status"] == "rate_limited"]
    late = [r for r in limited if r["at"] > started + elapsed / 2]
    assert limited and len(late) <= 1, (len(limited), len(late))
    final = ledger.effective_limits("pro", declared.allowed("pro"), time.time()).rpm
    assert 8 <= final <= 12, final
    assert elapsed < 80 / 10 * 1.6  # near the real limit's 8 s, not stalled by cool-downs
    assert ledger.limit_changes("pro")[0]["old"] == 20


def test_status_and_quota_print_one_json_document_for_the_admin_app(emulator, local_data, monkeypatch, capsys):
    from elevra_pipeline import cli
    from elevra_pipeline.samples import SAMPLE_XLSX

    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", emulator.base_url)
    assert cli.main(["process", str(SAMPLE_XLSX), "--uploader", "ann@example.org"]) == 0
    capsys.readouterr()
    assert cli.main(["status", "--json"]) == 0
    (upload,) = json.loads(capsys.readouterr().out)["uploads"]
    assert upload["status"] == "completed" and upload["progress"]["batches_done"] == 22
    assert upload["progress"]["percent"] == 100.0 and upload["mode"] == "online" and upload["eta"] == "-"
    assert upload["model_calls"] == 44 and upload["cost_usd"] > 0 and upload["rate_limited"] == 0
    assert set(upload["models"]) == {"gemini-3.1-pro-preview", "gemini-3.8-flash"} and "batches" not in upload
    assert cli.main(["status", "--json", str(upload["id"])]) == 0
    (detail,) = json.loads(capsys.readouterr().out)["uploads"]
    assert len(detail["batches"]) == 22 and {b["status"] for b in detail["batches"]} == {"inserted"}
    assert len(detail["email_log"]) == 8 and detail["batch_jobs"] == []
    assert cli.main(["status", "--json", "999"]) == 1
    assert json.loads(capsys.readouterr().out)["uploads"] == []

    assert cli.main(["quota", "--json"]) == 0
    quota = json.loads(capsys.readouterr().out)
    pro = quota["models"]["gemini-3.1-pro-preview"]
    assert pro["declared"]["rpm"] == 150 and pro["effective"]["rpm"] == 150 and pro["share"] == 1.0
    assert pro["used"]["requests_today"] == 22 and pro["limit_changes"] == [] and quota["adaptive"] is True


def test_the_eta_follows_the_limits_in_force_and_the_measured_answer_time(sqlite_url):
    from types import SimpleNamespace

    from elevra_pipeline.storage.repository import Repository
    from elevra_pipeline.uploads.queue import queue_snapshot

    repo = Repository(migrated_engine(sqlite_url))
    upload = repo.add_upload(partition_key="p", content_hash="h", original_filename="f.csv", status="processing")
    drafts = [
        SimpleNamespace(
            batch_key=f"b{i}", jurisdiction="", office="", district="", election_date="", rows=[], problem=None
        )
        for i in range(120)
    ]
    repo.save_batches(upload.id, drafts)
    quotas = parse_quotas(
        {
            "window_seconds": 60,
            "models": {"pro": {"rpm": 60}, "flash": {"rpm": 600}},
            "chains": {"analysis": ["pro"], "structure": ["flash"]},
        }
    )
    declared = queue_snapshot(repo, upload, quotas, concurrency=1000)["eta_seconds"]
    assert declared == pytest.approx(120 + 12)  # 120 calls at 60 a minute, then at 600 a minute
    at = datetime(2026, 12, 1, 21, 21, 51, tzinfo=timezone.utc)  # 132 s later is 21:24:03: promised by 21:25
    assert queue_snapshot(repo, upload, quotas, concurrency=1000, now=at)["eta"] == "about 2 min (by 21:25 UTC)"
    ledger = QuotaLedger.for_config(repo.engine, quotas)
    now = time.time()
    for i in range(31):
        ledger.try_reserve("pro", quotas.allowed("pro"), 10, now - 1 + i * 0.01)
    ledger.rate_limited("pro", quotas.allowed("pro"), "minute", "GenerateRequestsPerMinutePerProjectPerModel", now)
    repo.record_attempt(
        upload_id=upload.id, stage="structure", model="flash", attempt_no=1, status="ok", latency_ms=30_000
    )
    learnt = queue_snapshot(repo, upload, quotas, concurrency=1000)["eta_seconds"]
    assert learnt == pytest.approx(120 / 31 * 60 + 30, rel=0.02)  # Google admits 31 a minute; answers take 30 s

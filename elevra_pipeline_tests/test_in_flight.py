"""Calls in flight follow each model's quota and answer time, never a fixed thread count."""

import asyncio
from collections import Counter

import pytest

from elevra_pipeline.gemini.client import GeminiCaller, make_client
from elevra_pipeline.gemini.emulator.latency import LatencyProfile
from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.gemini.prompts import ANALYSIS_SYSTEM
from elevra_pipeline.gemini.schemas import BatchAnalysis
from elevra_pipeline.quotas.engine import QuotaEngine
from elevra_pipeline.quotas.in_flight import ModelAverages, in_flight_target, run_paced
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import parse_quotas
from elevra_pipeline.storage.database import migrated_engine


def quotas(**model):
    return parse_quotas(
        {
            "window_seconds": 1,
            "fallback_after_seconds": 0.1,
            "arrival_margin_seconds": 0.3,
            "models": {"pro": model, "flash": {"rpm": 10}},
            "chains": {"analysis": ["pro"], "structure": ["pro", "flash"]},
        }
    )


def test_in_flight_rises_with_answer_time_once_answers_outlast_the_window():
    config, averages = quotas(rpm=20), ModelAverages(prior_latency_seconds=0.0)
    assert in_flight_target(config, ["pro"], averages, ceiling=500) == 20  # unknown: a whole window at once
    averages.observe("pro", 0.5, 100)
    assert in_flight_target(config, ["pro"], averages, ceiling=500) == 20  # shorter than the window: its capacity
    for _ in range(30):
        averages.observe("pro", 3.0, 100)
    assert in_flight_target(config, ["pro"], averages, ceiling=500) == 60  # Little's law: 20/s x 3 s
    assert in_flight_target(config, ["pro"], averages, ceiling=25) == 25


def test_the_binding_limit_sizes_it_and_fallbacks_add_their_own():
    averages = ModelAverages(prior_latency_seconds=0.0)
    averages.observe("pro", 0.5, 1000)
    assert in_flight_target(quotas(rpm=20, tpm=5000), ["pro"], averages, 500) == 5  # tokens bind: 5000/1000
    assert in_flight_target(quotas(rpm=20, batch_enqueued_tokens=3000), ["pro"], averages, 500) == 20  # Batch API's
    assert in_flight_target(quotas(rpm=20), ["pro", "flash"], averages, 500) == 30
    assert in_flight_target(quotas(), ["pro"], averages, 64) == 64  # unlimited: the ceiling


def test_run_paced_keeps_to_a_limit_that_changes_while_it_runs():
    running, peaks, limit = Counter(), [], {"now": 2}

    async def work(item):
        running["now"] += 1
        peaks.append((limit["now"], running["now"]))
        await asyncio.sleep(0.02)
        if item == 10:
            limit["now"] = 6
        running["now"] -= 1
        return item * 2

    paced = asyncio.run(run_paced(work, list(range(40)), lambda: limit["now"], ceiling=50))
    assert paced == [i * 2 for i in range(40)]
    assert all(now <= allowed for allowed, now in peaks)
    assert max(now for _, now in peaks) > 2  # it followed the new limit


def test_run_paced_raises_what_a_call_raised_and_starts_no_more():
    started = []

    async def work(item):
        started.append(item)
        if item == 3:
            raise RuntimeError("boom")
        await asyncio.sleep(0.01)

    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(run_paced(work, list(range(100)), lambda: 2, ceiling=8))
    assert len(started) < 100


@pytest.mark.parametrize("answer_seconds", [0.2, 2.0])
def test_through_the_emulator_in_flight_follows_latency_within_the_quota(sqlite_url, answer_seconds):
    """A model of 20 calls a 1 s window: short answers need at most 20 in flight; 2 s answers need
    about 40 once their time is learnt. Either way the quota holds: no 429."""
    config = quotas(rpm=20)
    server = start_in_thread(quotas=config, latency=LatencyProfile.fixed(answer_seconds))
    ledger = QuotaLedger.for_config(migrated_engine(sqlite_url), config)
    engine = QuotaEngine(config, ledger, backoff_base=0.05, max_in_flight=200)
    caller = GeminiCaller(make_client(None, server.base_url, 30, 200), engine)
    prompts = [f'TASK: analyze-election-batch\n<rows>[{{"candidate_name": "N{i}"}}]</rows>' for i in range(90)]
    try:
        paced = run_paced(
            lambda prompt: caller.arun("analysis", ANALYSIS_SYSTEM, prompt, BatchAnalysis),
            prompts,
            lambda: engine.in_flight("analysis"),
            ceiling=200,
        )
        asyncio.run(paced)
        stats = server.stats()
    finally:
        server.shutdown()
        server.server_close()
    assert stats["calls"] == {"pro": 90} and stats["rejected"] == {}
    peak = stats["peak_in_flight"]["pro"]
    if answer_seconds < 1:
        assert 10 <= peak <= 20
    else:
        assert 25 <= peak <= 40

"""The model stages' calls on one event loop: the same request as the SDK's own `generate_content`,
the same reading of the answer, the same errors, and database work of one loop turn in one transaction."""

import asyncio
import json
import socket
from types import SimpleNamespace

import pytest
from google.genai import types

from elevra_pipeline.exceptions import ModelCallError
from elevra_pipeline.gemini import prompts
from elevra_pipeline.gemini.batch_jobs import GeminiBatches
from elevra_pipeline.gemini.client import (
    GeminiCaller,
    OutputBudget,
    make_client,
    read_answer,
    read_answer_json,
)
from elevra_pipeline.gemini.emulator.answers import answer
from elevra_pipeline.gemini.emulator.server import generated
from elevra_pipeline.gemini.schemas import BatchAnalysis, StructuredBatch
from elevra_pipeline.quotas.engine import QuotaEngine
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import parse_quotas
from elevra_pipeline.storage.coalesce import Coalescer
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.uploads.batch_stage import BatchStage
from elevra_pipeline.uploads.stages import STRUCTURE
from elevra_pipeline_tests.capture_server import CaptureServer

ROWS = [{"office": "City Council", "candidate_name": "Ann Lee", "election_date": "2026-11-03"}]
ANALYSIS = answer(prompts.analysis_prompt(ROWS))  # what the emulator makes of ROWS


def _caller(base_url: str, db_url: str | None = None) -> GeminiCaller:
    config = parse_quotas(
        {
            "window_seconds": 60,
            "models": {"m": {"rpm": 100}},
            "chains": {"analysis": ["m"]},
            "stages": {"analysis": {"max_output_tokens": 4096, "thinking_level": "low", "thinking_budget": 512}},
        }
    )
    engine = migrated_engine(db_url) if db_url else None
    ledger = QuotaLedger.for_config(engine, config) if engine else None
    return GeminiCaller(make_client(None, base_url, 5), QuotaEngine(config, ledger, backoff_base=0.01))


def _answering(server: CaptureServer) -> CaptureServer:
    server.decide = lambda request: (200, generated("m", request["json"], 42), {})
    return server.start()


@pytest.mark.parametrize(
    "system,schema,prompt",
    [
        (prompts.ANALYSIS_SYSTEM, BatchAnalysis, prompts.analysis_prompt(ROWS)),
        (prompts.STRUCTURE_SYSTEM, StructuredBatch, prompts.structure_prompt(ROWS, ANALYSIS)),
    ],
)
def test_the_async_path_sends_exactly_what_the_sdks_generate_content_sends(system, schema, prompt):
    server = _answering(CaptureServer())
    caller = _caller(server.url)
    budget = OutputBudget(caller.engine.config, "analysis")
    config = budget.request_config(system, schema, "gemini-3.8-flash")
    try:
        caller.client.models.generate_content(model="gemini-3.8-flash", contents=prompt, config=config)
        asyncio.run(caller._ainvoke("gemini-3.8-flash", system, prompt, schema, None, budget))

        async def in_a_stage():  # the model stages' own session
            async with caller.async_session():
                await caller._ainvoke("gemini-3.8-flash", system, prompt, schema, None, budget)

        asyncio.run(in_a_stage())
    finally:
        server.stop()
    by_sdk, ours, in_stage = server.requests
    assert in_stage["json"] == ours["json"] and in_stage["path"] == ours["path"]
    assert in_stage["headers"]["x-goog-api-key"] == by_sdk["headers"]["x-goog-api-key"]
    assert ours["path"] == by_sdk["path"] and by_sdk["path"].endswith("/models/gemini-3.8-flash:generateContent")
    assert ours["json"] == by_sdk["json"]
    assert ours["json"]["generationConfig"]["responseSchema"]  # the schema did go
    # Gemini 3 is sent its thinking level and never a budget beside it (Gemini answers 400 to both); the
    # SDK writes the field in snake case, which Google's JSON reader accepts (recorded requests do the same)
    assert ours["json"]["generationConfig"]["thinkingConfig"] == {"thinking_level": "LOW"}
    assert ours["json"]["generationConfig"]["maxOutputTokens"] == 4096
    assert ours["headers"]["x-goog-api-key"] == by_sdk["headers"]["x-goog-api-key"]


def _one_batch_three_ways(stages: dict, db_url: str) -> tuple[dict, dict, dict]:
    """The generateContent request one structure batch is sent as: online (the SDK's own call, then the
    model stages' async path) and inside a Batch API job."""
    server = CaptureServer()
    server.decide = lambda request: (
        (200, {"name": "batches/1", "metadata": {"state": "BATCH_STATE_PENDING"}}, {})
        if request["path"].endswith(":batchGenerateContent")
        else (200, generated("m", request["json"], 42), {})
    )
    server.start()
    config = parse_quotas(
        {"models": {"gemini-3.8-flash": {}}, "chains": {"structure": ["gemini-3.8-flash"]}, "stages": stages}
    )
    client = make_client(None, server.url, 5)
    caller = GeminiCaller(client, QuotaEngine(config, QuotaLedger.for_config(migrated_engine(db_url), config)))
    batch = SimpleNamespace(id=7, rows_json=ROWS, analysis_json=ANALYSIS)
    try:
        caller.run("structure", STRUCTURE.system, STRUCTURE.prompt(batch), STRUCTURE.schema)
        asyncio.run(caller.arun("structure", STRUCTURE.system, STRUCTURE.prompt(batch), STRUCTURE.schema))
        request = BatchStage(None, None, caller.engine, ["gemini-3.8-flash"], 5, 1)._request(STRUCTURE, batch)
        GeminiBatches(client).create("gemini-3.8-flash", [request], "elevra-p-structure-1")
    finally:
        server.stop()
    online, in_stage, job = (r["json"] for r in server.requests)
    (in_job,) = job["batch"]["inputConfig"]["requests"]["requests"]
    return online, in_stage, in_job["request"]


def test_online_and_batch_api_requests_of_a_batch_carry_the_same_generation_settings(sqlite_url):
    stages = {"structure": {"max_output_tokens": 16384, "thinking_level": "low", "thinking_budget": 1024}}
    online, in_stage, in_job = _one_batch_three_ways(stages, sqlite_url)

    assert in_stage == online
    for key in ("contents", "systemInstruction", "generationConfig"):
        assert in_job[key] == online[key], key
    settings = online["generationConfig"]
    assert settings["responseSchema"] and settings["responseMimeType"] == "application/json"
    assert settings["thinkingConfig"] == {"thinking_level": "LOW"} and settings["maxOutputTokens"] == 16384
    assert not {"temperature", "topP", "topK"} & set(settings)  # Gemini 3 keeps its default sampling


def test_sampling_is_sent_only_when_configured_and_then_on_every_path(sqlite_url):
    stages = {"structure": {"temperature": 0.4, "top_p": 0.9, "top_k": 20}}
    online, in_stage, in_job = _one_batch_three_ways(stages, sqlite_url)

    sampling = {k: online["generationConfig"].get(k) for k in ("temperature", "topP", "topK")}
    assert sampling == {"temperature": 0.4, "topP": 0.9, "topK": 20}
    assert in_stage["generationConfig"] == in_job["generationConfig"] == online["generationConfig"]


def test_an_answer_is_read_from_the_wire_as_the_sdk_reads_it():
    """Thoughts are not the answer; the usage is what Google billed."""
    text = json.dumps(ANALYSIS)
    body = {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "thinking...", "thought": True}, {"text": text}]}}
        ],
        "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 30},
    }
    ours = read_answer_json(body, "m", BatchAnalysis, None)
    sdks = read_answer(types.GenerateContentResponse.model_validate(body), "m", BatchAnalysis, None)
    assert (ours.value, ours.input_tokens, ours.output_tokens, ours.excerpt) == (
        sdks.value,
        sdks.input_tokens,
        sdks.output_tokens,
        sdks.excerpt,
    )
    assert ours.excerpt == text and ours.input_tokens == 120


def test_an_answer_that_is_not_the_schema_is_refused_and_still_billed():
    body = {
        "candidates": [{"content": {"parts": [{"text": '{"unexpected": '}]}}],
        "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": 4},
    }
    with pytest.raises(ModelCallError) as refused:
        read_answer_json(body, "m", BatchAnalysis, None)
    assert refused.value.error_type == "invalid_output" and refused.value.input_tokens == 50


def test_async_errors_are_the_same_model_call_errors():
    rate_limited = CaptureServer(
        [(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota", "details": []}}, {})]
    ).start()
    caller = _caller(rate_limited.url)
    try:
        with pytest.raises(ModelCallError) as limited:
            asyncio.run(caller._ainvoke("m", "s", "p", BatchAnalysis))
    finally:
        rate_limited.stop()
    assert limited.value.error_type == "rate_limited" and limited.value.status_code == 429

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(ModelCallError) as refused:
        asyncio.run(_caller(f"http://127.0.0.1:{port}")._ainvoke("m", "s", "p", BatchAnalysis))
    assert refused.value.error_type == "network"


def test_requests_of_one_loop_turn_are_done_together_and_each_caller_gets_its_own_result():
    seen: list[list[int]] = []

    def double_all(requests: list[int]) -> list[int]:
        seen.append(list(requests))
        return [r * 2 for r in requests]

    async def scenario():
        coalescer = Coalescer(double_all)
        first = await asyncio.gather(*(coalescer(i) for i in range(50)))
        later = await coalescer(7)
        return first, later, coalescer.turns

    first, later, turns = asyncio.run(scenario())
    assert first == [i * 2 for i in range(50)] and later == 14
    assert seen == [list(range(50)), [7]] and turns == 2


def test_a_failed_turn_fails_each_of_its_callers():
    def broken(_requests):
        raise RuntimeError("database is locked")

    async def scenario():
        coalescer = Coalescer(broken)
        return await asyncio.gather(coalescer(1), coalescer(2), return_exceptions=True)

    assert [str(e) for e in asyncio.run(scenario())] == ["database is locked"] * 2


def test_calls_on_one_loop_share_ledger_transactions_and_every_attempt_is_written(sqlite_url):
    """60 calls at once: a handful of reservation and settlement transactions, 60 attempt rows."""
    from sqlalchemy import func, select

    from elevra_pipeline.storage.models import ModelAttempt

    server = _answering(CaptureServer())
    caller = _caller(server.url, sqlite_url)
    caller.engine.record_attempts = True
    turns = {}

    async def scenario():
        outcomes = await asyncio.gather(
            *(caller.arun("analysis", "s", prompts.analysis_prompt(ROWS), BatchAnalysis) for _ in range(60))
        )
        reserve, settle = caller.engine._coalescers()
        turns.update(reserve=reserve.turns, settle=settle.turns)
        return outcomes

    try:
        outcomes = asyncio.run(scenario())
    finally:
        server.stop()
    assert len(outcomes) == 60 and {o.model for o in outcomes} == {"m"}
    assert turns["reserve"] == 1 and turns["settle"] < 60
    with migrated_engine(sqlite_url).connect() as conn:
        assert conn.execute(select(func.count()).select_from(ModelAttempt)).scalar_one() == 60


def test_a_stage_renews_its_leases_while_its_calls_run_and_stores_every_answer(sqlite_url):
    """A stage whose calls outlast a third of the lease renews it (another run cannot take the batches
    over mid-call), and each batch's answer is stored, though they are written a loop turn at a time."""
    from types import SimpleNamespace

    from elevra_pipeline.defs.assets import _lease, _run_online
    from elevra_pipeline.gemini.emulator.latency import LatencyProfile
    from elevra_pipeline.gemini.emulator.server import start_in_thread
    from elevra_pipeline.gemini.service import GeminiService
    from elevra_pipeline.storage.batch_rules import needs_analysis
    from elevra_pipeline.storage.repository import Repository
    from elevra_pipeline.uploads.stages import ANALYSIS

    repo = Repository(migrated_engine(sqlite_url))
    upload = repo.add_upload(partition_key="u", content_hash="h", original_filename="u.csv")
    drafts = [
        SimpleNamespace(
            batch_key=f"b{i}", jurisdiction="Town", office="Council", district=str(i), election_date="2026-11-03",
            rows=[{**ROWS[0], "district": str(i)}], problem=None,
        )
        for i in range(12)
    ]  # fmt: skip
    repo.save_batches(upload.id, drafts)
    server = start_in_thread(quotas=None, latency=LatencyProfile.fixed(1.2))
    gemini = GeminiService(database_url=sqlite_url, base_url=server.base_url).start()
    app = SimpleNamespace(batch_lease_seconds=0.9)  # renewed every 0.3 s; the calls take 1.2 s
    leased = _lease(repo, upload.id, repo.batches(upload.id), "run-1", app.batch_lease_seconds)
    first_expiry = max(b.lease_expires_at for b in leased)
    try:
        results = asyncio.run(_run_online(repo, gemini, ANALYSIS, needs_analysis, upload.id, leased, "run-1", app))
    finally:
        server.shutdown()
        server.server_close()
    batches = repo.batches(upload.id)
    assert len(results) == 12 and all(r.ok for r in results)
    assert {b.status for b in batches} == {"analyzed"} and all(b.analysis_json for b in batches)
    assert min(b.lease_expires_at for b in batches) > first_expiry + 0.5  # renewed during the 1.2 s calls
    assert {b.lease_owner for b in batches} == {"run-1"}  # released by the stage itself, after

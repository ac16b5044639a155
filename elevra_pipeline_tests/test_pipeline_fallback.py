"""When the preferred model is saturated, batches complete on the fallback and say so."""

import yaml

from elevra_pipeline.defs.resources import DatabaseResource, GeminiResource
from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.quotas.limits import parse_quotas
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline_tests.helpers import materialize_upload, metadata, register

DECLARED = {
    "window_seconds": 60,
    "fallback_after_seconds": 1,
    "max_wait_seconds": 60,
    "models": {
        "gemini-3.1-pro-preview": {"rpm": 3},
        "gemini-3-flash-preview": {"rpm": 1000},
        "gemini-3.8-flash": {"rpm": 1000},
        "gemini-3.5-flash-lite": {"rpm": 1000},
    },
    "chains": {
        "analysis": ["gemini-3.1-pro-preview", "gemini-3-flash-preview"],
        "structure": ["gemini-3.8-flash", "gemini-3.5-flash-lite"],
    },
}


def _resources(db_url, base_url, quotas_file=None, max_in_flight=1024):
    return {
        "database": DatabaseResource(url=db_url),
        "gemini": GeminiResource(
            base_url=base_url,
            database_url=db_url,
            quotas_file=quotas_file,
            backoff_base_seconds=0.01,
            max_in_flight=max_in_flight,
        ),
    }


def test_declared_quota_full_sends_the_rest_to_the_fallback(repo, instance, db_url, emulator, tmp_path):
    quotas = tmp_path / "quotas.yaml"
    quotas.write_text(yaml.safe_dump(DECLARED))
    upload = register(repo, SAMPLE_XLSX, instance)
    result = materialize_upload(upload, instance, _resources(db_url, emulator.base_url, str(quotas)))

    analysis = [a for a in repo.attempts(upload.id) if a.stage == "analysis"]
    assert sum(a.model == "gemini-3.1-pro-preview" for a in analysis) == 3
    fallbacks = [a for a in analysis if a.is_fallback]
    assert len(fallbacks) == 19 and all(
        "gemini-3.1-pro-preview: RPM limit reached" in a.fallback_reason for a in fallbacks
    )
    assert metadata(result, "batch_analysis")["fallbacks"] == 19
    assert metadata(result, "result_workbook")["inserted"] == 22
    notes = [b.fallback_note for b in repo.batches(upload.id) if b.fallback_note]
    assert len(notes) == 19 and notes[0].startswith("analysis used gemini-3-flash-preview")


def test_server_429s_cool_the_model_down_and_batches_finish_on_the_fallback(repo, instance, db_url):
    """The emulator is stricter than our declared quotas: we learn from its 429 bodies."""
    strict = parse_quotas({**DECLARED, "models": {**DECLARED["models"], "gemini-3.1-pro-preview": {"rpm": 2}}})
    server = start_in_thread(quotas=strict)
    try:
        upload = register(repo, SAMPLE_XLSX, instance)
        # 4 in flight, as when every call is sent at once the whole first wave is already on its way
        materialize_upload(upload, instance, _resources(db_url, server.base_url, max_in_flight=4))
    finally:
        server.shutdown()
        server.server_close()

    attempts = repo.attempts(upload.id)
    limited = [a for a in attempts if a.status == "rate_limited"]
    assert limited and all(a.quota_id == "GenerateRequestsPerMinutePerProjectPerModel" for a in limited)
    assert all(a.retry_delay_s and a.retry_delay_s > 1 for a in limited)
    assert server.quotas.rejected["gemini-3.1-pro-preview"] == len(limited)
    # one 429 per process-wide cool-down, plus the (at most 4) calls already on their way
    assert len(limited) <= len(repo.batches(upload.id)) // 4
    assert {b.status for b in repo.batches(upload.id)} == {"inserted"}
    assert sum(a.model == "gemini-3-flash-preview" and a.status == "ok" for a in attempts) >= 18

"""What each Gemini failure means for a batch: a 499 is an outage (retried, never the data's fault), a 403
for one model sends the call to the next model (that model marked, the team told), answers that keep
failing our checks on every model of the chain are the model's fault (the batch waits) unless the rows
explain them, and a Batch API job state this version does not know is recorded and polled again, never a crash.

Error bodies are the documented shapes: 499 as gemini-cli issue #20309 shows it under load, 403 as
Google's troubleshooting table gives PERMISSION_DENIED."""

import json
from types import SimpleNamespace

import pytest

from elevra_pipeline.exceptions import BatchFailedError, ModelCallError
from elevra_pipeline.gemini import prompts
from elevra_pipeline.gemini.batch_jobs import GeminiBatches, JobState, RemoteJob
from elevra_pipeline.gemini.client import GeminiCaller, OutputBudget, make_client
from elevra_pipeline.gemini.emulator.server import generated
from elevra_pipeline.gemini.schemas import BatchAnalysis
from elevra_pipeline.quotas.engine import QuotaEngine
from elevra_pipeline.quotas.failures import Fault
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import parse_quotas
from elevra_pipeline.records.validate import check_analysis
from elevra_pipeline.storage.batch_rules import BatchStatus
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.uploads.batch_stage import refresh_job
from elevra_pipeline.uploads.stages import give_up
from elevra_pipeline_tests.capture_server import CaptureServer

CANCELLED = {
    "error": {
        "code": 499,
        "message": "The operation was cancelled.",
        "errors": [{"message": "The operation was cancelled.", "domain": "global", "reason": "backendError"}],
        "status": "CANCELLED",
    }
}
PERMISSION_DENIED = {
    "error": {
        "code": 403,
        "message": "Your API key doesn't have the required permissions.",
        "status": "PERMISSION_DENIED",
    }
}
PROMPT = prompts.analysis_prompt([{"office": "Mayor", "candidate_name": "Ann Lee", "election_date": "2026-11-03"}])


def serving(refuse: dict[str, tuple[int, dict]], times: int = 10**6) -> CaptureServer:
    """Gemini answering each model's generateContent, except `refuse` (model -> error) the first `times` calls."""
    server = CaptureServer()
    refused = {}

    def decide(request):
        model = request["path"].rsplit("/", 1)[-1].split(":")[0]
        if model in refuse and refused.get(model, 0) < times:
            refused[model] = refused.get(model, 0) + 1
            return refuse[model][0], refuse[model][1], {}
        return 200, generated(model, request["json"], 42), {}

    server.decide = decide
    return server.start()


def caller(server: CaptureServer, db_url: str, attempts: list) -> GeminiCaller:
    config = parse_quotas({"models": {"pro": {}, "flash": {}}, "chains": {"analysis": ["pro", "flash"]}})
    ledger = QuotaLedger.for_config(migrated_engine(db_url), config)
    engine = QuotaEngine(config, ledger, attempt_sink=attempts.append, backoff_base=0.001, max_attempts=3)
    return GeminiCaller(make_client(None, server.url, 5), engine)


def ask(gemini: GeminiCaller):
    return gemini.run("analysis", prompts.ANALYSIS_SYSTEM, PROMPT, BatchAnalysis)


def test_a_499_cancelled_call_is_retried_and_recorded_as_cancelled(sqlite_url):
    server, attempts = serving({"pro": (499, CANCELLED)}, times=1), []
    try:
        outcome = ask(caller(server, sqlite_url, attempts))
    finally:
        server.stop()
    assert outcome.value.can_structure
    assert [(a["model"], a["status"], a["status_code"]) for a in attempts][0] == ("pro", "cancelled", 499)
    assert attempts[-1]["status"] == "ok"


def test_499s_that_do_not_stop_are_an_outage_the_batch_waits_for_never_the_datas_fault(sqlite_url):
    server, attempts = serving({"pro": (499, CANCELLED), "flash": (499, CANCELLED)}), []
    try:
        with pytest.raises(BatchFailedError) as gave_up:
            ask(caller(server, sqlite_url, attempts))
    finally:
        server.stop()
    assert gave_up.value.fault == Fault.OUTAGE and gave_up.value.model_unavailable
    assert {a["status"] for a in attempts} == {"cancelled"} and len(attempts) == 3


def test_a_403_for_one_model_goes_to_the_next_model_which_answers_and_the_model_is_marked(sqlite_url):
    server, attempts = serving({"pro": (403, PERMISSION_DENIED)}), []
    try:
        gemini = caller(server, sqlite_url, attempts)
        outcome = ask(gemini)
        again = ask(gemini)
    finally:
        server.stop()
    assert outcome.model == "flash" and "pro refused the call: 403 PERMISSION_DENIED" in outcome.fallback_reason
    (since, reason) = gemini.engine.ledger.unavailable_models()["pro"]  # the team's e-mail reads this mark
    assert reason.startswith("refused while flash answered: 403 PERMISSION_DENIED")
    assert again.model == "flash" and [a["model"] for a in attempts] == ["pro", "flash", "flash"]


SUSPENDED_KEY = {
    "error": {
        "code": 403,
        "message": "Permission denied: Consumer 'api_key:AIza…' has been suspended.",
        "status": "PERMISSION_DENIED",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "CONSUMER_SUSPENDED"}],
    }
}


def test_a_403_that_names_the_key_is_our_configuration_at_once_without_trying_other_models(sqlite_url):
    server, attempts = serving({"pro": (403, SUSPENDED_KEY), "flash": (403, SUSPENDED_KEY)}), []
    try:
        gemini = caller(server, sqlite_url, attempts)
        with pytest.raises(BatchFailedError) as gave_up:
            ask(gemini)
    finally:
        server.stop()
    assert gave_up.value.fault == Fault.CONFIGURATION and [a["model"] for a in attempts] == ["pro"]
    assert gemini.engine.ledger.unavailable_models() == {}


def test_a_403_from_every_model_is_our_configuration_and_marks_no_model(sqlite_url):
    server, attempts = serving({"pro": (403, PERMISSION_DENIED), "flash": (403, PERMISSION_DENIED)}), []
    try:
        gemini = caller(server, sqlite_url, attempts)
        with pytest.raises(BatchFailedError, match="every model of the chain refused") as gave_up:
            ask(gemini)
    finally:
        server.stop()
    assert gave_up.value.fault == Fault.CONFIGURATION
    assert gemini.engine.ledger.unavailable_models() == {}
    assert [a["model"] for a in attempts] == ["pro", "flash"]  # one refused call each, no retry storm


def engine(db_url: str, attempts: list, max_attempts: int = 4) -> QuotaEngine:
    config = parse_quotas(
        {
            "models": {"pro": {"output_tokens": 1024}, "flash": {"output_tokens": 1024}},
            "chains": {"analysis": ["pro", "flash"]},
            "stages": {"analysis": {"max_output_tokens": 1024}},
        }
    )
    ledger = QuotaLedger.for_config(migrated_engine(db_url), config)
    return QuotaEngine(config, ledger, attempt_sink=attempts.append, backoff_base=0.001, max_attempts=max_attempts)


def test_answers_that_keep_failing_the_checks_on_every_model_are_the_models_fault_and_the_batch_waits(sqlite_url):
    attempts = []

    def invent(model):
        raise ModelCallError(
            f"invalid output from {model}: 1 candidate(s) not in the batch's rows: Mallory Invented",
            error_type="invalid_output",
            status_code=200,
        )

    with pytest.raises(BatchFailedError) as gave_up:
        engine(sqlite_url, attempts).call("analysis", 400, invent)

    assert [a["model"] for a in attempts] == ["pro", "pro", "flash", "flash"]  # each model had its turn
    assert gave_up.value.fault == Fault.MODEL and gave_up.value.model_unavailable
    fields, result = give_up(SimpleNamespace(), gave_up.value)
    assert (fields["status"], fields["failure_kind"], result.waiting) == (BatchStatus.WAITING_FOR_MODEL, "model", True)
    assert fields["error_reason"].startswith("waiting for the model: its answers kept failing our checks")
    assert "Mallory Invented" in fields["error_reason"]


def impossible_rows_date(request):
    answer = generated("pro", request["json"], 42)
    analysis = json.loads(answer["candidates"][0]["content"]["parts"][0]["text"])
    answer["candidates"][0]["content"]["parts"][0]["text"] = json.dumps({**analysis, "election_date": "2026-02-30"})
    return 200, answer, {}


def test_an_answer_the_rows_themselves_make_fail_needs_reupload_without_retries(sqlite_url):
    """The rows' own date is no calendar date: no answer can give the rows' date and be a real one."""
    attempts, server = [], CaptureServer()
    server.decide = impossible_rows_date
    server.start()
    try:
        gemini = GeminiCaller(make_client(None, server.url, 5), engine(sqlite_url, attempts))
        with pytest.raises(BatchFailedError) as gave_up:
            gemini.run(
                "analysis",
                prompts.ANALYSIS_SYSTEM,
                PROMPT,
                BatchAnalysis,
                check=lambda answer: check_analysis(answer, [{"candidate_name": "Ann Lee"}], "2026-02-30"),
            )
    finally:
        server.stop()
    assert [a["status"] for a in attempts] == ["invalid_output"]  # not retried: every answer would fail
    assert gave_up.value.fault == Fault.DATA
    fields, _ = give_up(SimpleNamespace(), gave_up.value)
    assert (fields["status"], fields["failure_kind"]) == (BatchStatus.NEEDS_REUPLOAD, "data")


def test_an_answer_cut_at_the_models_output_limit_is_too_many_rows_for_one_answer(sqlite_url):
    attempts = []
    quota_engine = engine(sqlite_url, attempts)
    budget = OutputBudget(quota_engine.config, "analysis")  # already at the model's 1,024 output tokens

    def cut(model):
        error = ModelCallError("the answer was cut at max_output_tokens", error_type="max_tokens", status_code=200)
        budget.after(model, error)
        raise error

    with pytest.raises(BatchFailedError) as gave_up:
        quota_engine.call("analysis", 400, cut)
    assert len(attempts) == 1 and gave_up.value.fault == Fault.DATA
    assert "the election has too many rows for one answer" in str(gave_up.value)
    fields, _ = give_up(SimpleNamespace(), gave_up.value)
    assert (fields["status"], fields["failure_kind"]) == (BatchStatus.NEEDS_REUPLOAD, "data")


@pytest.mark.parametrize(
    "reported, state, still_open",
    [
        ("BATCH_STATE_RUNNING", JobState.RUNNING, True),
        ("JOB_STATE_CANCELLING", JobState.CANCELLING, True),
        ("JOB_STATE_PAUSED", JobState.PAUSED, True),
        ("JOB_STATE_UPDATING", JobState.UPDATING, True),
        ("JOB_STATE_PARTIALLY_SUCCEEDED", JobState.PARTIAL, False),
        ("BATCH_STATE_SUCCEEDED", JobState.SUCCEEDED, False),
        ("BATCH_STATE_SOMETHING_NEW", JobState.UNKNOWN, True),
    ],
)
def test_every_job_state_google_reports_is_read_through_the_sdk(reported, state, still_open):
    server = CaptureServer()
    server.decide = lambda request: (200, {"name": "batches/1", "metadata": {"state": reported}}, {})
    server.start()
    try:
        job = GeminiBatches(make_client(None, server.url, 5)).get("batches/1")
    finally:
        server.stop()
    assert job.state == state and job.state.is_open == still_open
    assert job.state.has_answers == (state in (JobState.SUCCEEDED, JobState.PARTIAL))
    assert (job.unknown_state is not None) == (state == JobState.UNKNOWN)


class OneJobRepo:
    """The repository's one method `refresh_job` writes through."""

    def __init__(self):
        self.updates = []

    def update_batch_job(self, job_id, **fields):
        self.updates.append(fields)


class Answering:
    def __init__(self, remote: RemoteJob):
        self.remote = remote

    def get(self, name):
        return self.remote


def test_a_job_state_this_version_does_not_know_is_recorded_reported_and_polled_again():
    job = type("Job", (), {"id": 1, "name": "batches/1", "polls": 2})()
    remote = RemoteJob(
        "batches/1", JobState.from_sdk("BATCH_STATE_SOMETHING_NEW"), reported="BATCH_STATE_SOMETHING_NEW"
    )
    repo = OneJobRepo()

    assert refresh_job(repo, Answering(remote), job, poll_seconds=30, now=1000.0) == JobState.UNKNOWN
    (fields,) = repo.updates
    assert fields["state"] == "unknown" and "ended_at" not in fields and fields["next_poll_at"] > 1000.0
    assert fields["error"] == (
        "Gemini reports the job as 'BATCH_STATE_SOMETHING_NEW', a state this version does not know: polled again"
    )

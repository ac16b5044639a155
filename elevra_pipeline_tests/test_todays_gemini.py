"""Today's Gemini: real recorded answers are read as Google billed them, retired models and our own
configuration errors never become the uploader's problem, cut answers get more room, thinking is paid for."""

import asyncio
import json
from pathlib import Path

import dagster as dg
import openpyxl
import pytest
from pydantic import BaseModel

from elevra_pipeline.cli import main
from elevra_pipeline.config_problems import configuration_problem
from elevra_pipeline.definitions import build_resources
from elevra_pipeline.defs.resources import DatabaseResource, GeminiResource
from elevra_pipeline.exceptions import GeminiEndpointError, ModelCallError
from elevra_pipeline.gemini.client import GeminiCaller, OutputBudget, grown_budget, make_client
from elevra_pipeline.gemini.emulator.models import CURRENT, RETIRED, model_page
from elevra_pipeline.gemini.emulator.server import Faults, generated, start_in_thread
from elevra_pipeline.gemini.service import GeminiService
from elevra_pipeline.notifications.mailer import Mailer
from elevra_pipeline.notifications.notifier import Notifier
from elevra_pipeline.quotas.answering import answered_by_another
from elevra_pipeline.quotas.engine import QuotaEngine
from elevra_pipeline.quotas.failures import CallFailure
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import DEFAULT_QUOTAS_FILE, load_quotas, parse_quotas
from elevra_pipeline.quotas.report import quota_report
from elevra_pipeline.settings import SettingsError
from elevra_pipeline.storage.batch_rules import BatchStatus, FailureKind, UploadStatus, upload_status
from elevra_pipeline.uploads.status import status_document
from elevra_pipeline_tests.capture_server import CaptureServer
from elevra_pipeline_tests.helpers import materialize_upload, register
from elevra_pipeline_tests.model_proxy import ModelProxy
from elevra_pipeline_tests.ticks import recovery_tick

RECORDED = Path(__file__).parent / "fixtures" / "gemini_recorded"
SEED_2025 = DEFAULT_QUOTAS_FILE.parent / "seed_2025.yaml"


def recording(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


class AnyObject(BaseModel):
    """Any JSON object (the recorded requests asked for their own shapes)."""


def replay(status: int, body: dict):
    """Send one call through our client's own request path to a server that answers as recorded."""
    server = CaptureServer([(status, body, {})]).start()
    config = parse_quotas(
        {"models": {"m": {}}, "chains": {"analysis": ["m"]}, "stages": {"analysis": {"max_output_tokens": 1024}}}
    )
    caller = GeminiCaller(make_client(None, server.url, 5), QuotaEngine(config, None))
    try:
        return asyncio.run(caller._ainvoke("m", "system", "prompt", AnyObject, None, OutputBudget(config, "analysis")))
    finally:
        server.stop()


# recording -> (what it is to us, output tokens billed: answer + thoughts)
ANSWERS = {
    "gemini3_flash_structured_output_thought_signature.json": ("ok", 21 + 51),
    "gemini25_flash_structured_output_thinking.json": ("ok", 10 + 61),
    "gemini3_pro_plain_text_thought_signature.json": (CallFailure.INVALID_OUTPUT, 9 + 213),  # text, not JSON
    "gemini3_pro_thinking_thought_parts.json": (CallFailure.INVALID_OUTPUT, 736 + 1001),
    "gemini25_pro_max_tokens_no_parts.json": (CallFailure.MAX_TOKENS, 2),
    "gemini25_flash_max_tokens_partial_text.json": (CallFailure.MAX_TOKENS, 5),
    "gemini15_flash_finish_reason_safety.json": (CallFailure.BLOCKED, 0),
    "vertex_gemini25_flash_prompt_blocked_model_armor.json": (CallFailure.BLOCKED, 0),
}


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_recorded_answers_are_read_as_google_billed_them(name):
    recorded = recording(name)
    expected, output_tokens = ANSWERS[name]
    prompt_tokens = recorded["response"]["usageMetadata"].get("promptTokenCount", 0)
    if expected == "ok":
        result = replay(200, recorded["response"])
        assert (result.input_tokens, result.output_tokens) == (prompt_tokens, output_tokens)
        assert isinstance(result.value, AnyObject) and json.loads(result.excerpt)  # a JSON object, thoughts left out
        return
    with pytest.raises(ModelCallError) as refused:
        replay(200, recorded["response"])
    error = refused.value
    assert error.error_type == expected
    assert (error.input_tokens, error.output_tokens) == (prompt_tokens, output_tokens)  # billed all the same
    assert error.retryable == (expected in (CallFailure.INVALID_OUTPUT, CallFailure.MAX_TOKENS))
    if expected == CallFailure.BLOCKED:
        assert "upload these rows again" in str(error)  # words an admin can act on


def test_a_cut_answer_gets_twice_the_room_up_to_the_model_s_limit():
    assert grown_budget(8192, 65536) == 16384
    assert grown_budget(40000, 65536) == 65536
    assert grown_budget(65536, 65536) is None and grown_budget(None, 65536) is None  # no more room: not retried


def test_thoughts_are_not_the_answer():
    """A thinking model's thought part (`thought: true`) is left out of the text we parse."""
    recorded = recording("gemini3_pro_thinking_thought_parts.json")["response"]
    thought = next(p["text"] for p in recorded["candidates"][0]["content"]["parts"] if p.get("thought"))
    with pytest.raises(ModelCallError) as refused:
        replay(200, recorded)
    assert thought[:80] not in refused.value.body


# Recorded error bodies: the fixtures, and bodies quoted in public issue threads (continuedev/continue
# #8516: an invalid key; #12781: a blocked project) with the shape Google gives every error.
KEY_INVALID = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
    }
}
BLOCKED_PROJECT = {
    "error": {
        "code": 403,
        "message": "Requests to this API generativelanguage.googleapis.com method "
        "google.ai.generativelanguage.v1beta.GenerativeService.GenerateContent are blocked.",
        "status": "PERMISSION_DENIED",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_SERVICE_BLOCKED"}],
    }
}


@pytest.mark.parametrize(
    "status,body,kind",
    [
        (404, recording("error_404_model_not_found_generate_content.json")["response"], CallFailure.MODEL_NOT_FOUND),
        (404, recording("error_404_model_not_found_count_tokens.json")["response"], CallFailure.MODEL_NOT_FOUND),
        (400, recording("error_400_invalid_argument_embed.json")["response"], CallFailure.CONFIGURATION),
        (400, KEY_INVALID, CallFailure.CONFIGURATION),
        (403, BLOCKED_PROJECT, CallFailure.CONFIGURATION),
        (403, {"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}, CallFailure.MODEL_REFUSED),
        (499, {"error": {"code": 499, "message": "cancelled", "status": "CANCELLED"}}, CallFailure.CANCELLED),
        (503, {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}, CallFailure.SERVER_ERROR),
    ],
)
def test_recorded_errors_are_classified_by_who_must_act(status, body, kind):
    with pytest.raises(ModelCallError) as failed:
        replay(status, body)
    assert failed.value.error_type == kind and failed.value.status_code == status


def _keys(value) -> set:
    return set(value) if isinstance(value, dict) else set()


def test_the_emulator_answers_with_the_keys_of_real_answers():
    real = recording("gemini3_flash_structured_output_thought_signature.json")["response"]
    ours = generated("gemini-3-flash-preview", {"contents": [{"parts": [{"text": "hi"}]}]}, 12)
    assert _keys(real) <= _keys(ours)
    assert _keys(real["usageMetadata"]) <= _keys(ours["usageMetadata"])
    assert _keys(real["candidates"][0]) <= _keys(ours["candidates"][0])
    assert _keys(real["candidates"][0]["content"]["parts"][0]) <= _keys(ours["candidates"][0]["content"]["parts"][0])

    cut_real = recording("gemini25_pro_max_tokens_no_parts.json")["response"]
    payload = {"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": 2}}
    cut = generated("gemini-3-flash-preview", payload, 15)
    assert cut["candidates"][0]["content"] == cut_real["candidates"][0]["content"] == {"role": "model"}
    assert _keys(cut["usageMetadata"]) == _keys(cut_real["usageMetadata"]) - {"serviceTier"}

    listed = recording("models_list.json")["response"]["models"][0]
    assert _keys(model_page(["gemini-3.8-flash"], None)["models"][0]) == _keys(listed)


def test_the_emulator_lists_todays_models_and_answers_404_for_retired_ones():
    server = start_in_thread()
    client = make_client(None, server.base_url, 5)
    try:
        names = {m.name.removeprefix("models/") for m in client.models.list(config={"page_size": 3})}
        assert names == set(CURRENT) and not names & RETIRED
        with pytest.raises(Exception) as gone:
            client.models.generate_content(model="gemini-2.5-pro", contents="hi")
        assert gone.value.code == 404 and "models/gemini-2.5-pro" in gone.value.message
    finally:
        server.shutdown()
        server.server_close()


def ten_elections(tmp_path) -> Path:
    rows = ["office,jurisdiction,election_date,candidate_name,party"]
    for i in range(10):
        office = f"City Council District {i + 1}"
        rows += [f"{office},Springfield,2026-11-03,Ann Lee {i},D", f"{office},Springfield,2026-11-03,Bo Diaz {i},R"]
    path = tmp_path / "ten_elections.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _gemini(db_url, base_url, quotas_file=None) -> dict:
    return {
        "database": DatabaseResource(url=db_url),
        "gemini": GeminiResource(
            base_url=base_url, database_url=db_url, quotas_file=quotas_file, backoff_base_seconds=0.01
        ),
    }


@pytest.fixture
def todays_gemini():
    """An endpoint that answers like today's Gemini: the source document's models retired (404),
    thinking reported, and the first three answers cut at MAX_TOKENS (a model that spent its room thinking)."""
    server = start_in_thread(quotas=load_quotas(), faults=Faults.parse("max_tokens=3"), thoughts_ratio=2.0)
    yield server
    server.shutdown()
    server.server_close()


def test_on_its_defaults_the_pipeline_processes_a_sheet_against_todays_gemini(
    repo, instance, db_url, todays_gemini, tmp_path
):
    upload = register(repo, ten_elections(tmp_path), instance)
    materialize_upload(upload, instance, _gemini(db_url, todays_gemini.base_url))

    batches = repo.batches(upload.id)
    assert [b.status for b in batches] == [BatchStatus.INSERTED] * 10
    attempts = repo.attempts(upload.id)
    cut = [a for a in attempts if a.error_type == CallFailure.MAX_TOKENS]
    assert len(cut) == 3 and all(a.output_tokens for a in cut)  # the thinking spent is billed
    assert all(m in CURRENT for m in todays_gemini.stats()["calls"])  # nothing sent to a retired model
    ok = [a for a in attempts if a.status == "ok"]
    assert all(a.output_tokens > a.response_excerpt.__len__() // 4 for a in ok)  # thoughts counted as output


def test_an_upload_the_emulator_processed_says_so_everywhere(repo, instance, db_url, emulator, tmp_path, outbox):
    upload = register(repo, ten_elections(tmp_path), instance, uploader="ann@example.org")
    materialize_upload(upload, instance, _gemini(db_url, emulator.base_url))
    upload = repo.get_upload_by_id(upload.id)

    assert status_document(repo, upload.id)["uploads"][0]["emulated"] is True
    summary = dict(openpyxl.load_workbook(upload.workbook_path)["Summary"].iter_rows(values_only=True))
    assert summary["Gemini"].startswith("EMULATED")
    Notifier(repo, Mailer(str(outbox)), "team@example.org").after_assets(upload, ["result_workbook"])
    final = next(n for n in repo.notifications(upload.id) if n.kind == "final")
    assert final.subject.endswith("[EMULATED]") and final.text_body.splitlines()[2].startswith(
        "EMULATED: processed by the offline"
    )


def test_production_refuses_to_start_without_a_gemini_key(monkeypatch):
    monkeypatch.setenv("ELEVRA_ENVIRONMENT", "production")
    with pytest.raises(SettingsError, match="GEMINI_API_KEY is not set: refusing to start"):
        build_resources()
    monkeypatch.setenv("GEMINI_API_KEY", "a-key")
    assert build_resources()["gemini"].api_key is not None
    deploy = Path(__file__).parents[1] / "deploy"
    assert "ELEVRA_ENVIRONMENT=production" in (deploy / "k8s" / "dagster.yaml").read_text()
    assert (deploy / "helm" / "values.yaml").read_text().count("{name: ELEVRA_ENVIRONMENT, value: production}") == 3


@pytest.mark.parametrize(
    "setting, url",
    [
        ("ELEVRA_GEMINI_BASE_URL", "http://127.0.0.1:8787"),  # `elevra-pipeline emulator`
        ("ELEVRA_GEMINI_BASE_URL", "https://gemini-cache.example.org"),
        ("ELEVRA_GEMINI_BASE_URL", "http://generativelanguage.googleapis.com"),  # not over https
        ("GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:8787"),  # the SDK's own setting
    ],
)
def test_production_refuses_an_endpoint_that_is_not_googles(setting, url, monkeypatch):
    monkeypatch.setenv("ELEVRA_ENVIRONMENT", "production")
    monkeypatch.setenv("GEMINI_API_KEY", "a-key")
    monkeypatch.setenv(setting, url)
    with pytest.raises(SettingsError, match=f"{setting}='{url}' is not Google's Gemini endpoint: refusing to start"):
        build_resources()
    assert main(["status"]) == 1  # every command: one line, no traceback


@pytest.mark.parametrize(
    "url, proxy",
    [
        ("https://generativelanguage.googleapis.com", None),
        ("https://us-central1-aiplatform.googleapis.com/", None),
        ("https://gemini-proxy.internal:8443", "https://gemini-proxy.internal:8443/"),  # named: it may be used
    ],
)
def test_production_calls_google_or_the_proxy_it_is_told_it_may_use(url, proxy, monkeypatch):
    monkeypatch.setenv("ELEVRA_ENVIRONMENT", "production")
    monkeypatch.setenv("GEMINI_API_KEY", "a-key")
    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", url)
    if proxy:
        monkeypatch.setenv("ELEVRA_GEMINI_PROXY_URL", proxy)
    assert build_resources()["gemini"].production


def test_production_refuses_an_endpoint_that_answers_as_the_emulator_even_as_the_named_proxy(
    db_url, emulator, monkeypatch
):
    monkeypatch.setenv("ELEVRA_ENVIRONMENT", "production")
    monkeypatch.setenv("GEMINI_API_KEY", "a-key")
    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", emulator.base_url)
    monkeypatch.setenv("ELEVRA_GEMINI_PROXY_URL", emulator.base_url)
    gemini = build_resources()["gemini"]
    service = GeminiService(db_url, api_key="a-key", base_url=emulator.base_url, production=gemini.production)
    with pytest.raises(GeminiEndpointError) as refused:
        service.start()
    line = configuration_problem(refused.value)
    assert line.startswith(f"ELEVRA_ENVIRONMENT=production but the Gemini endpoint {emulator.base_url} answers as")
    assert "\n" not in line
    assert GeminiService(db_url, api_key="a-key", base_url=emulator.base_url).start().emulated  # elsewhere: marked


def test_google_api_key_is_read_first_as_the_sdk_reads_it(monkeypatch):
    monkeypatch.setenv("ELEVRA_ENVIRONMENT", "production")
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key")
    assert build_resources()["gemini"].api_key == dg.EnvVar("GOOGLE_API_KEY")  # production starts with it alone
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key")
    resources = build_resources()
    assert resources["gemini"].api_key == dg.EnvVar("GOOGLE_API_KEY")
    assert resources["gemini_batches"].api_key == dg.EnvVar("GOOGLE_API_KEY")


def test_the_source_documents_models_leave_batches_waiting_never_needing_reupload(
    repo, instance, db_url, todays_gemini, tmp_path, outbox
):
    upload = register(repo, ten_elections(tmp_path), instance, uploader="ann@example.org")
    materialize_upload(upload, instance, _gemini(db_url, todays_gemini.base_url, str(SEED_2025)))

    batches = repo.batches(upload.id)
    assert {b.status for b in batches} == {BatchStatus.WAITING_FOR_MODEL}
    assert all("no model has capacity" in b.error_reason and "unavailable" in b.error_reason for b in batches)
    assert upload_status(repo.get_upload_by_id(upload.id), batches) == UploadStatus.WAITING_FOR_MODEL
    assert todays_gemini.stats()["calls"] == {}  # the start-up check found them gone before any call
    report = quota_report(load_quotas(SEED_2025), QuotaLedger(repo.engine), 0.0)
    assert not any(m["available"] for m in report["models"].values())

    notifier = Notifier(repo, Mailer(str(outbox)), "team@example.org")
    notifier.after_assets(repo.get_upload_by_id(upload.id), ["batch_analysis"])
    alerts = [n for n in repo.notifications(upload.id) if n.kind == "model_unavailable"]
    assert len(alerts) == 4 and all(n.recipients == ["team@example.org"] for n in alerts)
    assert not any(n.kind == "batch_failed" for n in repo.notifications(upload.id))  # nobody told to re-upload


@pytest.mark.parametrize(
    ("asked", "answered", "another"),
    [
        ("gemini-3.8-flash", "gemini-3.8-flash", False),
        ("gemini-3.8-flash", "gemini-3.8-flash-001", False),  # a version of the same model
        ("gemini-3.8-flash", "models/gemini-3.8-flash-09-2026", False),
        ("gemini-3.8-flash", "gemini-3.9-flash", True),
        ("gemini-3.8-flash", "gemini-3.8-flash-lite", True),
        ("gemini-3.8-flash", None, False),  # no answer says nothing
    ],
)
def test_which_answers_come_from_another_model(asked, answered, another):
    assert answered_by_another(asked, answered) is another


def test_the_team_is_told_once_when_google_answers_with_another_model(repo, instance, db_url, emulator, tmp_path):
    with ModelProxy(emulator.base_url) as proxy:
        proxy.answered_as = {
            "gemini-3.1-pro-preview": "gemini-3.1-pro-preview-001",
            "gemini-3.8-flash": "gemini-3.9-flash",
        }
        uploads = []
        for _ in range(2):  # two uploads, each seen by two processes' notifiers
            upload = register(repo, ten_elections(tmp_path), instance, uploader="ann@example.org")
            materialize_upload(upload, instance, _gemini(db_url, proxy.url))
            for _process in range(2):
                notifier = Notifier(repo, Mailer(str(tmp_path / "outbox")), "team@example.org")
                notifier.after_assets(repo.get_upload_by_id(upload.id), ["batch_analysis", "structured_output"])
            uploads.append(repo.get_upload_by_id(upload.id))

    assert all(u.status == UploadStatus.COMPLETED for u in uploads)
    pairs = set(repo.answering_models(uploads[1].id))
    assert ("gemini-3.8-flash", "gemini-3.9-flash") in pairs and (
        "gemini-3.1-pro-preview",
        "gemini-3.1-pro-preview-001",
    ) in pairs
    routed = [n for n in repo.notifications() if n.kind == "model_routed"]
    assert len(routed) == 1 and routed[0].recipients == ["team@example.org"]  # the -001 build is the same model
    assert routed[0].subject.startswith(
        "Gemini answered calls for gemini-3.8-flash with another model: gemini-3.9-flash"
    )
    assert not [n for n in repo.notifications() if n.kind == "model_routed" and "ann@" in str(n.recipients)]


def test_a_model_retired_mid_run_falls_back_with_nothing_to_reupload(repo, instance, db_url, tmp_path):
    server = start_in_thread(quotas=load_quotas(), retire_after={"gemini-3.1-pro-preview": 4})
    try:
        upload = register(repo, ten_elections(tmp_path), instance)
        materialize_upload(upload, instance, _gemini(db_url, server.base_url))
    finally:
        server.shutdown()
        server.server_close()
    batches = repo.batches(upload.id)
    assert [b.status for b in batches] == [BatchStatus.INSERTED] * 10
    analysis = [a for a in repo.attempts(upload.id) if a.stage == "analysis"]
    answered = [a for a in analysis if a.status == "ok"]
    assert sum(a.model == "gemini-3.1-pro-preview" for a in answered) == 4
    assert sum(a.model == "gemini-3-flash-preview" for a in answered) == 6
    assert all("gemini-3.1-pro-preview is unavailable" in a.fallback_reason for a in answered if a.is_fallback)
    gone = QuotaLedger(repo.engine).unavailable_models()
    assert list(gone) == ["gemini-3.1-pro-preview"] and "no longer available" in gone["gemini-3.1-pro-preview"][1]


def test_thinking_is_paid_for(instance, tmp_path):
    """The same run with thoughts four times the answer costs well over the run without."""
    costs = []
    for ratio in (0.0, 4.0):
        server = start_in_thread(quotas=load_quotas(), thoughts_ratio=ratio)
        db_url = f"sqlite:///{tmp_path / f'thoughts-{ratio}.db'}"
        repo = DatabaseResource(url=db_url).repository()
        try:
            with dg.instance_for_test() as own:
                upload = register(repo, ten_elections(tmp_path), own)
                materialize_upload(upload, own, _gemini(db_url, server.base_url))
        finally:
            server.shutdown()
            server.server_close()
        costs.append(sum(a.cost_usd for a in repo.attempts(upload.id)))
    assert costs[1] >= 1.5 * costs[0] > 0


def configuration_refused(request) -> tuple:
    if request["method"] == "GET":
        return 200, model_page(list(CURRENT), None), {}
    return 403, BLOCKED_PROJECT, {}


def test_a_configuration_error_blocks_the_upload_tells_the_team_and_resumes_after_a_probe(
    repo, instance, db_url, tmp_path, outbox
):
    gemini = CaptureServer()
    gemini.decide = configuration_refused
    gemini.start()
    try:
        upload = register(repo, ten_elections(tmp_path), instance, uploader="ann@example.org")
        materialize_upload(upload, instance, _gemini(db_url, gemini.url))
        batches = repo.batches(upload.id)
        assert {b.status for b in batches} == {BatchStatus.WAITING_FOR_MODEL}
        assert {b.failure_kind for b in batches} == {FailureKind.CONFIGURATION}
        assert all(b.error_reason.startswith("blocked: Gemini configuration") for b in batches)
        assert repo.get_upload_by_id(upload.id).status == UploadStatus.BLOCKED
        assert len(repo.attempts(upload.id)) == 10  # one refused call per batch: no retries, no fallback storm

        notifier = Notifier(repo, Mailer(str(outbox)), "team@example.org")
        notifier.after_assets(repo.get_upload_by_id(upload.id), ["batch_analysis", "result_workbook"])
        sent = {(n.kind, n.recipients[0]) for n in repo.notifications(upload.id)}
        assert ("gemini_configuration", "team@example.org") in sent
        assert {kind for kind, to in sent if to == "ann@example.org"} == {"analysis_complete", "waiting_for_model"}, (
            sent
        )
        fix = next(n for n in repo.notifications(upload.id) if n.kind == "gemini_configuration").text_body
        assert "billing is active" in fix

        blocked = recovery_tick(instance, db_url, gemini_url=gemini.url)
        assert not blocked.run_requests  # the probe is still refused
        gemini.decide = lambda request: (
            (200, generated("gemini-3.1-pro-preview", request["json"], 3), {}) if request["method"] == "POST" else None
        )
        resumed = recovery_tick(instance, db_url, gemini_url=gemini.url)
        assert [r.partition_key for r in resumed.run_requests] == [upload.partition_key]
    finally:
        gemini.stop()

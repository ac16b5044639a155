"""The HTTP API (`elevra-pipeline serve`): an upload gets its id at once and is followed live to its
workbook, on SQLite and PostgreSQL; bad files and settings get the reasons they get elsewhere; admin
actions need an admin token, are recorded with who took them and have their runs requested."""

import io
import threading

import pytest
from openpyxl import load_workbook

from elevra_pipeline.api.auth import Role, TokenBook, configured_tokens
from elevra_pipeline.api.tables import ApiToken
from elevra_pipeline.defs.resources import DatabaseResource, GeminiResource
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline.settings import SettingsError
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads.status import status_document
from elevra_pipeline_tests.api_helpers import (
    ADMIN_TOKEN,
    AS_ADMIN,
    AS_VIEWER,
    api_client,
    api_tick,
    bucket_tick,
    run_in_background,
    server_sent_events,
)
from elevra_pipeline_tests.helpers import materialize_upload

ONE_RACE = b"Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\nBo Chan,Mayor,Springfield,2026-11-03\n"


def _send(client, name: str, content: bytes, headers=AS_ADMIN, **settings):
    return client.post("/uploads", headers=headers, files={"file": (name, content)}, data=settings)


def test_an_upload_gets_its_id_at_once_and_is_followed_live_to_its_workbook(monkeypatch, db_url, instance, resources):
    client = api_client(monkeypatch, db_url)
    sent = _send(client, "sample_elections.xlsx", SAMPLE_XLSX.read_bytes(), uploader_email="ann@example.org")

    assert sent.status_code == 202  # before any run: the id, the partition and where to look
    answer = sent.json()
    assert (answer["status"], answer["registration"]) == ("queued", "new")
    assert answer["status_url"] == sent.headers["Location"] == f"/uploads/{answer['upload_id']}"
    tick = bucket_tick(instance, db_url)  # the daemon: the upload sensor gives it its partition and run
    assert [(r.partition_key, r.tags["elevra/kind"]) for r in tick.run_requests] == [(answer["partition_key"], "api")]

    repo = Repository(migrated_engine(db_url))
    upload = repo.get_upload_by_id(answer["upload_id"])
    events: list = []
    with client.stream("GET", answer["events_url"], headers=AS_VIEWER) as stream:
        run = run_in_background(upload, instance, resources)
        reader = threading.Thread(target=lambda: events.extend(server_sent_events(stream.iter_lines())))
        reader.start()
        reader.join(timeout=300)
        run.join(timeout=60)
    assert not reader.is_alive(), "the event stream did not end with an outcome"

    names = [name for name, _ in events]
    assert names[0] == "progress" and names[-1] == "outcome" and names.count("outcome") == 1
    assert events[0][1]["status"] == "queued" and not events[0][1]["final"]
    outcome = events[-1][1]
    assert (outcome["status"], outcome["batches"]["inserted"], outcome["batches"]["total"]) == ("completed", 22, 22)
    assert [s["state"] for s in outcome["stages"]] == ["done"] * 5 and outcome["workbook"]

    document = client.get(answer["status_url"], headers=AS_VIEWER).json()
    expected = status_document(repo, upload.id)
    expected["uploads"][0]["workbook"] = answer["workbook_url"]  # its download URL, never the server's path
    assert {**document, "generated_at": None} == {**expected, "generated_at": None}  # the `status --json` one
    assert document["uploads"][0]["status"] == "completed"
    workbook = client.get(answer["workbook_url"], headers=AS_VIEWER)
    assert workbook.status_code == 200 and workbook.headers["content-type"].startswith("application/vnd.openxml")
    assert load_workbook(io.BytesIO(workbook.content))["Candidates"].max_row == 67


def test_admin_actions_refuse_a_missing_or_viewer_token_and_are_recorded_with_who_took_them(
    monkeypatch, sqlite_url, instance, emulator
):
    client = api_client(monkeypatch, sqlite_url)
    resources = {
        "database": DatabaseResource(url=sqlite_url),
        "gemini": GeminiResource(base_url=emulator.base_url, database_url=sqlite_url),
    }
    answer = _send(client, "springfield.csv", ONE_RACE).json()
    repo = Repository(migrated_engine(sqlite_url))
    bucket_tick(instance, sqlite_url)
    materialize_upload(repo.get_upload_by_id(answer["upload_id"]), instance, resources)
    (batch,) = repo.batches(answer["upload_id"])
    redo = f"/uploads/{answer['upload_id']}/batches/{batch.batch_key}/redo"

    assert client.post(redo, json={"reason": "check"}).status_code == 401
    assert client.post(redo, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    refused = client.post(redo, headers=AS_VIEWER, json={"reason": "check"})
    assert refused.status_code == 403 and "needs an admin token" in refused.json()["detail"]
    assert _send(client, "other.csv", ONE_RACE.replace(b"Ann", b"Cy"), headers=AS_VIEWER).status_code == 403
    assert repo.get_batch(batch.id).status == "inserted"  # nothing was done

    done = client.post(redo, headers=AS_ADMIN, json={"reason": "the party looks wrong"})
    assert done.status_code == 200 and done.json()["then"] == "its partition's run is requested"
    assert repo.get_batch(batch.id).admin_note == "redo requested: the party looks wrong"
    skip = f"/uploads/{answer['upload_id']}/batches/{batch.batch_key}/skip"
    assert client.post(skip, headers=AS_ADMIN, json={}).status_code == 422  # a skip needs a reason
    assert (
        client.post(f"/uploads/{answer['upload_id']}/batches/no-such-batch/redo", headers=AS_ADMIN).status_code == 404
    )

    tick = api_tick(instance, sqlite_url)  # the daemon: the run the redo needs
    (request,) = tick.run_requests
    assert request.partition_key == answer["partition_key"]
    assert (request.tags["elevra/api_actions"], request.tags["elevra/requested_by"]) == ("redo", "token-" + _short())
    assert api_tick(instance, sqlite_url, tick.cursor).run_requests == []  # once

    log = client.get(f"/uploads/{answer['upload_id']}/actions", headers=AS_VIEWER).json()
    assert [(a["action"], a["by"], a["role"], a["run_requested"]) for a in log] == [
        ("upload", "token-" + _short(), "admin", False),
        ("redo", "token-" + _short(), "admin", True),
    ]
    cancelled = client.post(f"/uploads/{answer['upload_id']}/cancel", headers=AS_ADMIN, json={"reason": "wrong list"})
    assert cancelled.status_code == 200 and repo.get_upload_by_id(answer["upload_id"]).status == "cancelled"
    again = client.post(f"/uploads/{answer['upload_id']}/retry", headers=AS_ADMIN)
    assert again.status_code == 409 and "was cancelled" in again.json()["detail"]


def _short() -> str:
    from elevra_pipeline.api.auth import digest

    return digest(ADMIN_TOKEN)[:8]


def test_pause_resume_and_a_file_sent_again_with_new_settings_have_their_runs_requested(
    monkeypatch, sqlite_url, instance
):
    client = api_client(monkeypatch, sqlite_url)
    first = _send(client, "undated.csv", b"Candidate,Office,City\nAnn Lee,Mayor,Springfield\n").json()
    bucket_tick(instance, sqlite_url)
    paused = client.post(f"/uploads/{first['upload_id']}/pause", headers=AS_ADMIN, json={"reason": "quota"})
    resumed = client.post(f"/uploads/{first['upload_id']}/resume", headers=AS_ADMIN)
    assert (paused.json()["then"], resumed.json()["then"]) == (None, "its partition's run is requested")

    again = _send(
        client, "undated.csv", b"Candidate,Office,City\nAnn Lee,Mayor,Springfield\n", election_date="2026-11-03"
    )
    assert again.status_code == 202
    assert (again.json()["upload_id"], again.json()["registration"]) == (first["upload_id"], "revised")
    assert again.json()["changes"] == {"election_date": "2026-11-03"}
    (revision,) = Repository(migrated_engine(sqlite_url)).get_upload_by_id(first["upload_id"]).summary_json["revisions"]
    assert revision["by"].startswith("upload page / API (")  # who sent it, not "command line"
    same = _send(
        client, "undated.csv", b"Candidate,Office,City\nAnn Lee,Mayor,Springfield\n", election_date="2026-11-03"
    )
    assert (same.status_code, same.json()["registration"]) == (200, "duplicate")

    requests = api_tick(instance, sqlite_url).run_requests
    assert [(r.partition_key, r.tags["elevra/api_actions"]) for r in requests] == [
        (first["partition_key"], "resume,upload")
    ]


def test_bad_files_and_settings_get_the_reasons_they_get_elsewhere(monkeypatch, sqlite_url):
    client = api_client(monkeypatch, sqlite_url)

    mistyped = _send(client, "list.csv", ONE_RACE, election_date="11/03/2026")
    assert mistyped.status_code == 422
    assert mistyped.json()["detail"] == (
        "upload options are invalid: election_date: '11/03/2026' is not a date between 1900 and 2100 written as "
        "YYYY-MM-DD; nothing was registered"
    )
    unknown = _send(client, "list.csv", ONE_RACE, electon_date="2026-11-03")
    assert unknown.status_code == 422 and unknown.json()["detail"].startswith("unknown field(s) electon_date")
    no_file = client.post("/uploads", headers=AS_ADMIN, data={"state": "NC"}, files={"other": ("a.csv", b"x")})
    assert no_file.status_code == 422 and "a multipart part named 'file'" in no_file.json()["detail"]
    assert client.get("/uploads", headers=AS_VIEWER).json()["total"] == 0  # nothing registered

    pdf = _send(client, "candidates.pdf", b"%PDF-1.4")
    assert pdf.status_code == 422 and "upload an .xlsx file, or a .csv" in pdf.json()["detail"]
    empty = _send(client, "empty.csv", b"")
    assert empty.status_code == 422 and "is empty (0 bytes)" in empty.json()["detail"]
    with client.stream("GET", pdf.json()["events_url"], headers=AS_VIEWER) as stream:
        ((name, outcome),) = server_sent_events(stream.iter_lines())  # a rejected file: the outcome at once
    assert (name, outcome["status"], outcome["reason"]) == ("outcome", "rejected", pdf.json()["detail"])
    assert client.get(pdf.json()["workbook_url"], headers=AS_VIEWER).status_code == 404


def test_the_size_limit_is_enforced_while_the_file_streams_in(monkeypatch, sqlite_url):
    client = api_client(monkeypatch, sqlite_url, ELEVRA_INTAKE_MAX_FILE_MB="1")
    big = b"Candidate,Office,City,Date\n" + b"Ann Lee,Mayor,Springfield,2026-11-03\n" * 90_000  # 3.3 MB
    boundary = "elevra-test-boundary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'.encode()

    def body():  # no Content-Length: the server cannot know the size before it reads
        yield head
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {**AS_ADMIN, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    refused = client.post("/uploads", headers=headers, content=body())
    assert refused.status_code == 413
    assert refused.json()["detail"] == (
        "the file is above the 1.0 MB limit for one upload: split it into several files; nothing was registered"
    )
    assert client.get("/uploads", headers=AS_VIEWER).json()["total"] == 0
    declared = _send(client, "big.csv", big)  # with Content-Length: refused before the body is read
    assert declared.status_code == 413


def test_uploads_are_listed_newest_first_by_status_and_uploader_a_page_at_a_time(monkeypatch, sqlite_url):
    client = api_client(monkeypatch, sqlite_url)
    _send(client, "a.csv", ONE_RACE, uploader_email="ann@example.org")
    _send(client, "b.csv", ONE_RACE.replace(b"Ann", b"Cy"), uploader_email="bo@example.org")
    _send(client, "c.pdf", b"%PDF", uploader_email="ann@example.org")

    everything = client.get("/uploads", headers=AS_VIEWER).json()
    assert [u["file"] for u in everything["uploads"]] == ["c.pdf", "b.csv", "a.csv"]
    assert everything["uploads"][0]["status_url"] == "/uploads/3"
    anns = client.get("/uploads", params={"uploader": "ANN@example.org"}, headers=AS_VIEWER).json()
    assert [u["file"] for u in anns["uploads"]] == ["c.pdf", "a.csv"]
    rejected = client.get("/uploads", params={"status": "rejected"}, headers=AS_VIEWER).json()
    assert [u["file"] for u in rejected["uploads"]] == ["c.pdf"]
    second = client.get("/uploads", params={"per_page": 2, "page": 2}, headers=AS_VIEWER).json()
    assert (second["total"], second["pages"], [u["file"] for u in second["uploads"]], second["next"]) == (
        3, 2, ["a.csv"], None,
    )  # fmt: skip
    first = client.get("/uploads", params={"per_page": 2}, headers=AS_VIEWER).json()
    assert first["next"].endswith("/uploads?per_page=2&page=2")
    assert client.get("/uploads", params={"status": "done"}, headers=AS_VIEWER).status_code == 422
    assert client.get("/uploads/99", headers=AS_VIEWER).status_code == 404
    assert client.get("/uploads").status_code == 401


def test_tokens_are_kept_hashed_and_a_revoked_one_is_refused(monkeypatch, sqlite_url):
    client = api_client(monkeypatch, sqlite_url)
    repo = Repository(migrated_engine(sqlite_url))
    book = TokenBook(repo, {})
    token = book.add("ann", Role.ADMIN)
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).json() == {"name": "ann", "role": "admin"}
    with repo.unit_of_work() as s:
        stored = [(t.name, t.token_sha256) for t in s.query(ApiToken)]
    assert len(stored) == 1 and token not in stored[0][1] and len(stored[0][1]) == 64
    assert book.revoke("ann")
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    with pytest.raises(SettingsError, match="role 'owner' is not one of admin, viewer"):
        configured_tokens('{"a-long-enough-token-123": "owner"}')


def test_cors_lets_only_elevras_domain_call_it(monkeypatch, sqlite_url):
    client = api_client(monkeypatch, sqlite_url, ELEVRA_API_CORS_ORIGINS="https://admin.elevracommunity.com")

    def preflight(origin: str):
        headers = {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        }
        return client.options("/uploads", headers=headers).headers.get("access-control-allow-origin")

    assert preflight("https://admin.elevracommunity.com") == "https://admin.elevracommunity.com"
    assert preflight("https://evil.example.org") is None


def test_the_openapi_document_lists_every_path_and_the_multipart_upload(monkeypatch, sqlite_url):
    document = api_client(monkeypatch, sqlite_url).get("/openapi.json").json()
    assert sorted((path, method) for path, methods in document["paths"].items() for method in methods) == [
        ("/healthz", "get"),
        ("/me", "get"),
        ("/uploads", "get"),
        ("/uploads", "post"),
        ("/uploads/{upload_id}", "get"),
        ("/uploads/{upload_id}/actions", "get"),
        ("/uploads/{upload_id}/approve", "post"),
        ("/uploads/{upload_id}/batches/{batch_key}/redo", "post"),
        ("/uploads/{upload_id}/batches/{batch_key}/skip", "post"),
        ("/uploads/{upload_id}/cancel", "post"),
        ("/uploads/{upload_id}/changes", "get"),
        ("/uploads/{upload_id}/discard", "post"),
        ("/uploads/{upload_id}/events", "get"),
        ("/uploads/{upload_id}/pause", "post"),
        ("/uploads/{upload_id}/resume", "post"),
        ("/uploads/{upload_id}/retry", "post"),
        ("/uploads/{upload_id}/revert", "post"),
        ("/uploads/{upload_id}/workbook", "get"),
    ]
    form = document["paths"]["/uploads"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and form["properties"]["file"]["format"] == "binary"
    assert {"election_date", "jurisdiction", "state", "uploader_email"} <= set(form["properties"])
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"

"""E-mail you can rely on: the database decides what was sent, the team's copy stands alone, a bad
header cannot break a message, Resend trouble is retried for a day, and a re-run's new outcome is sent."""

import io
import json
import re
import time

import openpyxl

from elevra_pipeline import cli
from elevra_pipeline.defs.resources import DatabaseResource, EmailResource, GeminiResource
from elevra_pipeline.gemini import prompts
from elevra_pipeline.notifications.notifier import Notifier
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads import admin
from elevra_pipeline_tests.capture_server import CaptureServer
from elevra_pipeline_tests.helpers import local_outbox, materialize_upload, register
from elevra_pipeline_tests.model_proxy import ModelProxy
from elevra_pipeline_tests.ticks import processed_upload, read_outbox, tick

STAGES = ("queued", "analysis_complete", "structure_complete", "final")
TEAM = "team@elevracommunity.com"


class FakeClock:
    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def log_stage_emails(notifier, repo, upload):
    upload = repo.get_upload_by_id(upload.id)
    for kind in STAGES:
        notifier.notify_stage(upload, kind)


def sent_once(capture) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in capture.requests:
        if r["status"] == 200:
            key = r["headers"]["Idempotency-Key"]
            counts[key] = counts.get(key, 0) + 1
    return counts


def test_ten_minutes_of_429s_and_500s_delay_every_email_and_lose_none(repo, instance, resources):
    upload = processed_upload(repo, instance, resources)
    clock = FakeClock()
    start = clock.now
    capture = CaptureServer().start()

    def resend_in_trouble(request):
        if clock.now < start + 60:
            return (
                429,
                {"name": "rate_limit_exceeded", "message": "Too many requests", "statusCode": 429},
                {"retry-after": "20"},
            )
        if clock.now < start + 600:
            return 500, {"name": "internal_server_error", "message": "Unexpected error", "statusCode": 500}, {}
        return None

    capture.decide = resend_in_trouble
    notifier = Notifier(
        repo, EmailResource(outbox_dir=local_outbox(), api_key="re_test_key", api_url=capture.url), TEAM, clock=clock
    )
    try:
        log_stage_emails(notifier, repo, upload)
        while clock.now < start + 4 * 3600 and any(n.status != "sent" for n in repo.notifications(upload.id)):
            outcome = notifier.deliver_due()
            assert outcome["failed"] == 0
            clock.now += 30
    finally:
        capture.stop()
    rows = repo.notifications(upload.id)
    assert len(rows) == 8 and {n.status for n in rows} == {"sent"}
    assert sent_once(capture) == {n.idempotency_key: 1 for n in rows}  # each delivered exactly once
    assert {r["status"] for r in capture.requests} == {429, 500, 200} and all(n.attempts > 2 for n in rows)


def test_a_rejected_uploader_address_neither_silences_the_team_nor_goes_unreported(repo, instance, resources):
    upload = processed_upload(repo, instance, resources)
    capture = CaptureServer().start()
    capture.decide = lambda r: (
        (422, {"name": "validation_error", "message": "Invalid `to` field.", "statusCode": 422}, {})
        if r["json"]["to"] == ["ann@example.org"]
        else None
    )
    notifier = Notifier(
        repo, EmailResource(outbox_dir=local_outbox(), api_key="re_test_key", api_url=capture.url), TEAM
    )
    try:
        log_stage_emails(notifier, repo, upload)
        first = notifier.deliver_due()
        second = notifier.deliver_due()  # the alerts about the undeliverable e-mails
    finally:
        capture.stop()
    assert (first["sent"], first["failed"], second["sent"]) == (4, 4, 4)
    by_to = {}
    for n in repo.notifications(upload.id):
        by_to.setdefault((n.recipients[0], n.kind), n.status)
    assert all(by_to[(TEAM, kind)] == "sent" for kind in STAGES)
    assert all(by_to[("ann@example.org", kind)] == "failed" for kind in STAGES)
    alerts = [
        r["json"]
        for r in capture.requests
        if r["status"] == 200 and r["json"]["subject"].startswith("E-mail not delivered")
    ]
    assert len(alerts) == 4 and all(a["to"] == [TEAM] and "Invalid `to` field" in a["text"] for a in alerts)
    assert first["failed_total"] == 4


def test_an_email_that_fails_for_a_whole_day_is_given_up_and_the_team_is_told(repo, instance, resources):
    upload = processed_upload(repo, instance, resources)
    clock = FakeClock()
    start = clock.now
    capture = CaptureServer().start()
    capture.decide = (
        lambda r: None
        if "undeliverable" in r["headers"]["Idempotency-Key"]
        else (500, {"name": "internal_server_error", "message": "down", "statusCode": 500}, {})
    )
    notifier = Notifier(
        repo, EmailResource(outbox_dir=local_outbox(), api_key="re_test_key", api_url=capture.url), TEAM, clock=clock
    )
    try:
        notifier.notify_stage(repo.get_upload_by_id(upload.id), "queued")
        gave_up_at = None
        while clock.now < start + 30 * 3600:
            notifier.deliver_due()
            queued = [n for n in repo.notifications(upload.id) if n.kind == "queued"]
            if gave_up_at is None and {n.status for n in queued} == {"failed"}:
                gave_up_at = clock.now
            clock.now += 600
    finally:
        capture.stop()
    assert gave_up_at is not None and gave_up_at - start >= 23 * 3600  # retried for about a day
    assert all(n.attempts >= 20 for n in queued)  # backoff capped at an hour: many tries over the day
    alerts = [n for n in repo.notifications(upload.id) if n.kind == "undeliverable"]
    assert len(alerts) == 2 and {n.status for n in alerts} == {"sent"}


def test_two_databases_sharing_one_outbox_both_get_every_email(instance, resources, tmp_path, emulator):
    shared = tmp_path / "shared-outbox"
    for name in ("one", "two"):
        url = f"sqlite:///{tmp_path / name}.db"
        repo = Repository(migrated_engine(url))
        res = {
            "database": DatabaseResource(url=url),
            "gemini": GeminiResource(base_url=emulator.base_url, database_url=url),
        }
        upload = register(repo, SAMPLE_XLSX, instance, "ann@example.org")  # upload 1 in each database
        materialize_upload(upload, instance, res)
        tick(instance, url, EmailResource(outbox_dir=str(shared)))
        assert {n.status for n in repo.notifications()} == {"sent"}
    names = [p.name.split("--")[1] for p in shared.glob("*.eml")]
    assert len(names) == 16 and len(set(names)) == 8  # the same keys twice, and nothing lost


def test_cr_lf_in_the_file_name_and_the_uploader_break_nothing(emulator, local_data, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", emulator.base_url)
    path = tmp_path / "council\r\nBcc: evil@example.org.xlsx"
    path.write_bytes(SAMPLE_XLSX.read_bytes())
    assert cli.main(["process", str(path), "--uploader", "ann@example.org\r\nBcc: evil@example.org"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["status"] == "completed"
    messages = read_outbox(local_data / "outbox")
    assert len(messages) == 4 and all(m["To"] == TEAM and m["Bcc"] is None for m in messages)  # bad uploader dropped
    assert all("\n" not in m["Subject"] and "\r" not in m["Subject"] for m in messages)
    queued = next(m for m in messages if m["Subject"].startswith("Queued"))
    assert "uploader_email" in queued.get_body(("plain",)).get_content()  # the dropped address is reported
    assert cli.main(["status", "1"]) == 0 and "is not a valid e-mail address" in capsys.readouterr().out


def test_a_rerun_that_changes_the_outcome_sends_an_updated_final_email(repo, instance, db_url, emulator, outbox):
    lies = {"on": True}

    def invent_for_one_batch(task, answer, number):
        if lies["on"] and task == prompts.TASK_STRUCTURE and "Springfield" in answer["election"]["jurisdiction"]:
            answer["candidates"].append({"name": "Mallory Invented"})
        return answer

    with ModelProxy(emulator.base_url, invent_for_one_batch) as proxy:
        resources = {
            "database": DatabaseResource(url=db_url),
            "gemini": GeminiResource(base_url=proxy.url, database_url=db_url, backoff_base_seconds=0.01),
        }
        upload = register(repo, SAMPLE_XLSX, instance, "ann@example.org")
        materialize_upload(upload, instance, resources)  # the lied-about races wait for the model
        lied = [b for b in repo.batches(upload.id) if b.status == "waiting_for_model"]
        assert lied
        for batch in lied:  # an admin decides not to wait: the upload is finished without them
            admin.skip_batch(repo, upload.id, batch.batch_key, "the model keeps inventing a candidate", by="ann")
        materialize_upload(upload, instance, resources)
        cursor = tick(instance, db_url, EmailResource(outbox_dir=local_outbox())).cursor
        lies["on"] = False
        for batch in lied:  # the model answers truthfully again: the races are redone
            admin.redo_batch(repo, upload.id, batch.batch_key, "the model is fixed")
        materialize_upload(upload, instance, resources)
        tick(instance, db_url, EmailResource(outbox_dir=local_outbox()), cursor)
        materialize_upload(upload, instance, resources)  # same outcome again: no third e-mail
        tick(instance, db_url, EmailResource(outbox_dir=local_outbox()), cursor)

    finals = [
        m for m in read_outbox(outbox) if m["To"] == "ann@example.org" and re.match(r"(Done|Updated)", m["Subject"])
    ]
    assert [m["Subject"] for m in finals] == [
        f"Done: {22 - len(lied)} elections and {66 - 3 * len(lied)} candidates from sample_elections.xlsx",
        "Updated: 22 elections and 66 candidates from sample_elections.xlsx",
    ]
    (attachment,) = list(finals[1].iter_attachments())
    summary = dict(openpyxl.load_workbook(io.BytesIO(attachment.get_content()))["Summary"].iter_rows(values_only=True))
    assert (summary["Status"], summary["Batches inserted"], summary["Candidates"]) == (
        "completed",
        22,
        66,
    )  # the new one

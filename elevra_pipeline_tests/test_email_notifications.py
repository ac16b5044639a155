"""E-mails: one per stage and per failure, exactly once, through the real resend SDK or the outbox."""

import base64
import os
import re
import time

import dagster as dg
from dagster_aws.s3 import S3Resource

from elevra_pipeline.definitions import defs
from elevra_pipeline.defs.email_sensors import upload_failure_email_sensor
from elevra_pipeline.defs.resources import DatabaseResource, EmailResource
from elevra_pipeline.defs.sensors import upload_bucket_sensor
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline_tests.capture_server import CaptureServer
from elevra_pipeline_tests.helpers import app_resource, local_outbox, materialize_upload, register
from elevra_pipeline_tests.ticks import failure_tick, processed_upload, read_outbox, tick


def test_each_stage_sends_one_email_and_the_final_one_carries_the_workbook(repo, instance, resources, db_url, outbox):
    upload = processed_upload(repo, instance, resources)
    result = tick(instance, db_url, EmailResource(outbox_dir=local_outbox()))

    messages = read_outbox(outbox)
    mine = [m for m in messages if m["To"] == "ann@example.org"]
    team = [m for m in messages if m["To"] == "team@elevracommunity.com"]
    subjects = [m["Subject"] for m in mine]
    assert len(messages) == 8 and [m["Subject"] for m in team] == subjects  # the team's copies are separate e-mails
    assert subjects[0].startswith("Queued: 22 races from sample_elections.xlsx go to the model")
    assert subjects[1].startswith("Analysis done") and subjects[2].startswith("Structured output done")
    assert subjects[3] == "Done: 22 elections and 66 candidates from sample_elections.xlsx [EMULATED]"
    for final in (mine[3], team[3]):
        (attachment,) = list(final.iter_attachments())
        assert attachment.get_filename().endswith(".xlsx")
        assert attachment.get_content() == open(upload.workbook_path, "rb").read()
    text = mine[3].get_body(("plain",)).get_content()
    assert text.splitlines()[0] == subjects[3] and "https://www.elevracommunity.com/elections/" in text
    assert "Estimated completion" in mine[0].get_body(("plain",)).get_content()
    assert "Delivery: 8 sent" in result.skip_message
    assert sorted((n.kind, n.recipients[0], n.status) for n in repo.notifications(upload.id)) == sorted(
        (kind, to, "sent")
        for kind in ("queued", "analysis_complete", "structure_complete", "final")
        for to in ("ann@example.org", "team@elevracommunity.com")
    )

    again = tick(instance, db_url, EmailResource(outbox_dir=local_outbox()), result.cursor)
    lost_cursor = tick(instance, db_url, EmailResource(outbox_dir=local_outbox()))
    assert len(read_outbox(outbox)) == 8 and again.skip_message.startswith("no new e-mails")
    assert lost_cursor.skip_message.startswith("no new e-mails") and len(repo.notifications()) == 8


def test_real_sdk_sends_with_idempotency_key_and_the_workbook_attached(repo, instance, resources, db_url):
    upload = processed_upload(repo, instance, resources)
    capture = CaptureServer().start()
    try:
        tick(instance, db_url, EmailResource(outbox_dir=local_outbox(), api_key="re_test_key", api_url=capture.url))
    finally:
        capture.stop()
    assert [r["path"] for r in capture.requests] == ["/emails"] * 8
    keys = [re.sub(r"-final-[0-9a-f]{10}", "-final", r["headers"]["Idempotency-Key"]) for r in capture.requests]
    assert keys == [
        f"upload-{upload.id}-{k}{copy}"
        for k in ("queued", "analysis_complete", "structure_complete", "final")
        for copy in ("", "-team")
    ]
    assert capture.requests[0]["headers"]["Authorization"] == "Bearer re_test_key"
    assert [r["json"]["to"] for r in capture.requests[6:]] == [["ann@example.org"], ["team@elevracommunity.com"]]
    for final in capture.requests[6:]:
        (attachment,) = final["json"]["attachments"]
        assert base64.b64decode(attachment["content"]) == open(upload.workbook_path, "rb").read()
    assert [n.provider_id for n in repo.notifications(upload.id)] == [f"email-{i}" for i in range(1, 9)]


def test_a_429_from_resend_is_retried_later_and_ends_with_one_email(repo, instance, resources, db_url):
    upload = processed_upload(repo, instance, resources)
    capture = CaptureServer(
        [
            (
                429,
                {"name": "rate_limit_exceeded", "message": "Too many requests", "statusCode": 429},
                {"retry-after": "0"},
            )
        ]
    ).start()
    mailer = EmailResource(outbox_dir=local_outbox(), api_key="re_test_key", api_url=capture.url)
    try:
        first = tick(instance, db_url, mailer)
        queued = [n for n in repo.notifications(upload.id) if n.kind == "queued"][0]
        assert queued.status == "retrying" and "rate limit" in queued.error
        repo.update_notification(queued.id, next_attempt_at=0.0)  # its backoff has passed
        tick(instance, db_url, mailer, first.cursor)
    finally:
        capture.stop()
    queued_requests = [r for r in capture.requests if r["headers"]["Idempotency-Key"].endswith("-queued")]
    assert len(queued_requests) == 2
    queued = [n for n in repo.notifications(upload.id) if n.kind == "queued"][0]
    assert (queued.status, queued.attempts, queued.error) == ("sent", 2, None)


def test_unreachable_resend_never_fails_the_tick_and_keeps_retrying(repo, instance, resources, db_url):
    upload = processed_upload(repo, instance, resources)
    mailer = EmailResource(
        outbox_dir=local_outbox(), api_key="re_test_key", api_url="http://127.0.0.1:9"
    )  # nothing listens there
    cursor = None
    for _ in range(3):
        result = tick(instance, db_url, mailer, cursor)
        cursor = result.cursor
        for n in repo.notifications(upload.id):
            repo.update_notification(n.id, next_attempt_at=0.0)
    assert "8 to retry" in result.skip_message
    assert {n.status for n in repo.notifications(upload.id)} == {"retrying"}  # gives up only after a day
    assert [(n.attempts, "Connection refused" in n.error) for n in repo.notifications(upload.id)] == [(3, True)] * 8


def test_races_the_uploader_must_fix_come_once_in_the_final_email_with_the_workbook(
    repo, instance, resources, db_url, outbox, tmp_path
):
    path = tmp_path / "undated.csv"
    path.write_text(
        "Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,\nBo Chan,Sheriff,Springfield,\n"
        "Cy Park,Clerk,Springfield,2026-11-03\n"
    )
    upload = register(repo, path, instance, "ann@example.org")
    result = materialize_upload(upload, instance, resources)
    tick(instance, db_url, EmailResource(outbox_dir=local_outbox()))
    failure_tick(instance, db_url, result)  # the run ends red: the upload needs the uploader's fix
    mine = [m for m in read_outbox(outbox) if m["To"] == "ann@example.org"]
    assert [m["Subject"] for m in mine] == [
        "Queued: 1 race from undated.csv goes to the model [EMULATED]",
        "Analysis done for undated.csv: 1 ok, 0 need re-upload [EMULATED]",
        "Structured output done for undated.csv: 1 ok, 0 need re-upload [EMULATED]",
        "Done: 1 election and 1 candidate from undated.csv; 2 races need your fix [EMULATED]",
    ]
    assert mine[0].get_body(("plain",)).get_content().count("no election date") == 2
    final = mine[3].get_body(("plain",)).get_content()
    assert "2 races: no election date (Springfield Mayor, Springfield Sheriff). Add an 'Election Date'" in final
    assert [a.get_filename() for a in mine[3].iter_attachments()] == [f"{upload.partition_key}.xlsx"]


def test_a_rejected_upload_gets_its_email_from_the_bucket_sensor(instance, sqlite_url, local_data, outbox):
    bucket = local_data / "uploads"
    bucket.mkdir(parents=True)
    path = bucket / "candidates.pdf"
    path.write_bytes(b"%PDF-1.4")
    os.utime(path, (time.time() - 60, time.time() - 60))
    with dg.build_sensor_context(
        instance_ref=instance.get_ref(),
        definitions=defs,
        resources={
            "app": app_resource(),
            "database": DatabaseResource(url=sqlite_url),
            "email": EmailResource(outbox_dir=local_outbox()),
            "s3": S3Resource(),
        },
    ) as context:
        upload_bucket_sensor.evaluate_tick(context)
    (message,) = read_outbox(outbox)
    assert message["Subject"] == "Rejected: candidates.pdf could not be processed"
    assert "upload an .xlsx file, or a .csv" in message.get_body(("plain",)).get_content()


def test_a_corrupt_upload_run_failure_sends_the_rejection_reason(repo, instance, resources, db_url, outbox, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04garbage")
    result = materialize_upload(register(repo, path, instance), instance, resources, raise_on_error=False)
    failure_tick(instance, db_url, result)
    failure_tick(instance, db_url, result)  # a re-tick sends nothing new
    (message,) = read_outbox(outbox)
    assert message["Subject"] == "Rejected: broken.xlsx could not be processed"
    assert "not a valid Excel workbook" in message.get_body(("plain",)).get_content()


def test_any_failed_run_sends_the_failed_step_and_error(
    repo, instance, resources, db_url, outbox, tmp_path, monkeypatch
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("ELEVRA_WORKBOOK_DIR", str(blocker / "sub"))
    result = materialize_upload(register(repo, SAMPLE_XLSX, instance), instance, resources, raise_on_error=False)
    failure_tick(instance, db_url, result)
    (message,) = read_outbox(outbox)
    assert message["Subject"] == "Run failed for sample_elections.xlsx at step result_workbook [EMULATED]"
    assert "Error:" in message.get_body(("plain",)).get_content()


def test_a_failed_run_superseded_by_a_newer_run_of_the_same_upload_sends_no_failure_email(
    repo, instance, resources, db_url, outbox, tmp_path, monkeypatch
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("ELEVRA_WORKBOOK_DIR", str(blocker / "sub"))
    upload = register(repo, SAMPLE_XLSX, instance)
    failed = materialize_upload(upload, instance, resources, raise_on_error=False)
    monkeypatch.delenv("ELEVRA_WORKBOOK_DIR")
    materialize_upload(upload, instance, resources)  # the retry, seconds later, succeeds

    failure_tick(instance, db_url, failed)  # the failure sensor reaches the first run only now
    assert read_outbox(outbox) == []  # no false "Run failed": the newer run's outcome is the one to tell


def test_no_run_can_hang_and_one_stopped_for_running_too_long_is_reported(repo, instance, db_url, outbox):
    from pathlib import Path

    import yaml
    from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus

    from elevra_pipeline.defs.jobs import process_upload_job

    assert int(process_upload_job.tags["dagster/max_runtime"]) == 6 * 3600
    for config in ("dagster.yaml", "deploy/dagster.postgres.yaml"):
        monitoring = yaml.safe_load((Path(__file__).parents[1] / config).read_text())["run_monitoring"]
        assert monitoring["enabled"] and monitoring["max_runtime_seconds"] == 6 * 3600
    upload = register(repo, SAMPLE_XLSX, instance, "ann@example.org")
    repo.update_upload(upload.id, status="processing")
    run = DagsterRun(
        job_name="process_upload",
        run_id="stuck-run-1",
        status=DagsterRunStatus.STARTED,
        tags={"dagster/partition": upload.partition_key},
    )
    instance.add_run(run)
    # what run monitoring does to a run past its dagster/max_runtime
    event = instance.report_run_failed(run, "Exceeded maximum runtime of 21600 seconds.")
    context = dg.build_run_status_sensor_context(
        sensor_name="upload_failure_email_sensor",
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id("stuck-run-1"),
        dagster_event=event,
        resources={
            "app": app_resource(),
            "database": DatabaseResource(url=db_url),
            "email": EmailResource(outbox_dir=local_outbox()),
        },
    ).for_run_failure()
    upload_failure_email_sensor(context)

    assert "Exceeded maximum runtime" in repo.get_upload_by_id(upload.id).failure_reason
    messages = read_outbox(outbox)
    assert sorted(m["To"] for m in messages) == ["ann@example.org", "team@elevracommunity.com"]
    assert all("Exceeded maximum runtime" in m.get_body(("plain",)).get_content() for m in messages)


def test_with_the_daily_digest_the_team_reads_the_days_uploads_in_one_email(
    repo, instance, resources, db_url, outbox, monkeypatch
):
    from datetime import datetime, timedelta, timezone

    from elevra_pipeline.defs import email_sensors

    monkeypatch.setenv("ELEVRA_TEAM_DIGEST", "daily")
    monkeypatch.setenv("ELEVRA_TIMEZONE", "UTC")
    monkeypatch.setattr(email_sensors, "DIGEST_HOUR", 0)  # whatever the hour the test runs at
    upload = processed_upload(repo, instance, resources)
    tick(instance, db_url, EmailResource(outbox_dir=local_outbox()))
    assert {m["To"] for m in read_outbox(outbox)} == {"ann@example.org"}  # no copy of each e-mail for the team
    repo.update_upload(upload.id, updated_at=datetime.now(timezone.utc) - timedelta(days=1))

    def digest_tick():
        resources_ = {
            "app": app_resource(),
            "database": DatabaseResource(url=db_url),
            "email": EmailResource(outbox_dir=local_outbox()),
        }
        with dg.build_sensor_context(instance=instance, definitions=defs, resources=resources_) as context:
            return email_sensors.team_digest_sensor.evaluate_tick(context)

    digest_tick()
    digest_tick()  # once a day, whatever the ticks
    (digest,) = [m for m in read_outbox(outbox) if m["To"] == "team@elevracommunity.com"]
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).date()
    assert digest["Subject"] == f"Elevra uploads on {yesterday}: 1 (1 completed)"
    assert (
        "upload 1 sample_elections.xlsx [completed]: 22 elections, 66 candidates"
        in digest.get_body(("plain",)).get_content()
    )


def test_each_email_says_where_to_look_the_status_and_the_partition_in_dagster(repo, instance, resources, db_url):
    from elevra_pipeline.notifications.templates import render

    upload = processed_upload(repo, instance, resources)
    _, text, html = render("final", upload, upload.summary_json, {"dagster_url": "https://dagster.example.org"})
    link = f"https://dagster.example.org/assets/result_workbook?partition={upload.partition_key}"
    assert text.rstrip().endswith(f"Status: elevra-pipeline status {upload.id}\nIn Dagster: {link}")
    assert link in html
    _, text, _ = render("final", upload, upload.summary_json, {})  # no Dagster address set: no link
    assert "In Dagster" not in text and f"Status: elevra-pipeline status {upload.id}" in text


def test_an_upload_that_finishes_within_minutes_hears_once_at_the_end(
    repo, instance, resources, db_url, outbox, monkeypatch
):
    monkeypatch.setenv("ELEVRA_STAGE_EMAILS_AFTER_MINUTES", "5")  # the default
    upload = processed_upload(repo, instance, resources)  # 22 races, expected to take well under 5 minutes
    tick(instance, db_url, EmailResource(outbox_dir=local_outbox()))

    mine = [m["Subject"] for m in read_outbox(outbox) if m["To"] == "ann@example.org"]
    assert mine == ["Done: 22 elections and 66 candidates from sample_elections.xlsx [EMULATED]"]
    assert {n.kind for n in repo.notifications(upload.id)} == {"final"}  # and the team's copy of it


def test_an_upload_expected_to_take_longer_hears_queued_with_its_eta(repo, instance, resources, db_url, monkeypatch):
    monkeypatch.setenv("ELEVRA_STAGE_EMAILS_AFTER_MINUTES", "5")
    upload = processed_upload(repo, instance, resources)
    summary = upload.summary_json
    repo.update_upload(upload.id, summary_json={**summary, "queue": {**summary["queue"], "eta_seconds": 3 * 3600}})
    notifier = app_resource().notifier(repo, EmailResource(outbox_dir=local_outbox()))

    assert notifier.notify_stage(repo.get_upload_by_id(upload.id), "queued")  # e.g. 5,000 races: 3 hours
    assert [n.kind for n in repo.notifications(upload.id) if n.recipients == ["ann@example.org"]] == ["queued"]

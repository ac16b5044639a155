"""Clean-up: raw files go after completion (unless kept for debugging), from the archive and from the
upload bucket, and re-runs and re-drops still work; old finished uploads are archived then deleted,
while elections and candidates stay, on both databases with their foreign keys checked; a failed
clean-up run is e-mailed to the team."""

import email
import json
import os
from datetime import datetime, timedelta, timezone
from email import policy
from pathlib import Path

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource
from sqlalchemy import event

from elevra_pipeline.definitions import defs
from elevra_pipeline.defs.cleanup import expire_old_uploads, retention_cleanup
from elevra_pipeline.defs.email_sensors import upload_failure_email_sensor
from elevra_pipeline.defs.processing import process_file
from elevra_pipeline.defs.resources import DatabaseResource, EmailResource, GeminiResource
from elevra_pipeline.defs.sensors import upload_bucket_sensor
from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.quotas.limits import load_quotas
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline.settings import Settings, SettingsError
from elevra_pipeline.storage.database import create_db_engine, migrated_engine
from elevra_pipeline.storage.files import ARCHIVE, FileStore
from elevra_pipeline.storage.models import Base, Candidate, Election, GeminiBatchJob, ModelAttempt, Notification, Upload
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.storage.retention import DELETED_WITH_UPLOAD, DETACHED_FROM_UPLOAD
from elevra_pipeline_tests.helpers import app_resource, local_outbox, materialize_upload, register


def test_raw_file_is_purged_after_completion_and_a_rerun_uses_the_stored_batches(repo, instance, resources):
    upload = register(repo, SAMPLE_XLSX, instance)
    stored = Path(upload.stored_path)
    materialize_upload(upload, instance, resources)
    assert not stored.exists() and repo.get_upload(upload.partition_key).stored_path is None
    again = materialize_upload(upload, instance, resources)
    assert again.success and repo.count(ModelAttempt) == 44


def test_a_debug_sidecar_keeps_the_raw_file(repo, instance, resources, tmp_path):
    path = tmp_path / "keep.csv"
    path.write_text("Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\n")
    (tmp_path / "keep.csv.json").write_text(json.dumps({"debug": True}))
    upload = register(repo, path, instance)
    materialize_upload(upload, instance, resources)
    assert Path(repo.get_upload(upload.partition_key).stored_path).exists()


def test_old_finished_uploads_are_archived_then_deleted_but_records_stay(repo, instance, resources, tmp_path):
    upload = register(repo, SAMPLE_XLSX, instance)
    materialize_upload(upload, instance, resources)
    repo.add_notification(
        upload_id=upload.id,
        kind="final",
        idempotency_key="k",
        recipients=["a@b.org"],
        subject="s",
        text_body="t",
        html_body="h",
        status="sent",
    )
    fresh = repo.add_upload(
        partition_key="fresh-1", content_hash="f" * 64, original_filename="f.csv", status="processing"
    )
    assert (
        expire_old_uploads(repo, 30, FileStore({ARCHIVE: tmp_path / "archive"}))["uploads"] == 0
    )  # nothing old enough
    repo.update_upload(upload.id, updated_at=datetime.now(timezone.utc) - timedelta(days=45))

    counts = expire_old_uploads(repo, 30, FileStore({ARCHIVE: tmp_path / "archive"}))

    assert counts == {
        "uploads": 1,
        "batches": 22,
        "attempts": 44,
        "notifications": 1,
        "batch_jobs": 0,
        "change_deliveries": 0,
    }
    assert [u.partition_key for u in repo.list_uploads()] == [fresh.partition_key]
    assert repo.count(ModelAttempt) == 0 and repo.count(Notification) == 0
    assert (repo.count(Election), repo.count(Candidate)) == (22, 66)
    (archive,) = (tmp_path / "archive" / "expired").glob("*.jsonl")
    tables = [json.loads(line)["table"] for line in archive.read_text().splitlines()]
    assert tables.count("model_attempts") == 44 and tables[-1] == "uploads"


@pytest.fixture
def checked_repo(db_url):
    """The app database with its foreign keys checked on every statement: PostgreSQL always does; SQLite
    only on a connection that asks, so without this a wrong order of deletion passes here."""
    migrated_engine(db_url)
    engine = create_db_engine(db_url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=ON"))
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    yield Repository(engine)
    engine.dispose()


def test_an_old_upload_that_used_the_batch_api_is_expired_on_both_databases(
    checked_repo, db_url, tmp_path, monkeypatch
):
    server = start_in_thread(quotas=load_quotas(), batch_delay_seconds=0.2)
    monkeypatch.setenv("ELEVRA_DATABASE_URL", db_url)
    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", server.base_url)
    monkeypatch.setenv("ELEVRA_BATCH_POLL_SECONDS", "0.1")
    path = tmp_path / "one.csv"
    path.write_text("Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\n")
    try:
        outcome = process_file(path, "ann@example.org", progress=lambda line: None, options={"mode": "batch"})
    finally:
        server.shutdown()
    assert (outcome["status"], outcome["mode"]) == ("completed", "batch")
    repo = checked_repo
    assert len(repo.batch_jobs(outcome["upload_id"])) == 2  # one job per model stage
    repo.update_upload(outcome["upload_id"], updated_at=datetime.now(timezone.utc) - timedelta(days=200))

    counts = expire_old_uploads(repo, 180, FileStore({ARCHIVE: tmp_path / "archive"}))

    assert counts["uploads"] == 1 and counts["batch_jobs"] == 2 and counts["attempts"] == 2
    assert repo.list_uploads() == [] and repo.count(GeminiBatchJob) == repo.count(ModelAttempt) == 0
    assert (repo.count(Election), repo.count(Candidate)) == (1, 1)
    (archive,) = (tmp_path / "archive" / "expired").glob("*.jsonl")
    assert sum('"table": "gemini_batch_jobs"' in line for line in archive.read_text().splitlines()) == 2


def test_retention_deletes_every_table_that_references_an_upload():
    """A table added later that points at an upload (or at what points at one) must be given its place
    in the order of deletion, or retention fails on PostgreSQL again."""
    referencing = {Upload.__table__}
    for table in Base.metadata.sorted_tables:
        if any(fk.column.table in referencing for fk in table.foreign_keys):
            referencing.add(table)
    assert referencing == {model.__table__ for model in DELETED_WITH_UPLOAD + DETACHED_FROM_UPLOAD}


def test_a_failed_retention_run_is_emailed_to_the_team_once(sqlite_url, instance, outbox, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # the archive folder cannot be made: the clean-up fails before deleting
    monkeypatch.setenv("ELEVRA_ARCHIVE_DIR", str(blocker))
    resources = {
        "app": app_resource(),
        "database": DatabaseResource(url=sqlite_url),
        "email": EmailResource(outbox_dir=local_outbox()),
    }
    result = retention_cleanup.execute_in_process(instance=instance, resources=resources, raise_on_error=False)
    assert not result.success

    for _ in range(2):  # a re-tick sends nothing new
        context = dg.build_run_status_sensor_context(
            sensor_name="upload_failure_email_sensor",
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
            dagster_event=result.get_run_failure_event(),
            resources={**resources, "email": EmailResource(outbox_dir=local_outbox())},
        ).for_run_failure()
        upload_failure_email_sensor(context)

    (path,) = outbox.glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    body = message.get_body(("plain",)).get_content()
    assert message["To"] == "team@elevracommunity.com"
    assert message["Subject"] == "Run failed: retention_cleanup at step expire_old_records"
    assert "retention clean-up failed, nothing was deleted" in body and result.run_id in body


# -- the raw file in the upload bucket (a local folder here; S3 in test_object_bucket.py) -------------

DATED = b"Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\n"
UNDATED = b"Candidate,Office,City\nAnn Lee,Mayor,Springfield\n"
SETTLED = 1_700_000_000  # an old modification time: the file is not still being copied in


@pytest.fixture
def folder(local_data):
    path = local_data / "uploads"
    path.mkdir(parents=True)
    return path


def _drop(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.write_bytes(content)
    os.utime(path, (SETTLED, SETTLED))  # the same size and time each time it is dropped
    return path


class Bucket:
    """Ticks of the upload sensor on the local folder, and runs of what they request."""

    def __init__(self, instance, sqlite_url, emulator):
        self.instance, self.cursor = instance, None
        self.database = DatabaseResource(url=sqlite_url)
        self.gemini = GeminiResource(base_url=emulator.base_url, database_url=sqlite_url, backoff_base_seconds=0.01)
        self.repo = self.database.repository()

    def tick(self) -> dg.SensorResult:
        resources = {"app": app_resource(), "database": self.database, "s3": S3Resource()}
        with dg.build_sensor_context(
            instance_ref=self.instance.get_ref(),
            cursor=self.cursor,
            definitions=defs,
            resources={**resources, "email": EmailResource(outbox_dir=local_outbox())},
        ) as context:
            result = upload_bucket_sensor.evaluate_tick(context)
        self.cursor = result.cursor
        for request in result.run_requests:
            self.instance.add_dynamic_partitions("uploads", [request.partition_key])
            upload = self.repo.get_upload(request.partition_key)
            materialize_upload(upload, self.instance, {"database": self.database, "gemini": self.gemini})
        return result


@pytest.fixture
def bucket(instance, sqlite_url, emulator, folder):
    return Bucket(instance, sqlite_url, emulator)


def test_a_completed_uploads_file_is_deleted_and_dropped_again_it_is_already_received(bucket, folder, outbox):
    _drop(folder, "one.csv", DATED)
    (folder / "one.csv.json").write_text(json.dumps({"uploader_email": "ann@example.org"}))
    (request,) = bucket.tick().run_requests  # registered and run: completed
    assert bucket.repo.get_upload(request.partition_key).status == "completed"

    assert bucket.tick().run_requests == []
    assert sorted(p.name for p in folder.iterdir()) == []  # the file and its sidecar are gone
    summary = bucket.repo.get_upload(request.partition_key).summary_json
    assert summary["bucket_files_put_away"] == {"one.csv": "deleted"}

    _drop(folder, "one.csv", DATED)  # the same bytes, size and time again, later
    assert bucket.tick().run_requests == []  # a duplicate: not processed again
    assert list(folder.iterdir()) == [] and len(bucket.repo.list_uploads()) == 1
    (notice, _) = [n for n in bucket.repo.notifications() if n.kind == "duplicate"]  # "Already received"
    # its stored copy went when it completed: the advice is to send the file again, not `retry`
    assert "elevra-pipeline retry" not in notice.text_body
    assert "run `elevra-pipeline process 'one.csv' --election-date …`" in notice.text_body


def test_a_file_whose_races_need_a_fix_stays_until_the_fix_completes_then_moves_to_processed(
    bucket, folder, monkeypatch
):
    monkeypatch.setenv("ELEVRA_PROCESSED_FILES", "move")
    _drop(folder, "undated.csv", UNDATED)
    (request,) = bucket.tick().run_requests
    upload = bucket.repo.get_upload(request.partition_key)
    assert upload.status == "completed_with_failures"
    bucket.tick()
    assert (folder / "undated.csv").exists()  # kept: the documented fix is a sidecar beside it

    (folder / "undated.csv.json").write_text(json.dumps({"election_date": "2026-11-03"}))
    (revision,) = bucket.tick().run_requests  # the same file with new settings: re-opened, completed
    assert revision.partition_key == upload.partition_key
    bucket.tick()
    moved = folder / "processed" / upload.partition_key
    assert sorted(p.name for p in folder.iterdir()) == ["processed"]
    assert sorted(p.name for p in moved.iterdir()) == ["undated.csv", "undated.csv.json"]
    assert (moved / "undated.csv").read_bytes() == UNDATED
    assert bucket.tick().run_requests == [] and len(bucket.repo.list_uploads()) == 1  # processed/ is not looked into


def test_only_the_registered_bytes_go_and_a_debug_upload_keeps_its_file(bucket, folder):
    _drop(folder, "keep.csv", DATED.replace(b"Ann Lee", b"Bo Diaz"))
    (folder / "keep.csv.json").write_text(json.dumps({"debug": True}))
    _drop(folder, "list.csv", DATED)
    assert len(bucket.tick().run_requests) == 2  # both completed
    changed = DATED.replace(b"Ann Lee", b"Cy Young")
    path = _drop(folder, "list.csv", changed)  # a changed file under the same name, before the next tick
    os.utime(path, (SETTLED + 5, SETTLED + 5))

    (request,) = bucket.tick().run_requests  # the changed file is a new upload, and it completes

    assert (folder / "keep.csv").exists() and (folder / "keep.csv.json").exists()
    assert bucket.repo.get_upload(request.partition_key).status == "completed"
    assert (folder / "list.csv").read_bytes() == changed  # the first upload's bytes are gone: this stays
    bucket.tick()
    assert sorted(p.name for p in folder.iterdir()) == ["keep.csv", "keep.csv.json"]


def test_the_processed_files_setting_is_checked(monkeypatch):
    monkeypatch.setenv("ELEVRA_PROCESSED_FILES", "archive")
    with pytest.raises(SettingsError, match="ELEVRA_PROCESSED_FILES='archive': use delete"):
        Settings.from_env()
    monkeypatch.setenv("ELEVRA_PROCESSED_FILES", "")
    assert Settings.from_env().processed_files == "delete"


def test_the_retention_job_also_removes_an_expired_uploads_partition_workbook_and_old_outbox_files(
    repo, instance, resources, db_url, outbox
):
    """Issue 28 (housekeeping): a year of daily uploads does not grow without bound."""
    upload = register(repo, SAMPLE_XLSX, instance)
    materialize_upload(upload, instance, resources)
    workbook = Path(repo.get_upload_by_id(upload.id).workbook_path)
    outbox.mkdir(parents=True, exist_ok=True)
    old_mail, new_mail = outbox / "old.eml", outbox / "new.eml"
    old_mail.write_text("old"), new_mail.write_text("new")
    year_ago = (datetime.now(timezone.utc) - timedelta(days=365)).timestamp()
    os.utime(old_mail, (year_ago, year_ago))
    repo.update_upload(upload.id, updated_at=datetime.now(timezone.utc) - timedelta(days=365))
    assert workbook.exists() and upload.partition_key in instance.get_dynamic_partitions("uploads")

    job_resources = {
        "app": app_resource(),
        "database": DatabaseResource(url=db_url),
        "email": EmailResource(outbox_dir=str(outbox)),
    }
    assert retention_cleanup.execute_in_process(instance=instance, resources=job_resources).success

    assert repo.list_uploads() == [] and repo.count(Election) == 22  # the records stay
    assert upload.partition_key not in instance.get_dynamic_partitions("uploads")
    assert not workbook.exists() and not old_mail.exists() and new_mail.exists()


def test_each_instance_file_keeps_sensor_and_schedule_ticks_for_a_while_only():
    import yaml

    from elevra_pipeline_tests.processes import REPO_ROOT

    deploy = REPO_ROOT / "deploy"
    for path in (REPO_ROOT / "dagster.yaml", deploy / "dagster.postgres.yaml", deploy / "k8s" / "dagster.yaml"):
        retention = yaml.safe_load(path.read_text())["retention"]
        assert retention["schedule"]["purge_after_days"] == 90, path
        assert retention["sensor"]["purge_after_days"] == {"skipped": 7, "failure": 30, "success": 90}, path
    helm = yaml.safe_load((deploy / "helm" / "values.yaml").read_text())["retention"]
    assert helm["enabled"] and helm["schedule"]["purgeAfterDays"] == 90
    assert helm["sensor"]["purgeAfterDays"] == {"skipped": 7, "failure": 30, "success": 90}

"""Clean-up: raw files go after completion (unless kept for debugging) and re-runs still work;
old finished uploads are archived then deleted, while elections and candidates stay."""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from elevra_pipeline.defs.cleanup import expire_old_uploads
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline.storage.models import Candidate, Election, ModelAttempt, Notification
from elevra_pipeline_tests.helpers import materialize_upload, register


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
    assert expire_old_uploads(repo, 30, tmp_path / "archive")["uploads"] == 0  # nothing old enough
    repo.update_upload(upload.id, updated_at=datetime.now(timezone.utc) - timedelta(days=45))

    counts = expire_old_uploads(repo, 30, tmp_path / "archive")

    assert counts == {"uploads": 1, "batches": 22, "attempts": 44, "notifications": 1}
    assert [u.partition_key for u in repo.list_uploads()] == [fresh.partition_key]
    assert repo.count(ModelAttempt) == 0 and repo.count(Notification) == 0
    assert (repo.count(Election), repo.count(Candidate)) == (22, 66)
    (archive,) = (tmp_path / "archive").glob("*.jsonl")
    tables = [json.loads(line)["table"] for line in archive.read_text().splitlines()]
    assert tables.count("model_attempts") == 44 and tables[-1] == "uploads"

"""Operating it: re-runs redo only what failed, admins redo/skip/pause/cancel, the backfill schedule."""

from datetime import datetime, timezone

import dagster as dg
from openpyxl import load_workbook

from elevra_pipeline.definitions import defs
from elevra_pipeline.defs.resources import DatabaseResource, EmailResource, GeminiResource
from elevra_pipeline.defs.runs import stop_upload_runs
from elevra_pipeline.defs.schedules import upload_backfill_schedule
from elevra_pipeline.gemini.emulator.server import Faults, start_in_thread
from elevra_pipeline.notifications.notifier import Notifier
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline.storage.models import Candidate, Election
from elevra_pipeline.uploads import admin
from elevra_pipeline_tests.helpers import app_resource, local_outbox, materialize_upload, register


def flaky_resources(db_url, emulator_url):
    return {
        "database": DatabaseResource(url=db_url),
        "email": EmailResource(outbox_dir=local_outbox()),
        "gemini": GeminiResource(base_url=emulator_url, database_url=db_url, max_attempts=1, backoff_base_seconds=0.01),
    }


def calls_by_batch(repo, upload_id):
    counts = {}
    for a in repo.attempts(upload_id):
        counts[a.batch_id] = counts.get(a.batch_id, 0) + 1
    return counts


def test_rematerializing_retries_only_the_batches_that_failed(repo, instance, db_url, resources):
    flaky = start_in_thread(faults=Faults.parse("503=0.4,seed=3"))
    upload = register(repo, SAMPLE_XLSX, instance)
    try:
        materialize_upload(upload, instance, flaky_resources(db_url, flaky.base_url))
    finally:
        flaky.shutdown()
    failed = {b.id for b in repo.batches(upload.id, ("waiting_for_model",))}  # 503s: the model's fault, not the file's
    before = calls_by_batch(repo, upload.id)
    assert 0 < len(failed) < 22 and repo.batches(upload.id, ("needs_reupload",)) == []

    materialize_upload(upload, instance, resources)  # healthy emulator now

    after = calls_by_batch(repo, upload.id)
    changed = {batch_id for batch_id in after if after[batch_id] != before.get(batch_id)}
    assert changed == failed
    assert {b.status for b in repo.batches(upload.id)} == {"inserted"}
    assert (repo.count(Election), repo.count(Candidate)) == (22, 66)


def test_an_admin_can_redo_one_batch_or_skip_one_with_a_reason(repo, instance, resources):
    upload = register(repo, SAMPLE_XLSX, instance)
    materialize_upload(upload, instance, resources)
    first, second = repo.batches(upload.id)[:2]
    admin.redo_batch(repo, upload.id, first.batch_key, "party names were wrong")
    admin.skip_batch(repo, upload.id, second.batch_key, "duplicate of another upload")
    before = calls_by_batch(repo, upload.id)

    materialize_upload(upload, instance, resources)

    after = calls_by_batch(repo, upload.id)
    assert after[first.id] == before[first.id] + 2 and after[second.id] == before[second.id]
    assert {k: v for k, v in after.items() if k not in (first.id,)} == {
        k: v for k, v in before.items() if k != first.id
    }
    assert repo.get_batch(first.id).status == "inserted" and repo.get_batch(second.id).status == "skipped"
    assert repo.count(Election) == 22  # nothing duplicated
    done = repo.get_upload(upload.partition_key)
    rows = list(load_workbook(done.workbook_path)["Needs Re-upload"].iter_rows(min_row=2, values_only=True))
    assert rows and all(r[4] == "skipped" and r[6] == "skipped by an admin: duplicate of another upload" for r in rows)


def test_pause_stops_model_work_and_resume_finishes_it(repo, instance, resources):
    upload = register(repo, SAMPLE_XLSX, instance)
    admin.set_paused(repo, None, True)
    paused = materialize_upload(upload, instance, resources)
    assert paused.success and repo.attempts(upload.id) == []
    assert {e.asset_key.to_user_string() for e in paused.get_asset_materialization_events()} == {"upload_batches"}
    admin.set_paused(repo, None, False)
    admin.set_paused(repo, upload.id, True)
    assert materialize_upload(upload, instance, resources) and repo.attempts(upload.id) == []
    admin.set_paused(repo, upload.id, False)
    materialize_upload(upload, instance, resources)
    assert repo.get_upload(upload.partition_key).status == "completed"


def test_cancel_marks_unfinished_batches_and_tells_the_uploader(repo, instance, resources, local_data):
    upload = register(repo, SAMPLE_XLSX, instance, "ann@example.org")
    notifier = Notifier(repo, EmailResource(outbox_dir=local_outbox()), "team@elevracommunity.com")
    message = admin.cancel_upload(repo, upload.id, notifier, stop_upload_runs(instance), "wrong county")
    materialize_upload(upload, instance, resources)
    assert "cancelled" in message and repo.attempts(upload.id) == []
    assert repo.get_upload(upload.partition_key).status == "cancelled"
    names = sorted(p.name.split("--")[1] for p in (local_data / "outbox").glob("*.eml"))
    assert names == ["upload-1-cancelled-team.eml", "upload-1-cancelled.eml"]


def test_backfill_schedule_requests_failed_missing_and_model_retryable_uploads(
    repo, instance, db_url, resources, tmp_path
):
    complete = register(repo, SAMPLE_XLSX, instance)
    materialize_upload(complete, instance, resources)
    missing_path = tmp_path / "never-run.csv"
    missing_path.write_text("Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\n")
    missing = register(repo, missing_path, instance)
    flaky_path = tmp_path / "flaky.csv"
    flaky_path.write_text("Candidate,Office,City,Date\nBo Chan,Clerk,Springfield,2026-11-03\n")
    flaky_upload = register(repo, flaky_path, instance)
    broken = start_in_thread(faults=Faults.parse("503=1.0"))
    try:
        materialize_upload(flaky_upload, instance, flaky_resources(db_url, broken.base_url))
    finally:
        broken.shutdown()
    corrupt_path = tmp_path / "corrupt.xlsx"
    corrupt_path.write_bytes(b"PK\x03\x04junk")
    corrupt = register(repo, corrupt_path, instance)
    materialize_upload(corrupt, instance, resources, raise_on_error=False)

    with dg.build_schedule_context(
        instance=instance,
        repository_def=defs.get_repository_def(),
        resources={"app": app_resource(), "database": DatabaseResource(url=db_url)},
        scheduled_execution_time=datetime(2026, 11, 23, 3, tzinfo=timezone.utc),
    ) as context:
        requests = upload_backfill_schedule.evaluate_tick(context).run_requests

    by_key = {r.partition_key: r for r in requests}
    assert set(by_key) == {missing.partition_key, flaky_upload.partition_key}
    assert by_key[missing.partition_key].tags["elevra/backfill_reason"] == "no result workbook yet"
    assert "analysis" in by_key[flaky_upload.partition_key].tags["elevra/backfill_reason"]
    assert all(r.tags["elevra/kind"] == "backfill" and r.tags["dagster/priority"] == "-1" for r in requests)
    assert all(r.run_key == f"backfill-{r.partition_key}-20261123T0300" for r in requests)


def test_cancel_also_stops_batches_waiting_for_a_model(repo, instance, resources):
    upload = register(repo, SAMPLE_XLSX, instance)
    materialize_upload(upload, instance, resources)
    waiting = repo.batches(upload.id)[:2]
    for batch in waiting:
        repo.update_batch(batch.id, status="waiting_for_model", inserted_json=None)
    repo.update_upload(upload.id, status="waiting_for_model")
    admin.cancel_upload(repo, upload.id, None, None, "wrong county")
    assert {repo.get_batch(b.id).status for b in waiting} == {"cancelled"}
    assert repo.get_upload_by_id(upload.id).status == "cancelled"

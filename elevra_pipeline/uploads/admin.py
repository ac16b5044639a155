"""Admin actions on uploads and batches, shared by the CLI and the `upload_admin` Dagster job.

Each first asks the upload's state whether it allows the action (`uploads.transitions`): one table for
the CLI, the job and the API. `cancel_upload` is given `stop_runs(partition_key) -> runs stopped` by its
caller (the Dagster layer's `defs.runs.stop_upload_runs`): this module does not know Dagster."""

import time
from typing import Callable

from elevra_pipeline.exceptions import ElevraError, ModelCallError
from elevra_pipeline.gemini.batch_jobs import GeminiBatches, JobState
from elevra_pipeline.notifications.notifier import Notifier
from elevra_pipeline.notifications.webhook import queue_changes
from elevra_pipeline.records.revert import revert_label, revert_upload
from elevra_pipeline.storage.batch_rules import FINISHED, BatchStatus, UploadStatus
from elevra_pipeline.storage.files import FileStore
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads.batch_stage import job_owner
from elevra_pipeline.uploads.revision import revision_entry
from elevra_pipeline.uploads.transitions import AdminAction, check


def allowed_upload(repo: Repository, upload_id: int, action: AdminAction):
    """The upload, when it exists and its state allows `action`; else ElevraError saying why not."""
    upload = repo.get_upload_by_id(upload_id)
    if upload is None:
        raise ElevraError(f"no upload with id {upload_id}")
    check(upload, action, repo.gave_records(upload_id) if action == AdminAction.REVERT else True)
    return upload


def _batch(repo: Repository, upload_id: int, batch_key: str, action: AdminAction):
    allowed_upload(repo, upload_id, action)
    batch = repo.find_batch(upload_id, batch_key)
    if batch is None:
        raise ElevraError(f"upload {upload_id} has no batch '{batch_key}' (see `elevra-pipeline status {upload_id}`)")
    return batch


def redo_batch(repo: Repository, upload_id: int, batch_key: str, note: str = "") -> str:
    """Forget the batch's model outputs so the next materialization redoes it from the start."""
    batch = _batch(repo, upload_id, batch_key, AdminAction.REDO)
    repo.update_batch(
        batch.id,
        status=BatchStatus.PENDING,
        error_reason=None,
        analysis_json=None,
        structured_json=None,
        inserted_json=None,
        analysis_model=None,
        structure_model=None,
        fallback_note=None,
        admin_note=f"redo requested{': ' + note if note else ''}",
    )
    repo.update_upload(upload_id, status=UploadStatus.PROCESSING)
    return f"batch {batch_key} of upload {upload_id} will be redone on the next materialization"


def skip_batch(repo: Repository, upload_id: int, batch_key: str, reason: str, by: str = "an admin") -> str:
    """The race is done with, by `by`'s decision: every view says "skipped by NAME", none counts it as
    needing re-upload."""
    if not reason:
        raise ElevraError("skipping a batch needs a reason (--reason)")
    batch = _batch(repo, upload_id, batch_key, AdminAction.SKIP)
    repo.update_batch(
        batch.id,
        status=BatchStatus.SKIPPED,
        error_reason=f"skipped by {by}: {reason}",
        admin_note=f"skipped by {by}: {reason}",
    )
    return f"batch {batch_key} of upload {upload_id} skipped by {by}: {reason}"


def reopen_upload(repo: Repository, upload_id: int, note: str = "", files: FileStore | None = None) -> str:
    """An upload whose file is still stored (rejected, failed, or with races that need a fix) is read
    again on its next materialization: the `upload_admin` job's `retry` (the CLI's `retry ID` also
    runs it, and takes new settings)."""
    upload = allowed_upload(repo, upload_id, AdminAction.RETRY)
    if not (files or FileStore({})).exists(upload.stored_path):
        raise ElevraError(
            f"the file of upload {upload_id} was removed once all its races were inserted: send "
            f"'{upload.original_filename}' again (the same file with new settings re-opens the upload)"
        )
    history = list((upload.summary_json or {}).get("revisions", []))
    history.append(revision_entry(len(history) + 2, {"retry": note or "read again"}, "admin"))
    repo.update_upload(upload_id, status=UploadStatus.QUEUED, failure_reason=None)
    repo.merge_summary(upload_id, revisions=history)
    return (
        f"upload {upload_id} will be read again: materialize its partition {upload.partition_key} "
        "(Assets → result_workbook → the partition → Materialize)"
    )


def revert(
    repo: Repository, upload_id: int, note: str = "", webhook_url: str | None = None, notifier: Notifier | None = None
) -> str:
    """Undo what the upload did to the records (records.revert); the upload is `reverted` after."""
    upload = allowed_upload(repo, upload_id, AdminAction.REVERT)
    counts = revert_upload(repo, upload)
    history = list((upload.summary_json or {}).get("revisions", []))
    history.append(revision_entry(len(history) + 2, {"revert": note or "its changes undone", **counts}, "admin"))
    repo.update_upload(upload_id, status=UploadStatus.REVERTED)
    repo.merge_summary(upload_id, revisions=history, reverted=counts)
    queue_changes(
        repo, repo.get_upload_by_id(upload_id), webhook_url, repo.changes_labelled(revert_label(upload)), "revert"
    )
    if notifier is not None:  # the uploader and the team: the records their e-mails described changed
        notifier.notify(repo.get_upload_by_id(upload_id), "reverted", extra={**counts, "note": note})
        notifier.deliver_due()
    return (
        f"upload {upload_id} reverted: {counts['restored']} value(s) restored, {counts['removed']} record(s) only it "
        f"gave removed, {counts['kept_later_value']} value(s) left as a later upload changed them"
    )


def set_paused(repo: Repository, upload_id: int | None, paused: bool) -> str:
    if upload_id is None:
        repo.set_control("pause_all", "paused" if paused else None)
        return f"model work {'paused' if paused else 'resumed'} for all uploads"
    allowed_upload(repo, upload_id, AdminAction.PAUSE if paused else AdminAction.RESUME)
    repo.update_upload(upload_id, paused=paused)
    return f"model work {'paused' if paused else 'resumed'} for upload {upload_id}" + (
        "; materialize its partition again (or wait for the backfill schedule) to continue" if not paused else ""
    )


def cancel_batch_jobs(repo: Repository, upload_id: int, batches: GeminiBatches | None, now: float) -> int:
    """The upload's Batch API jobs still open are cancelled at Gemini (when it can be reached) and closed
    here, their batches released, so nothing waits for them and the sensor stops polling them."""
    closed = 0
    for job in repo.batch_jobs(upload_id):
        if job.applied_at is not None:
            continue
        if batches is not None and job.name and job.ended_at is None:
            try:
                batches.cancel(job.name)
            except ModelCallError:
                pass  # Google ends it anyway (expiry); its answers are never applied
        repo.update_batch_job(
            job.id, state=JobState.CANCELLED if job.ended_at is None else job.state, ended_at=job.ended_at or now,
            applied_at=now, error="upload cancelled",
        )  # fmt: skip
        repo.release_batches(job.batch_ids, job_owner(job.key))
        closed += 1
    return closed


def cancel_upload(
    repo: Repository,
    upload_id: int,
    notifier: Notifier | None,
    stop_runs: Callable[[str], int] | None,
    reason: str = "",
    batches: GeminiBatches | None = None,
) -> str:
    upload = allowed_upload(repo, upload_id, AdminAction.CANCEL)
    repo.update_upload(
        upload_id,
        status=UploadStatus.CANCELLED,
        failure_reason=f"cancelled by an admin{': ' + reason if reason else ''}",
    )
    cancelled = 0
    for batch in [b for b in repo.batches(upload_id) if b.status not in FINISHED]:  # waiting ones too
        repo.update_batch(batch.id, status=BatchStatus.CANCELLED, error_reason="upload cancelled")
        cancelled += 1
    jobs = cancel_batch_jobs(repo, upload_id, batches, time.time())
    terminated = stop_runs(upload.partition_key) if stop_runs is not None else 0
    if notifier is not None:
        notifier.notify(repo.get_upload_by_id(upload_id), "cancelled")
        notifier.deliver_due()
    return f"upload {upload_id} cancelled: {cancelled} unfinished batch(es) cancelled, {terminated} run(s) stopped" + (
        f", {jobs} Batch API job(s) cancelled" if jobs else ""
    )

"""What a stored election batch needs next: the rules the assets, sensors and schedules share."""

from enum import StrEnum


class BatchStatus(StrEnum):
    PENDING = "pending"
    ANALYZED = "analyzed"
    STRUCTURED = "structured"
    INSERTED = "inserted"
    NEEDS_REUPLOAD = "needs_reupload"  # only for reasons in the data
    # the model was down, out of quota, or its answers kept failing the checks: retried without the uploader
    WAITING_FOR_MODEL = "waiting_for_model"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"  # a revision of the upload put its rows in other batches (history only)


class UploadStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    WAITING_FOR_MODEL = "waiting_for_model"  # some batches wait for a model outage to end; not complete
    BLOCKED = "blocked_configuration"  # batches wait for the team to fix Gemini's key, billing or request
    COMPLETED = "completed"
    COMPLETED_WITH_FAILURES = "completed_with_failures"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    REVERTED = "reverted"  # its changes to the records were undone (`revert ID`)
    AWAITING_APPROVAL = "awaiting_approval"  # in review: its changes are staged until `approve ID`


class Fault(StrEnum):
    """Who must act when a batch gives up on a stage (a batch's `failure_kind`; quotas.failures decides it)."""

    DATA = "data"  # the rows: only a new upload helps (needs re-upload, with the reason)
    MODEL = "model"  # the answers kept failing the checks on every model: the team is told, the batch waits
    OUTAGE = "outage"  # the model was down, out of quota or retired with no other model left: waits
    CONFIGURATION = "configuration"  # our key, billing or request: the team fixes it, the upload waits


FailureKind = Fault  # a batch's failure_kind: data, model, outage or configuration


COMPLETE = (UploadStatus.COMPLETED, UploadStatus.COMPLETED_WITH_FAILURES)
# an upload nothing more happens to unless someone acts: what retention may expire, the live view's end
ENDED = (
    *COMPLETE,
    UploadStatus.FAILED,
    UploadStatus.REJECTED,
    UploadStatus.CANCELLED,
    UploadStatus.REVERTED,
)
WAITING = (UploadStatus.WAITING_FOR_MODEL, UploadStatus.BLOCKED)  # the recovery sensor resumes these
OPEN = (BatchStatus.PENDING, BatchStatus.NEEDS_REUPLOAD, BatchStatus.WAITING_FOR_MODEL)
FINISHED = (BatchStatus.INSERTED, BatchStatus.NEEDS_REUPLOAD, BatchStatus.SKIPPED, BatchStatus.CANCELLED)


def failed_on_data(batch) -> bool:
    return batch.status == BatchStatus.NEEDS_REUPLOAD and (
        batch.failure_kind == FailureKind.DATA
        or bool(batch.analysis_json and not batch.analysis_json.get("can_structure"))
    )


def waiting_for_model(batch) -> bool:
    return batch.status == BatchStatus.WAITING_FOR_MODEL


def waits_for_the_models_answers(batch) -> bool:
    """The batch waits because the model's answers kept failing our checks on every model of the chain."""
    return waiting_for_model(batch) and batch.failure_kind == FailureKind.MODEL


def blocked_by_configuration(batch) -> bool:
    """The batch waits for the team to fix Gemini's key, billing or request settings."""
    return waiting_for_model(batch) and batch.failure_kind == FailureKind.CONFIGURATION


def needs_analysis(batch) -> bool:
    return batch.analysis_json is None and batch.status in OPEN and not failed_on_data(batch)


def needs_structure(batch) -> bool:
    return (
        batch.structured_json is None
        and not failed_on_data(batch)
        and (batch.status == BatchStatus.ANALYZED or (batch.status in OPEN[1:] and bool(batch.analysis_json)))
    )


def model_retryable(batch) -> str | None:
    """The stage a batch failed or waits in for model reasons (not data reasons), if any."""
    if batch.status not in OPEN[1:] or failed_on_data(batch):
        return None
    return "analysis" if needs_analysis(batch) else "structure" if needs_structure(batch) else None


def stage_outcome(batch, stage: str) -> str:
    """Where a batch stands in `stage` ("analysis" or "structure"): ok, failed, waiting, todo or skipped."""
    analysed = bool(batch.analysis_json) and bool(batch.analysis_json.get("can_structure"))
    if stage == "analysis":
        if batch.analysis_json is not None:
            return "ok" if analysed else "failed"
        before = batch.failure_kind == FailureKind.DATA or batch.status in (BatchStatus.SKIPPED, BatchStatus.CANCELLED)
    else:
        if batch.structured_json is not None:
            return "ok"
        before = not analysed
    if before:
        return "skipped"
    return {BatchStatus.NEEDS_REUPLOAD: "failed", BatchStatus.WAITING_FOR_MODEL: "waiting"}.get(batch.status, "todo")


def upload_status(upload, batches) -> UploadStatus:
    """An upload is complete only when every batch is finished; waiting on a model is not finished."""
    kept = (
        UploadStatus.CANCELLED,
        UploadStatus.REJECTED,
        UploadStatus.FAILED,
        UploadStatus.REVERTED,
        UploadStatus.AWAITING_APPROVAL,
    )
    if upload.status in kept:
        return UploadStatus(upload.status)  # cancelled, reverted, in review, or a file that cannot be used
    if any(blocked_by_configuration(b) for b in batches):
        return UploadStatus.BLOCKED
    if any(waiting_for_model(b) for b in batches):
        return UploadStatus.WAITING_FOR_MODEL
    if any(b.status not in FINISHED for b in batches):
        return UploadStatus.PROCESSING
    if all(b.status == BatchStatus.INSERTED for b in batches):
        return UploadStatus.COMPLETED
    return UploadStatus.COMPLETED_WITH_FAILURES


def race_of(batch) -> str:
    """A batch as people name it: 'Springfield Mayor, District 4, 2026-11-03' (not its key)."""
    label = " ".join(p for p in (batch.jurisdiction, batch.office) if p) or batch.batch_key
    return ", ".join(p for p in (label, batch.district, batch.election_date) if p)


def reason_kind(reason: str | None) -> str:
    """A reason without its advice ('no election date'), for counting the batches that share it."""
    return (reason or "no reason recorded").split(":")[0].split(" (")[0].strip()


RESENT = "resent"  # the failure_kind of a superseded batch whose races the uploader sent again in another upload


def sent_again(batch) -> bool:
    """A race that needed a fix and came back fixed in another upload (a result workbook sent back)."""
    return batch.status == BatchStatus.SUPERSEDED and batch.failure_kind == RESENT

"""The one rule that says where an upload stands, for every view: the page, the API's documents and
list, `elevra-pipeline status` and the e-mails all show what `shown_state` decides, so none of them
says `completed` while another says it needs a fix.

It reads the upload's stored status (`storage.batch_rules.UploadStatus`, the lifecycle the admin
actions of `uploads.transitions` move) and its batches counted by status. A reverted upload is
reverted, never completed; a race an admin skipped is done with (the upload is completed with skipped
races), not a race that needs re-upload; an upload none of whose races could be inserted needs a fix.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from enum import StrEnum

from pydantic import BaseModel

from elevra_pipeline.storage.batch_rules import BatchStatus as B
from elevra_pipeline.storage.batch_rules import UploadStatus as S


class ShownState(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    NEEDS_FIX = "needs_fix"
    WAITING_FOR_MODEL = "waiting_for_model"
    AWAITING_APPROVAL = "awaiting_approval"
    COMPLETED = "completed"
    COMPLETED_WITH_SKIPPED = "completed_with_skipped_races"
    REVERTED = "reverted"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Tone(StrEnum):
    """How a view colours it: done (green), working (blue), attention (orange), ended (grey)."""

    DONE = "done"
    WORKING = "working"
    ATTENTION = "attention"
    ENDED = "ended"


LABELS = {
    ShownState.QUEUED: "queued",
    ShownState.PROCESSING: "processing",
    ShownState.NEEDS_FIX: "needs a fix",
    ShownState.WAITING_FOR_MODEL: "waiting for the model",
    ShownState.AWAITING_APPROVAL: "awaiting approval",
    ShownState.COMPLETED: "completed",
    ShownState.COMPLETED_WITH_SKIPPED: "completed with skipped races",
    ShownState.REVERTED: "reverted",
    ShownState.REJECTED: "rejected",
    ShownState.CANCELLED: "cancelled",
}
TONES = {
    ShownState.QUEUED: Tone.WORKING,
    ShownState.PROCESSING: Tone.WORKING,
    ShownState.WAITING_FOR_MODEL: Tone.WORKING,
    ShownState.NEEDS_FIX: Tone.ATTENTION,
    ShownState.AWAITING_APPROVAL: Tone.ATTENTION,
    ShownState.REJECTED: Tone.ATTENTION,
    ShownState.COMPLETED: Tone.DONE,
    ShownState.COMPLETED_WITH_SKIPPED: Tone.DONE,
    ShownState.REVERTED: Tone.ENDED,
    ShownState.CANCELLED: Tone.ENDED,
}
KEPT = {  # what an admin or the file decided holds whatever the batches say
    S.CANCELLED: ShownState.CANCELLED,
    S.REJECTED: ShownState.REJECTED,
    S.FAILED: ShownState.REJECTED,  # its file cannot be used, found while reading it
    S.REVERTED: ShownState.REVERTED,
    S.AWAITING_APPROVAL: ShownState.AWAITING_APPROVAL,
}
UNFINISHED = (B.PENDING, B.ANALYZED, B.STRUCTURED)


class UploadState(BaseModel):
    state: ShownState
    label: str  # as a person reads it: "needs a fix", "completed with skipped races (paused)"
    tone: Tone


def shown_state(status: str, by_status: Mapping[str, int]) -> ShownState:
    """`by_status`: the upload's current batches (not superseded ones) counted by batch status."""
    if (kept := KEPT.get(S(status))) is not None:
        return kept
    if by_status.get(B.WAITING_FOR_MODEL):
        return ShownState.WAITING_FOR_MODEL
    if status == S.QUEUED:
        return ShownState.QUEUED
    if status == S.PROCESSING and not sum(by_status.values()):
        return ShownState.PROCESSING  # the file is being read
    if any(by_status.get(s) for s in UNFINISHED):
        return ShownState.PROCESSING
    if by_status.get(B.NEEDS_REUPLOAD):
        return ShownState.NEEDS_FIX
    if by_status.get(B.SKIPPED):
        return ShownState.COMPLETED_WITH_SKIPPED
    return ShownState.COMPLETED


def state_of(status: str, by_status: Mapping[str, int], paused: bool = False) -> UploadState:
    state = shown_state(status, by_status)
    return UploadState(state=state, label=LABELS[state] + (" (paused)" if paused else ""), tone=TONES[state])


def upload_state(upload, batches: Iterable) -> UploadState:
    """The rule applied to an upload and its batches as stored."""
    counted = Counter(str(b.status) for b in batches if b.status != B.SUPERSEDED)
    return state_of(upload.status, counted, bool(upload.paused))


def skipped_by(batch) -> str | None:
    """Who skipped a race and why ('skipped by ann: a duplicate'), None when it was not skipped."""
    if batch.status != B.SKIPPED:
        return None
    return batch.error_reason or "skipped by an admin"

"""Which admin action an upload allows in each of its states: one table, read by the command line, the
`upload_admin` job and the HTTP API alike (through the functions of `uploads.admin` and `uploads.review`).

An action outside the table is refused with a sentence that says why and what to do instead: a revert
of an upload that published nothing (a discarded one), an approval of one that is not in review, a
retry of a cancelled one. `revert` also needs records to undo: the upload must have published some.
"""

from enum import StrEnum

from elevra_pipeline.exceptions import ElevraError
from elevra_pipeline.storage.batch_rules import UploadStatus as S


class AdminAction(StrEnum):
    REDO = "redo"  # a batch, from the start
    SKIP = "skip"  # a batch, with a reason
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    RETRY = "retry"  # read the stored file again
    REVERT = "revert"  # undo what it did to the records
    APPROVE = "approve"  # publish what it staged in review
    DISCARD = "discard"  # drop what it staged in review


_WORKING = {S.QUEUED, S.PROCESSING, S.WAITING_FOR_MODEL, S.BLOCKED}
ALLOWED: dict[AdminAction, frozenset[S]] = {
    AdminAction.REDO: frozenset(_WORKING | {S.COMPLETED, S.COMPLETED_WITH_FAILURES, S.AWAITING_APPROVAL}),
    AdminAction.SKIP: frozenset(_WORKING | {S.COMPLETED_WITH_FAILURES, S.AWAITING_APPROVAL}),
    AdminAction.PAUSE: frozenset(_WORKING),
    AdminAction.RESUME: frozenset(_WORKING),
    AdminAction.CANCEL: frozenset(_WORKING | {S.COMPLETED_WITH_FAILURES, S.FAILED, S.REJECTED}),
    AdminAction.RETRY: frozenset(
        {S.QUEUED, S.WAITING_FOR_MODEL, S.BLOCKED, S.COMPLETED, S.COMPLETED_WITH_FAILURES, S.FAILED, S.REJECTED}
    ),
    AdminAction.REVERT: frozenset(set(S) - {S.PROCESSING, S.REVERTED, S.AWAITING_APPROVAL}),  # and published
    AdminAction.APPROVE: frozenset({S.AWAITING_APPROVAL}),
    AdminAction.DISCARD: frozenset({S.AWAITING_APPROVAL}),
}
NEEDS_PUBLISHED = frozenset({AdminAction.REVERT})

STATE = {
    S.QUEUED: "is queued",
    S.PROCESSING: "is being processed",
    S.WAITING_FOR_MODEL: "is waiting for a model",
    S.BLOCKED: "is waiting for the team to fix Gemini's configuration",
    S.COMPLETED: "has completed",
    S.COMPLETED_WITH_FAILURES: "has completed, with races that need a fix",
    S.FAILED: "failed (its file cannot be used)",
    S.REJECTED: "was rejected (its file cannot be used)",
    S.CANCELLED: "was cancelled",
    S.REVERTED: "was reverted",
    S.AWAITING_APPROVAL: "awaits approval (its records are staged, not published)",
}
ADVICE = {  # what to do instead, where the refusal alone would leave the admin guessing
    AdminAction.REVERT: "revert undoes the records an upload published",
    AdminAction.APPROVE: "only an upload in review (awaiting approval) can be approved",
    AdminAction.DISCARD: "only the staged records of an upload in review (awaiting approval) can be discarded",
    (AdminAction.RETRY, S.CANCELLED): "send the file again instead",
    (AdminAction.RETRY, S.REVERTED): "send the file again instead",
    (AdminAction.RETRY, S.PROCESSING): "wait for its run to end",
    (AdminAction.RETRY, S.AWAITING_APPROVAL): "approve or discard it first",
    (AdminAction.REVERT, S.PROCESSING): "wait for its run to end, or cancel it first",
    (AdminAction.REVERT, S.AWAITING_APPROVAL): "discard drops its staged records",
    (AdminAction.CANCEL, S.COMPLETED): "revert undoes its records",
    (AdminAction.CANCEL, S.AWAITING_APPROVAL): "discard drops its staged records",
    (AdminAction.SKIP, S.COMPLETED): "every race is done; redo one to do it again",
}


def refusal(upload_id: int, status: str, action: AdminAction, published: bool = True) -> str | None:
    """None when `action` is allowed for an upload in `status` (`published`: it gave records that are
    in the database now); else the sentence that refuses it."""
    state = S(status)
    if state in ALLOWED[action] and (published or action not in NEEDS_PUBLISHED):
        return None
    said = STATE[state]
    if state in ALLOWED[action]:  # the state allows it, but there is nothing to act on
        said += " and published no records"
    advice = ADVICE.get((action, state)) or ADVICE.get(action)
    return f"{action} refused: upload {upload_id} {said}" + (f"; {advice}" if advice else "")


def check(upload, action: AdminAction, published: bool = True) -> None:
    """Raises ElevraError with the refusal when the upload's state does not allow `action`."""
    if (sentence := refusal(upload.id, upload.status, action, published)) is not None:
        raise ElevraError(sentence)


def choices(upload_id: int, status: str, published: bool = True) -> dict[str, str | None]:
    """Every action -> None when the upload's state allows it, else the sentence that refuses it: what
    the page reads to show a button or say why it is not there."""
    return {str(action): refusal(upload_id, status, action, published) for action in AdminAction}

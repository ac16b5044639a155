"""Admin actions: the functions the CLI and the `upload_admin` job call (uploads/admin.py, uploads/review.py),
each recorded with who took it; one the upload's state does not allow (uploads/transitions.py) is a 409
with the sentence that refuses it. Those after which the upload's work goes on (redo, skip, resume, retry,
approve) have its partition run again, and a cancel has its runs stopped, by the `api_request_sensor`."""

from collections.abc import Callable

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from elevra_pipeline.api.actions import Action, ActionLog
from elevra_pipeline.api.auth import Actor
from elevra_pipeline.api.routes_uploads import PRINTABLE, existing
from elevra_pipeline.api.security import admin, services
from elevra_pipeline.api.services import ApiServices
from elevra_pipeline.exceptions import ElevraError
from elevra_pipeline.storage.models import Upload
from elevra_pipeline.uploads import admin as actions
from elevra_pipeline.uploads import review

router = APIRouter(tags=["admin actions"])
NO_NUL = r"^[^\x00]*$"  # PostgreSQL refuses a NUL in text


class Reason(BaseModel):
    reason: str = Field(
        "", max_length=2000, pattern=NO_NUL, description="why; recorded on the batch or in the upload's history"
    )


class NeededReason(BaseModel):
    reason: str = Field(
        min_length=1, max_length=2000, pattern=NO_NUL, description="why the batch is skipped (required)"
    )


def _why(body: Reason | None) -> str:
    return body.reason if body else ""


def _take(api: ApiServices, actor: Actor, action: Action, upload: Upload, do: Callable[[], str], **what) -> dict:
    log = ActionLog(api.repo)
    try:
        message = do()
    except ElevraError as e:
        log.record(actor, action, upload.id, str(e), ok=False, **what)
        raise HTTPException(409, str(e)) from None
    number = log.record(actor, action, upload.id, message, wants_run=action.needs_run, **what)
    follows = (
        "its partition's run is requested"
        if action.needs_run
        else "its runs are stopped"
        if action == Action.CANCEL
        else None
    )
    return {
        "action": action,
        "upload_id": upload.id,
        "message": message,
        "then": follows,
        "by": actor.name,
        "id": number,
    }


def _batch(api: ApiServices, upload: Upload, batch_key: str) -> str:
    if api.repo.find_batch(upload.id, batch_key) is None:
        raise HTTPException(404, f"upload {upload.id} has no batch '{batch_key}'")
    return batch_key


BATCH_KEY = PathParam(
    min_length=1, max_length=200, pattern=PRINTABLE, description="the batch's key (`status ID` lists them)"
)


@router.post("/uploads/{upload_id}/batches/{batch_key}/redo", summary="Redo a batch from the start")
def redo(
    batch_key: str = BATCH_KEY,
    body: Reason | None = None,
    actor: Actor = Depends(admin),
    upload: Upload = Depends(existing),
    api: ApiServices = Depends(services),
) -> dict:
    key = _batch(api, upload, batch_key)
    do = lambda: actions.redo_batch(api.repo, upload.id, key, _why(body))  # noqa: E731
    return _take(api, actor, Action.REDO, upload, do, batch_key=key, reason=_why(body))


@router.post("/uploads/{upload_id}/batches/{batch_key}/skip", summary="Skip a batch, with a reason")
def skip(
    body: NeededReason,
    batch_key: str = BATCH_KEY,
    actor: Actor = Depends(admin),
    upload: Upload = Depends(existing),
    api: ApiServices = Depends(services),
) -> dict:
    key = _batch(api, upload, batch_key)
    do = lambda: actions.skip_batch(api.repo, upload.id, key, body.reason, actor.name)  # noqa: E731
    return _take(api, actor, Action.SKIP, upload, do, batch_key=key, reason=body.reason)


def _upload_action(action: Action, summary: str, do: Callable[[ApiServices, Upload, str], str]) -> None:
    """`POST /uploads/{upload_id}/<action>`: the action on the whole upload, with an optional reason."""

    def take(
        body: Reason | None = None,
        actor: Actor = Depends(admin),
        upload: Upload = Depends(existing),
        api: ApiServices = Depends(services),
    ) -> dict:
        why = _why(body)
        return _take(api, actor, action, upload, lambda: do(api, upload, why), reason=why)

    router.post(f"/uploads/{{upload_id}}/{action}", summary=summary, name=str(action))(take)


_upload_action(
    Action.PAUSE,
    "Pause the upload's model work",
    lambda api, upload, why: actions.set_paused(api.repo, upload.id, True),
)
_upload_action(
    Action.RESUME,
    "Resume the upload's model work (its run is requested)",
    lambda api, upload, why: actions.set_paused(api.repo, upload.id, False),
)
_upload_action(
    Action.CANCEL,
    "Cancel the upload: its unfinished batches, runs and Batch API jobs",
    lambda api, upload, why: actions.cancel_upload(api.repo, upload.id, api.notifier(), None, why, api.batches),
)
_upload_action(
    Action.RETRY,
    "Read the upload's stored file again (its run is requested)",
    lambda api, upload, why: actions.reopen_upload(api.repo, upload.id, why, files=api.files()),
)
_upload_action(
    Action.REVERT,
    "Undo what a published upload did to the records (the uploader and the team are told)",
    lambda api, upload, why: actions.revert(api.repo, upload.id, why, api.settings.webhook_url, api.notifier()),
)
_upload_action(
    Action.APPROVE,
    "Publish the records an upload in review staged (its run is requested)",
    lambda api, upload, why: review.approve(api.repo, upload.id, why),
)
_upload_action(
    Action.DISCARD,
    "Drop the records an upload in review staged: nothing is published",
    lambda api, upload, why: review.discard(api.repo, upload.id, why),
)

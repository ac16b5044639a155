"""Uploads: send one (its id comes back at once), list them, read one, follow it live, get its workbook."""

import asyncio
from collections.abc import AsyncIterable
from math import ceil

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent

from elevra_pipeline.api.actions import Action, ActionLog
from elevra_pipeline.api.auth import Actor
from elevra_pipeline.api.progress import snapshot
from elevra_pipeline.api.receiving import UPLOAD_BODY, ReceiveError, receive_upload
from elevra_pipeline.api.security import admin, services, viewer
from elevra_pipeline.api.services import XLSX, ApiServices
from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.storage.batch_rules import UploadStatus
from elevra_pipeline.storage.models import Upload
from elevra_pipeline.uploads.listing import uploads_page
from elevra_pipeline.uploads.review import changes_shown
from elevra_pipeline.uploads.status import status_document

router = APIRouter(tags=["uploads"])
MAX_PAGE = 1_000_000  # a page number past any list (and within every database's integers)
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no NUL or other control character (PostgreSQL refuses a NUL in text)
MAX_ID = 2**31 - 1  # PostgreSQL's integer: a larger id is a 422, never an overflow in the database


def links(request: Request, upload_id: int) -> dict:
    base = f"{request.scope.get('root_path', '')}/uploads/{upload_id}"
    return {"status_url": base, "events_url": f"{base}/events", "workbook_url": f"{base}/workbook"}


def existing(
    upload_id: int = PathParam(ge=1, le=MAX_ID, description="an upload's id"), api: ApiServices = Depends(services)
) -> Upload:
    upload = api.repo.get_upload_by_id(upload_id)
    if upload is None:
        raise HTTPException(404, f"no upload with id {upload_id}")
    return upload


@router.post(
    "/uploads",
    status_code=202,
    openapi_extra=UPLOAD_BODY,
    summary="Send a spreadsheet (multipart: `file` and the sidecar's settings); its id comes back at once",
    responses={
        200: {"description": "the same file with the same settings: already known, nothing new to do"},
        413: {"description": "above the size limit for one upload (refused while streaming)"},
        422: {"description": "a setting is invalid (nothing registered), or the file cannot be used (rejected)"},
    },
)
async def send_upload(request: Request, actor: Actor = Depends(admin), api: ApiServices = Depends(services)):
    try:
        received = await receive_upload(request, api.staging_dir(), api.max_file_bytes)
    except ReceiveError as e:
        raise HTTPException(e.status_code, f"{e.reason}; nothing was registered") from None
    try:
        registration = await run_in_threadpool(api.register, received.path, received.settings, actor.name)
    except UnusableUploadError as e:  # a mistyped setting: checked before anything is stored
        raise HTTPException(422, f"{e}; nothing was registered") from None
    finally:
        received.discard()
    upload = registration.upload
    if registration.revised:
        said = f"re-opened with new settings: {', '.join(f'{k} {v}' for k, v in registration.changes.items())}"
    elif registration.duplicate:
        said = "the same file with the same settings as this upload: nothing new to do"
    else:
        said = "rejected: " + (upload.failure_reason or "") if registration.rejected else "registered"
    # a new upload's partition and run: upload_bucket_sensor, as for any registered upload without a
    # partition; a revision's run: api_request_sensor (see docs/api.md)
    record = ActionLog(api.repo).record
    await run_in_threadpool(record, actor, Action.UPLOAD, upload.id, said, wants_run=registration.revised)
    body = {
        "upload_id": upload.id,
        "partition_key": upload.partition_key,
        "file": upload.original_filename,
        "status": upload.status,
        "reason": upload.failure_reason,
        "registration": "revised" if registration.revised else "duplicate" if registration.duplicate else "new",
        "changes": registration.changes or None,
        "message": said,
        **links(request, upload.id),
    }
    code = 422 if registration.rejected and registration.is_new else 200 if registration.duplicate else 202
    if code == 422:
        body["detail"] = upload.failure_reason
    return JSONResponse(body, status_code=code, headers={"Location": body["status_url"]})


@router.get("/uploads", summary="Uploads, newest first, by status and uploader, a page at a time")
async def list_uploads(
    request: Request,
    status: UploadStatus | None = None,
    uploader: str | None = Query(None, max_length=320, pattern=PRINTABLE, description="the uploader's e-mail address"),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    per_page: int = Query(20, ge=1, le=100),
    _: Actor = Depends(viewer),
    api: ApiServices = Depends(services),
) -> dict:
    # one query for the page; requests for the same page that arrive together share it (api.shared_reads)
    found = await request.app.state.shared_reads.read(
        ("uploads", status, uploader, page, per_page),
        lambda: uploads_page(api.repo, api.quotas, status, uploader, page, per_page),
    )
    pages = max(1, ceil(found.total / per_page))
    following = request.url.include_query_params(page=page + 1) if page < pages else None
    body = {
        "page": page,
        "per_page": per_page,
        "total": found.total,
        "pages": pages,
        "next": str(following) if following else None,
        "uploads": [_listed(request, item) for item in found.uploads],
    }
    return JSONResponse(body)  # plain JSON already: no second pass through FastAPI's encoder


def _listed(request: Request, item: dict) -> dict:
    urls = links(request, item["id"])
    return {**item, "workbook": urls["workbook_url"] if item["workbook"] else None, **urls}


@router.get("/uploads/{upload_id}", summary="One upload: the `status --json ID` document")
def get_upload(
    request: Request,
    _: Actor = Depends(viewer),
    upload: Upload = Depends(existing),
    api: ApiServices = Depends(services),
) -> dict:
    """The workbook is given as its download URL (the server's path or bucket key is nobody's business)."""
    document = status_document(api.repo, upload.id, api.quotas)
    for each in document["uploads"]:
        each["workbook"] = links(request, each["id"])["workbook_url"] if each["workbook"] else None
    return document


@router.get(
    "/uploads/{upload_id}/events",
    response_class=EventSourceResponse,
    summary="Server-Sent Events: `progress` each time a stage moves, then one `outcome`, and the stream ends",
)
async def follow_upload(
    request: Request,
    _: Actor = Depends(viewer),
    upload: Upload = Depends(existing),
    api: ApiServices = Depends(services),
) -> AsyncIterable[ServerSentEvent]:
    last, number = None, 0
    while not await request.is_disconnected():
        now = request.app.state.redactor.value(await run_in_threadpool(snapshot, api.repo, upload.id))
        if now != last:
            number, last = number + 1, now
            yield ServerSentEvent(event="outcome" if now["final"] else "progress", data=now, id=str(number))
            if now["final"]:
                return
        await asyncio.sleep(api.poll_seconds)


@router.get(
    "/uploads/{upload_id}/workbook",
    response_class=Response,
    summary="The result workbook (.xlsx)",
    responses={200: {"content": {XLSX: {}}}, 404: {"description": "no workbook yet"}},
)
def get_workbook(
    _: Actor = Depends(viewer), upload: Upload = Depends(existing), api: ApiServices = Depends(services)
) -> Response:
    content = api.workbook(upload)
    if content is None:
        raise HTTPException(404, f"upload {upload.id} has no result workbook yet (status: {upload.status})")
    disposition = f'attachment; filename="{upload.partition_key}.xlsx"'
    return Response(content, media_type=XLSX, headers={"Content-Disposition": disposition})


@router.get(
    "/uploads/{upload_id}/changes",
    summary="The Changes sheet: what approval would do to each record (in review), else what the upload did",
)
def upload_changes(_: Actor = Depends(viewer), upload: Upload = Depends(existing)) -> dict:
    return changes_shown(upload)


@router.get("/uploads/{upload_id}/actions", summary="What was done to the upload through the API, and by whom")
def upload_actions(
    _: Actor = Depends(viewer), upload: Upload = Depends(existing), api: ApiServices = Depends(services)
) -> list[dict]:
    return ActionLog(api.repo).of_upload(upload.id)

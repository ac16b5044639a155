"""A page of uploads, newest first (the HTTP API's `GET /uploads`), read with one query.

The status document reads an upload's batches, calls and e-mails row by row; for a page of them that
was a few queries per upload (and, for each open one, its whole queue again). Here the database counts
them for the page's uploads in one statement: batches by status, calls, tokens, cost and e-mails, and
each open upload's work ahead in the queue (a running sum over the open uploads). The figures are the
status document's; what needs every row (the per-model table, each batch, the reasons grouped in the
attention line) is in the document of one upload (`GET /uploads/{id}`).
"""

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import Integer, and_, bindparam, case, func, select
from sqlalchemy.sql import ColumnElement

from elevra_pipeline.quotas.limits import QuotaConfig
from elevra_pipeline.quotas.planner import BATCH_ETA
from elevra_pipeline.quotas.prices import CallMode
from elevra_pipeline.storage.batch_rules import BatchStatus as B
from elevra_pipeline.storage.batch_rules import FailureKind
from elevra_pipeline.storage.models import ElectionBatch, ModelAttempt, Notification, Upload
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.storage.shown_state import state_of
from elevra_pipeline.uploads.attention import AttentionCounts, attention_sentence
from elevra_pipeline.uploads.queue import DONE_BATCHES, OPEN_UPLOADS, QueuePace, eta_line
from elevra_pipeline.uploads.record_counts import upload_records
from elevra_pipeline.uploads.status import iso_utc

SHOWN = (B.PENDING, B.ANALYZED, B.STRUCTURED, B.INSERTED, B.NEEDS_REUPLOAD, B.WAITING_FOR_MODEL, B.SKIPPED, B.CANCELLED)


@dataclass
class UploadsPage:
    total: int
    uploads: list[dict]


def _count(condition: ColumnElement) -> ColumnElement:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _batch_counts(page):
    b = ElectionBatch
    return (
        select(
            b.upload_id,
            func.count().label("batches"),
            *(_count(b.status == status).label(f"b_{status}") for status in SHOWN),
            _count(b.status.in_(DONE_BATCHES)).label("done"),
            _count(and_(b.status == B.NEEDS_REUPLOAD, b.failure_kind == FailureKind.DATA)).label("data_fixes"),
            _count(and_(b.status == B.WAITING_FOR_MODEL, b.failure_kind == FailureKind.CONFIGURATION)).label("blocked"),
        )
        .where(b.upload_id.in_(select(page.c.id)), b.status != B.SUPERSEDED)
        .group_by(b.upload_id)
        .subquery("batch_counts")
    )


def _call_counts(page):
    a = ModelAttempt
    return (
        select(
            a.upload_id,
            func.count().label("calls"),
            func.coalesce(func.sum(a.input_tokens), 0).label("tokens_in"),
            func.coalesce(func.sum(a.output_tokens), 0).label("tokens_out"),
            _count(a.status == "rate_limited").label("rate_limited"),
            _count(a.is_fallback.is_(True)).label("fallbacks"),
            func.sum(a.cost_usd).label("cost"),
        )
        .where(a.upload_id.in_(select(page.c.id)))
        .group_by(a.upload_id)
        .subquery("call_counts")
    )


def _queue():
    """Each open upload's work in the queue: the unfinished batches of the open uploads up to it (its own too)."""
    b = ElectionBatch
    unfinished = (
        select(func.count())
        .where(b.upload_id == Upload.id, b.status.not_in((*DONE_BATCHES, B.SUPERSEDED)))
        .scalar_subquery()
    )
    queued = select(Upload.id, func.sum(unfinished).over(order_by=Upload.id).label("work"))
    return queued.where(Upload.status.in_(OPEN_UPLOADS)).subquery("queue")


@lru_cache(maxsize=4)
def page_query(by_status: bool, by_uploader: bool):
    """The statement for a page (built once per shape: building it costs more than running it), with the
    parameters `status`, `uploader`, `skip` and `size`."""
    chosen = select(Upload.id, func.count().over().label("total"))
    if by_status:
        chosen = chosen.where(Upload.status == bindparam("status"))
    if by_uploader:
        chosen = chosen.where(func.lower(Upload.uploader_email) == bindparam("uploader"))
    ids = chosen.order_by(Upload.id.desc()).offset(bindparam("skip")).limit(bindparam("size")).cte("page")
    batches, calls, queue = _batch_counts(ids), _call_counts(ids), _queue()
    emails = (
        select(Notification.upload_id, func.count().label("emails"))
        .where(Notification.upload_id.in_(select(ids.c.id)))
        .group_by(Notification.upload_id)
        .subquery("email_counts")
    )
    summary = Upload.summary_json
    return (
        select(
            ids.c.total,
            Upload.id,
            Upload.partition_key,
            Upload.original_filename,
            Upload.status,
            Upload.paused,
            Upload.failure_reason,
            Upload.created_at,
            Upload.workbook_path,
            summary["plan"].label("plan"),
            summary["emulated"].label("emulated"),
            summary["results_url"].label("results_url"),
            summary["revisions"].label("revisions"),
            summary["replaces"].label("replaces"),
            summary["replaced_by"].label("replaced_by"),
            summary[("changes", "counts")].label("change_counts"),  # not the change rows: they can be many
            summary[("preview", "counts")].label("preview_counts"),
            *(func.coalesce(c, 0).label(c.name) for c in batches.c if c.name != "upload_id"),
            *(func.coalesce(c, 0).label(c.name) for c in calls.c if c.name not in ("upload_id", "cost")),
            calls.c.cost,
            func.coalesce(emails.c.emails, 0).label("emails"),
            func.coalesce(queue.c.work, 0).cast(Integer).label("work"),
        )
        .select_from(ids)
        .join(Upload, Upload.id == ids.c.id)
        .outerjoin(queue, queue.c.id == Upload.id)
        .outerjoin(batches, batches.c.upload_id == Upload.id)
        .outerjoin(calls, calls.c.upload_id == Upload.id)
        .outerjoin(emails, emails.c.upload_id == Upload.id)
        .order_by(Upload.id.desc())
    )


def uploads_page(
    repo: Repository,
    quotas: QuotaConfig,
    status: str | None = None,
    uploader: str | None = None,
    page: int = 1,
    per_page: int = 20,
    now: datetime | None = None,
) -> UploadsPage:
    uploader = (uploader or "").strip().lower()
    given = {"status": status, "uploader": uploader, "skip": (page - 1) * per_page, "size": per_page}
    with repo.reading() as s:
        rows = s.execute(page_query(status is not None, bool(uploader)), given).all()
        total = rows[0].total if rows else _total(s, status, uploader)
    now = now or datetime.now(timezone.utc)
    pace = None
    items = []
    for row in rows:
        eta = "-"
        if row.done < row.batches and row.status in OPEN_UPLOADS:
            if _mode(row) == CallMode.BATCH:
                eta = BATCH_ETA
            else:
                pace = pace or _pace(repo, quotas, now)  # at most once a page, for all its open uploads
                eta = eta_line(pace.seconds(row.work), now)
        items.append(_item(row, eta))
    return UploadsPage(total, items)


_paces: dict[tuple[int, int], tuple[float, QueuePace]] = {}
PACE_SECONDS = 10.0  # an ETA is said to the minute: the quotas' pace is read again after this long


def _pace(repo: Repository, quotas: QuotaConfig, now: datetime) -> QueuePace:
    key = (id(repo.engine), id(quotas))
    read_at, pace = _paces.get(key, (0.0, None))
    if pace is None or time.monotonic() - read_at > PACE_SECONDS:
        pace = QueuePace.read(repo, quotas, now)
        _paces[key] = (time.monotonic(), pace)
    return pace


def _total(session, status, uploader) -> int:
    """A page past the end has no row to carry the count."""
    query = select(func.count()).select_from(Upload)
    if status is not None:
        query = query.where(Upload.status == status)
    if uploader:
        query = query.where(func.lower(Upload.uploader_email) == uploader)
    return session.scalar(query)


def _mode(row) -> CallMode:
    return CallMode((row.plan or {}).get("mode", CallMode.ONLINE))


def _item(row, eta: str) -> dict:
    counts = AttentionCounts(
        total=row.batches,
        staged=row.b_structured,
        data_fixes=row.data_fixes,
        model_failures=row.b_needs_reupload - row.data_fixes,
        waiting=row.b_waiting_for_model,
        blocked=row.blocked,
    )
    upload = _Named(row.id, row.original_filename, row.status, row.failure_reason)
    by_status = {str(status): n for status in SHOWN if (n := getattr(row, f"b_{status}"))}
    state = state_of(row.status, by_status, bool(row.paused))
    return {
        "id": row.id,
        "partition_key": row.partition_key,
        "file": row.original_filename,
        "status": row.status,
        "state": state.state,
        "state_label": state.label,
        "state_tone": state.tone,
        "paused": bool(row.paused),
        "reason": row.failure_reason,
        "created_at": iso_utc(row.created_at),
        "progress": {
            "batches_done": row.done,
            "batches_total": row.batches,
            "percent": round(100 * row.done / row.batches, 1) if row.batches else 0.0,
            "by_status": by_status,
        },
        "eta": eta,
        "mode": str(_mode(row)),
        "mode_reason": (row.plan or {}).get("reason"),
        "emulated": bool(row.emulated),
        "model_calls": row.calls,
        "tokens": {"input": row.tokens_in, "output": row.tokens_out},
        "rate_limited": row.rate_limited,
        "fallbacks": row.fallbacks,
        "cost_usd": round(row.cost, 6) if row.cost is not None else None if row.calls else 0.0,
        "emails": row.emails,
        "workbook": bool(row.workbook_path),  # the API gives its download URL
        "results_url": row.results_url,
        "records": upload_records(row.status, _counts_only(row)).model_dump(mode="json"),
        "needs_attention": attention_sentence(upload, counts),
        "revisions": row.revisions or [],
        "replaces": row.replaces,
        "replaced_by": row.replaced_by,
    }


def _counts_only(row) -> dict:
    """The part of the upload's summary its record counts are read from."""
    return {
        "changes": {"counts": row.change_counts} if row.change_counts else None,
        "preview": {"counts": row.preview_counts} if row.preview_counts else None,
    }


@dataclass(frozen=True)
class _Named:
    """What the attention line reads of an upload."""

    id: int
    original_filename: str
    status: str
    failure_reason: str | None

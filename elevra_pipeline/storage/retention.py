"""Retention: an old finished upload is deleted with every row that references it, children first.

PostgreSQL checks foreign keys on every statement, so the order is the schema's: attempts point at
batches and at the upload; e-mails, Batch API jobs and batches at the upload. SQLite checks them only
with `PRAGMA foreign_keys=ON`, which the app does not set, so an order that breaks PostgreSQL passes
there unnoticed (the tests turn it on). Elections, candidates and their links reference no upload:
they are live records and never touched; their history (`record_changes`, `record_sources`) outlives
the upload: its rows keep the file's name and lose only the reference.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update

from elevra_pipeline.storage.models import (
    ChangeDelivery,
    ElectionBatch,
    GeminiBatchJob,
    ModelAttempt,
    Notification,
    RecordChange,
    RecordSource,
    Upload,
)
from elevra_pipeline.storage.repository import Repository


def rows_of_upload(upload_id: int) -> list[tuple[str, Any, ColumnElement[bool]]]:
    """(count name, table, which rows) for everything that goes with the upload, children before parents."""
    batches = select(ElectionBatch.id).where(ElectionBatch.upload_id == upload_id)
    return [
        ("attempts", ModelAttempt, or_(ModelAttempt.upload_id == upload_id, ModelAttempt.batch_id.in_(batches))),
        ("notifications", Notification, Notification.upload_id == upload_id),
        ("change_deliveries", ChangeDelivery, ChangeDelivery.upload_id == upload_id),
        ("batch_jobs", GeminiBatchJob, GeminiBatchJob.upload_id == upload_id),
        ("batches", ElectionBatch, ElectionBatch.upload_id == upload_id),
        ("uploads", Upload, Upload.id == upload_id),
    ]


DELETED_WITH_UPLOAD = tuple(model for _, model, _ in rows_of_upload(0))
DETACHED_FROM_UPLOAD = (RecordChange, RecordSource)  # the records' history: kept, without the reference


def expire_uploads(
    repo: Repository, statuses: tuple[str, ...], cutoff: datetime, keep: Callable[[object], None]
) -> dict[str, int]:
    """One transaction: each upload in `statuses` last changed before `cutoff` goes, with its rows;
    `keep(row)` sees every row before it is deleted (the archive). Counts per kind of row."""
    counts = {name: 0 for name, _, _ in rows_of_upload(0)}
    with repo.unit_of_work() as s:
        old = select(Upload.id).where(Upload.status.in_(statuses), Upload.updated_at < cutoff).order_by(Upload.id)
        for upload_id in list(s.scalars(old)):
            for model in DETACHED_FROM_UPLOAD:
                s.execute(
                    update(model)
                    .where(model.upload_id == upload_id)
                    .values(upload_id=None)
                    .execution_options(synchronize_session=False)
                )
            for name, model, which in rows_of_upload(upload_id):
                rows = s.scalars(select(model).where(which).order_by(model.id)).all()
                for row in rows:
                    keep(row)
                s.execute(delete(model).where(which).execution_options(synchronize_session=False))
                counts[name] += len(rows)
    return counts

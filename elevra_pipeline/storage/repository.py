"""All writes to the app database: one transaction per unit of work, upserts on natural keys."""

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from elevra_pipeline.storage.batch_rules import BatchStatus
from elevra_pipeline.storage.database import READ_ONLY, dialect_insert
from elevra_pipeline.storage.models import (
    AppControl,
    Candidate,
    ChangeDelivery,
    ElectionBatch,
    GeminiBatchJob,
    ModelAttempt,
    Notification,
    RecordChange,
    RecordSource,
    Upload,
)

_BATCHES = cast(Table, ElectionBatch.__table__)
# Built once: each executemany's SET clause is its rows' keys but `batch_id_` (SQLAlchemy caches the
# compiled form per set of keys), so a stage's answers cost no statement building each
_BATCH_UPDATE = update(_BATCHES).where(_BATCHES.c.id == bindparam("batch_id_"))


class Repository:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self):
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def reading(self):
        """A connection in a transaction that only reads: on SQLite it takes no write lock, so reads (a
        busy API's) go side by side instead of one at a time."""
        with self.engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            with conn.begin():
                yield conn

    # -- uploads ---------------------------------------------------------------------------
    def find_upload_by_hash(self, content_hash: str) -> Upload | None:
        with self.unit_of_work() as s:
            return s.scalar(select(Upload).where(Upload.content_hash == content_hash))

    def get_upload(self, partition_key: str) -> Upload | None:
        with self.unit_of_work() as s:
            return s.scalar(select(Upload).where(Upload.partition_key == partition_key))

    def get_upload_by_id(self, upload_id: int) -> Upload | None:
        with self.unit_of_work() as s:
            return s.get(Upload, upload_id)

    def partition_keys(self) -> list[str]:
        """Every upload's partition key, and nothing else (the sensor's repair pass, every tick)."""
        with self.unit_of_work() as s:
            return list(s.scalars(select(Upload.partition_key)))

    def latest_upload_named(self, filename: str, before_id: int, excluded_status: str) -> Upload | None:
        """The latest upload before `before_id` of this file name, not in `excluded_status`."""
        with self.unit_of_work() as s:
            return s.scalar(
                select(Upload)
                .where(Upload.original_filename == filename, Upload.id < before_id, Upload.status != excluded_status)
                .order_by(Upload.id.desc())
                .limit(1)
            )

    def list_uploads(self) -> list[Upload]:
        with self.unit_of_work() as s:
            return list(s.scalars(select(Upload).order_by(Upload.id)))

    def add_upload(self, **fields) -> Upload:
        with self.unit_of_work() as s:
            upload = Upload(**fields)
            s.add(upload)
            s.flush()
            return upload

    def update_upload(self, upload_id: int, **fields) -> None:
        with self.unit_of_work() as s:
            upload = s.get(Upload, upload_id)
            for name, value in fields.items():
                setattr(upload, name, value)

    # -- batches ---------------------------------------------------------------------------
    def save_batches(self, upload_id: int, drafts) -> int:
        """Insert batches not yet known for this upload (a superseded one comes back with the draft's
        rows); existing ones keep their progress. Returns how many were added or brought back."""
        with self.unit_of_work() as s:
            known = {
                b.batch_key: b for b in s.scalars(select(ElectionBatch).where(ElectionBatch.upload_id == upload_id))
            }
            added = 0
            for d in drafts:
                batch = known.get(d.batch_key)
                if batch is not None and batch.status != BatchStatus.SUPERSEDED:
                    continue
                if batch is None:
                    batch = ElectionBatch(upload_id=upload_id, batch_key=d.batch_key)
                    s.add(batch)
                batch.jurisdiction, batch.office, batch.district = d.jurisdiction, d.office, d.district
                batch.election_date, batch.rows_json, batch.row_count = d.election_date, d.rows, len(d.rows)
                batch.status = BatchStatus.NEEDS_REUPLOAD if d.problem else BatchStatus.PENDING
                batch.error_reason, batch.failure_kind = d.problem, "data" if d.problem else None
                added += 1
            return added

    def batches(
        self, upload_id: int, statuses: tuple[str, ...] | None = None, superseded: bool = False
    ) -> list[ElectionBatch]:
        """The upload's batches; those a revision superseded only when asked (`superseded=True`)."""
        with self.unit_of_work() as s:
            query = select(ElectionBatch).where(ElectionBatch.upload_id == upload_id)
            if statuses:
                query = query.where(ElectionBatch.status.in_(statuses))
            elif not superseded:
                query = query.where(ElectionBatch.status != BatchStatus.SUPERSEDED)
            return list(s.scalars(query.order_by(ElectionBatch.id)))

    def update_batch(self, batch_id: int, **fields) -> None:
        self.update_batches([(batch_id, fields)])  # one UPDATE, no read first

    def update_batches(self, updates: list[tuple[int, dict]]) -> list[None]:
        """Several batches' fields (batch id, fields) in one transaction: one UPDATE per set of fields."""
        by_fields: dict[tuple, list[dict]] = {}
        for batch_id, fields in updates:
            by_fields.setdefault(tuple(sorted(fields)), []).append({"batch_id_": batch_id, **fields})
        with self.engine.begin() as conn:
            for rows in by_fields.values():  # executemany; the SET clause is the rows' other keys
                conn.execute(_BATCH_UPDATE, rows)
        return [None] * len(updates)

    def release_batch(self, batch_id: int, owner: str) -> None:
        self.release_batches([batch_id], owner)

    def release_batches(self, batch_ids: list[int], owner: str) -> None:
        """One statement for a whole stage's leases (only those `owner` still holds)."""
        if not batch_ids:
            return
        with self.unit_of_work() as s:
            s.execute(
                update(ElectionBatch)
                .where(ElectionBatch.id.in_(batch_ids), ElectionBatch.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None)
            )

    def claim_upload_run(self, upload_id: int, owner: str, now: float, until: float, taking_over: str = "") -> str:
        """Hold the upload for `owner` (a run) until `until` where it is free, expired, already `owner`'s
        or held by `taking_over` (a run found gone): one statement. The holder after it, `owner` when held."""
        with self.unit_of_work() as s:
            u = Upload
            s.execute(
                update(u)
                .where(
                    u.id == upload_id,
                    or_(u.run_owner.is_(None), u.run_owner.in_((owner, taking_over)), u.run_lease_until < now),
                )
                .values(run_owner=owner, run_lease_until=until)
                .execution_options(synchronize_session=False)
            )
            return s.scalar(select(u.run_owner).where(u.id == upload_id)) or ""

    def release_upload_run(self, upload_id: int, owner: str) -> None:
        with self.unit_of_work() as s:
            s.execute(
                update(Upload)
                .where(Upload.id == upload_id, Upload.run_owner == owner)
                .values(run_owner=None, run_lease_until=None)
                .execution_options(synchronize_session=False)
            )

    def get_batch(self, batch_id: int) -> ElectionBatch:
        with self.unit_of_work() as s:
            return s.get(ElectionBatch, batch_id)

    def find_batch(self, upload_id: int, batch_key: str) -> ElectionBatch | None:
        with self.unit_of_work() as s:
            return s.scalar(
                select(ElectionBatch).where(ElectionBatch.upload_id == upload_id, ElectionBatch.batch_key == batch_key)
            )

    # -- controls --------------------------------------------------------------------------
    def control(self, key: str) -> str | None:
        with self.unit_of_work() as s:
            row = s.get(AppControl, key)
            return row.value if row else None

    def set_control(self, key: str, value: str | None) -> None:
        with self.unit_of_work() as s:
            row = s.get(AppControl, key)
            if value is None:
                if row:
                    s.delete(row)
            elif row:
                row.value = value
            else:
                s.add(AppControl(key=key, value=value))

    def is_paused(self, upload) -> bool:
        return bool(upload.paused) or self.control("pause_all") is not None

    # -- Batch API jobs --------------------------------------------------------------------
    def batch_jobs(self, upload_id: int, stage: str | None = None) -> list[GeminiBatchJob]:
        with self.unit_of_work() as s:
            query = select(GeminiBatchJob).where(GeminiBatchJob.upload_id == upload_id)
            if stage:
                query = query.where(GeminiBatchJob.stage == stage)
            return list(s.scalars(query.order_by(GeminiBatchJob.id)))

    def unfinished_batch_jobs(self, due_by: float | None = None) -> list[GeminiBatchJob]:
        """Jobs not yet ended (or ended, with answers not yet applied); with `due_by`, only those due a poll."""
        with self.unit_of_work() as s:
            query = select(GeminiBatchJob).where(GeminiBatchJob.applied_at.is_(None))
            if due_by is not None:
                query = query.where(GeminiBatchJob.next_poll_at <= due_by)
            return list(s.scalars(query.order_by(GeminiBatchJob.id)))

    def update_batch_job(self, job_id: int, **fields) -> None:
        with self.unit_of_work() as s:
            s.execute(update(GeminiBatchJob).where(GeminiBatchJob.id == job_id).values(**fields))

    def lease_batches(self, batch_ids: list[int], owner: str, now: float, until: float, taking_over: str) -> list[int]:
        """Lease the batches to `owner` where they are free, expired, or held by `taking_over` (this run):
        the ids leased, in the given order."""
        with self.unit_of_work() as s:
            b = ElectionBatch
            s.execute(
                update(b)
                .where(
                    b.id.in_(batch_ids),
                    or_(b.lease_owner.is_(None), b.lease_owner.in_((owner, taking_over)), b.lease_expires_at < now),
                )
                .values(lease_owner=owner, lease_expires_at=until)
            )
            leased = set(s.scalars(select(b.id).where(b.id.in_(batch_ids), b.lease_owner == owner)))
        return [i for i in batch_ids if i in leased]

    def apply_job_answer(self, batch_id: int, owner: str, fields: dict, attempt: dict) -> bool:
        """One transaction: the batch's answer (or failure) stored and its lease released, and the attempt
        row written, only while `owner` (the job) still holds the batch: applying a job twice does nothing."""
        with self.unit_of_work() as s:
            done = s.execute(
                update(ElectionBatch)
                .where(ElectionBatch.id == batch_id, ElectionBatch.lease_owner == owner)
                .values(**fields, lease_owner=None, lease_expires_at=None)
            )
            if done.rowcount != 1:
                return False
            s.add(ModelAttempt(**attempt))
            return True

    def recent_latency_seconds(self, model: str, calls: int = 200) -> float | None:
        """The mean answer time of the model's last `calls` successful online calls (None: none yet)."""
        with self.unit_of_work() as s:
            a = ModelAttempt
            recent = (
                select(a.latency_ms)
                .where(a.model == model, a.status == "ok", a.mode == "online")
                .order_by(a.id.desc())
                .limit(calls)
                .subquery()
            )
            mean = s.scalar(select(func.avg(recent.c.latency_ms)))
        return mean / 1000 if mean else None

    def failed_attempts(self, batch_id: int, stage: str) -> int:
        with self.unit_of_work() as s:
            a = ModelAttempt
            return s.scalar(
                select(func.count()).where(
                    a.batch_id == batch_id, a.stage == stage, a.status != "ok", a.mode == "batch"
                )
            )

    # -- attempts --------------------------------------------------------------------------
    def record_attempt(self, **fields) -> None:
        with self.unit_of_work() as s:
            s.add(ModelAttempt(**fields))

    def answering_models(self, upload_id: int) -> list[tuple[str, str]]:
        """Each (model asked, model that answered) pair of the upload's attempts that got an answer."""
        with self.unit_of_work() as s:
            query = (
                select(ModelAttempt.model, ModelAttempt.model_version)
                .where(ModelAttempt.upload_id == upload_id, ModelAttempt.model_version.is_not(None))
                .distinct()
            )
            return [(asked, str(answered)) for asked, answered in s.execute(query)]

    def attempts(self, upload_id: int | None = None) -> list[ModelAttempt]:
        with self.unit_of_work() as s:
            query = select(ModelAttempt).order_by(ModelAttempt.id)
            if upload_id is not None:
                query = query.where(ModelAttempt.upload_id == upload_id)
            return list(s.scalars(query))

    def merge_summary(self, upload_id: int, **parts) -> None:
        """Add parts to the summary stored on the upload (e-mails read it, never recompute it)."""
        with self.unit_of_work() as s:
            upload = s.get(Upload, upload_id)
            upload.summary_json = {**(upload.summary_json or {}), **parts}

    # -- notifications ---------------------------------------------------------------------
    def add_notification(self, **fields) -> bool:
        """False when an e-mail with this idempotency key was logged before."""
        with self.unit_of_work() as s:
            statement = self._insert(Notification.__table__).values(**fields)
            result = s.execute(statement.on_conflict_do_nothing(index_elements=["idempotency_key"]))
            return result.rowcount == 1

    def add_delivery(self, **fields) -> bool:
        """A change set to deliver, once per key; False when the key is known."""
        statement = self._insert(ChangeDelivery.__table__).values(**fields, created_at=datetime.now(timezone.utc))
        with self.unit_of_work() as s:
            done = s.execute(statement.on_conflict_do_nothing(index_elements=["key"]))
            return done.rowcount == 1

    def deliveries(self, upload_id: int | None = None, due_at: float | None = None) -> list[ChangeDelivery]:
        with self.unit_of_work() as s:
            query = select(ChangeDelivery).order_by(ChangeDelivery.id)
            if upload_id is not None:
                query = query.where(ChangeDelivery.upload_id == upload_id)
            if due_at is not None:
                query = query.where(
                    ChangeDelivery.status.in_(("pending", "retrying", "sending")),
                    ChangeDelivery.next_attempt_at <= due_at,
                )
            return list(s.scalars(query))

    def _claim(self, model, row_id: int, now: float, lease: float) -> bool:
        """One sender at a time (an e-mail, a change set): the row is `sending` until `now + lease`,
        then due again if its sender died."""
        with self.unit_of_work() as s:
            done = s.execute(
                update(model)
                .where(
                    model.id == row_id,
                    model.status.in_(("pending", "retrying", "sending")),
                    model.next_attempt_at <= now,
                )
                .values(status="sending", next_attempt_at=now + lease)
            )
            return done.rowcount == 1

    def claim_delivery(self, delivery_id: int, now: float, lease: float = 300.0) -> bool:
        return self._claim(ChangeDelivery, delivery_id, now, lease)

    def update_delivery(self, delivery_id: int, **fields) -> None:
        with self.unit_of_work() as s:
            s.execute(update(ChangeDelivery).where(ChangeDelivery.id == delivery_id).values(**fields))

    def due_notifications(self, now: float) -> list[Notification]:
        with self.unit_of_work() as s:
            return list(
                s.scalars(
                    select(Notification)
                    .where(
                        Notification.status.in_(("pending", "retrying", "sending")), Notification.next_attempt_at <= now
                    )
                    .order_by(Notification.id)
                )
            )

    def claim_notification(self, notification_id: int, now: float, lease: float = 300.0) -> bool:
        return self._claim(Notification, notification_id, now, lease)

    def update_notification(self, notification_id: int, **fields) -> None:
        with self.unit_of_work() as s:
            s.execute(update(Notification).where(Notification.id == notification_id).values(**fields))

    def count_notifications(self, status: str) -> int:
        with self.unit_of_work() as s:
            return s.scalar(select(func.count()).select_from(Notification).where(Notification.status == status))

    def notifications(self, upload_id: int | None = None) -> list[Notification]:
        with self.unit_of_work() as s:
            query = select(Notification).order_by(Notification.id)
            if upload_id is not None:
                query = query.where(Notification.upload_id == upload_id)
            return list(s.scalars(query))

    # -- records ---------------------------------------------------------------------------
    def _insert(self, table):
        return dialect_insert(self.engine)(table)

    def upsert_returning_id(self, session: Session, model, key: dict, values: dict) -> int:
        """Insert-or-update on the natural key `key` and return the row's id, race-free."""
        now = datetime.now(timezone.utc)
        statement = self._insert(model.__table__).values(**key, **values, created_at=now, updated_at=now)
        statement = statement.on_conflict_do_update(index_elements=list(key), set_={**values, "updated_at": now})
        return session.execute(statement.returning(model.__table__.c.id)).scalar_one()

    def ensure_record(self, session: Session, model, key: dict, values: dict) -> tuple[int, bool]:
        """The row with natural key `key` (inserted with `values` when missing, race-free): (id, created)."""
        now = datetime.now(timezone.utc)
        stamps = {"created_at": now, "updated_at": now} if "created_at" in model.__table__.c else {}
        statement = self._insert(model.__table__).values(**key, **values, **stamps)
        created = session.execute(
            statement.on_conflict_do_nothing(index_elements=list(key)).returning(model.__table__.c.id)
        ).scalar_one_or_none()
        if created is not None:
            return created, True
        found = select(model.id).where(*(getattr(model, k) == v for k, v in key.items()))
        return session.execute(found).scalar_one(), False

    def locked(self, session: Session, model, record_id: int):
        """The row, locked for this transaction (PostgreSQL; SQLite's BEGIN IMMEDIATE already is)."""
        return session.execute(select(model).where(model.id == record_id).with_for_update()).scalar_one()

    def setters(self, session: Session, record_type: str, record_id: int) -> dict[str, int]:
        """The upload that last set each field of a record (from `record_changes`)."""
        rows = session.execute(
            select(RecordChange.field, RecordChange.upload_id)
            .where(
                RecordChange.record_type == record_type,
                RecordChange.record_id == record_id,
                RecordChange.action.in_(("set", "updated", "reverted")),
            )
            .order_by(RecordChange.id)
        )
        return {field: upload_id or 0 for field, upload_id in rows}

    def record_changes(
        self, session: Session, record_type: str, record_id: int, changes: list, upload_id: int | None, label: str
    ) -> None:
        now = datetime.now(timezone.utc)
        if any(str(c.action) == "conflict" for c in changes):  # a conflict is said once per upload, however
            said = set(  # many times its batch is inserted again (a re-run, a revision)
                session.execute(
                    select(RecordChange.field, RecordChange.new_value).where(
                        RecordChange.record_type == record_type,
                        RecordChange.record_id == record_id,
                        RecordChange.upload_id == upload_id,
                        RecordChange.action == "conflict",
                    )
                ).all()
            )
            changes = [
                c
                for c in changes
                if str(c.action) != "conflict" or (c.field, None if c.new is None else str(c.new)) not in said
            ]
        session.add_all(
            RecordChange(
                record_type=record_type,
                record_id=record_id,
                field=c.field,
                old_value=None if c.old is None else str(c.old),
                new_value=None if c.new is None else str(c.new),
                action=str(c.action),
                upload_id=upload_id,
                upload_label=label[:300],
                at=now,
            )
            for c in changes
        )

    def add_source(self, session: Session, record_type: str, record_id: int, upload_id: int, created: bool) -> None:
        statement = self._insert(RecordSource.__table__).values(
            record_type=record_type, record_id=record_id, upload_id=upload_id, created=created
        )
        session.execute(statement.on_conflict_do_nothing(index_elements=["record_type", "record_id", "upload_id"]))

    def candidates_of(self, session: Session, election_id: int) -> list[tuple[int, str]]:
        rows = session.execute(select(Candidate.id, Candidate.name).where(Candidate.election_id == election_id))
        return [(i, n) for i, n in rows]

    @contextmanager
    def within(self, session: Session | None):
        """`session` when the caller is inside a transaction (a preview that is rolled back), else a new one."""
        if session is not None:
            yield session
        else:
            with self.unit_of_work() as s:
                yield s

    def changes_of_upload(self, upload_id: int, session: Session | None = None) -> list[RecordChange]:
        with self.within(session) as s:
            return list(
                s.scalars(select(RecordChange).where(RecordChange.upload_id == upload_id).order_by(RecordChange.id))
            )

    def change_actions_of_upload(self, upload_id: int) -> list:
        """(record_type, record_id, action) rows, each once: what a count per record needs, without
        reading every changed value."""
        columns = (RecordChange.record_type, RecordChange.record_id, RecordChange.action)
        with self.reading() as s:
            return list(s.execute(select(*columns).where(RecordChange.upload_id == upload_id).distinct()))

    def changes_labelled(self, label: str) -> list[RecordChange]:
        with self.unit_of_work() as s:
            return list(
                s.scalars(select(RecordChange).where(RecordChange.upload_label == label).order_by(RecordChange.id))
            )

    def gave_records(self, upload_id: int) -> bool:
        """The upload published records that are in the database now (what a revert would undo)."""
        with self.unit_of_work() as s:
            return s.scalar(select(RecordSource.id).where(RecordSource.upload_id == upload_id).limit(1)) is not None

    def sources_of_upload(self, upload_id: int, session: Session | None = None) -> list[RecordSource]:
        with self.within(session) as s:
            return list(
                s.scalars(select(RecordSource).where(RecordSource.upload_id == upload_id).order_by(RecordSource.id))
            )

    def insert_link_returning(self, session: Session, model, owner_column: str, owner_id: int, url: str, kind: str):
        """(link id, created) for a link of the owner (kept as it is when it exists)."""
        return self.ensure_record(session, model, {owner_column: owner_id, "url": url}, {"kind": kind})

    def insert_link(self, session: Session, model, owner_column: str, owner_id: int, url: str, kind: str) -> None:
        statement = self._insert(model.__table__).values(**{owner_column: owner_id}, url=url, kind=kind)
        session.execute(statement.on_conflict_do_nothing(index_elements=[owner_column, "url"]))

    def count(self, model) -> int:
        with self.unit_of_work() as s:
            return s.scalar(select(func.count()).select_from(model))

    def rows_by_ids(self, model, ids: list[int], session: Session | None = None) -> list:
        if not ids:
            return []
        with self.within(session) as s:
            return list(s.scalars(select(model).where(model.id.in_(ids)).order_by(model.id)))

    def links_for(self, model, owner_column: str, owner_ids: list[int]) -> dict[int, list]:
        result: dict[int, list] = {}
        if not owner_ids:
            return result
        with self.unit_of_work() as s:
            for link in s.scalars(select(model).where(getattr(model, owner_column).in_(owner_ids))):
                result.setdefault(getattr(link, owner_column), []).append(link)
        return result

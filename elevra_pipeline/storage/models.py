"""Tables of the app database. Natural keys carry unique constraints so upserts never duplicate."""

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Upload(Base):
    __tablename__ = "uploads"
    id: Mapped[int] = mapped_column(primary_key=True)
    partition_key: Mapped[str] = mapped_column(String(120), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    original_filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str | None] = mapped_column(Text)
    uploader_email: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(32), default="queued")
    failure_reason: Mapped[str | None] = mapped_column(Text)
    summary_json: Mapped[dict | None] = mapped_column(JSON)
    workbook_path: Mapped[str | None] = mapped_column(Text)
    keep_raw_file: Mapped[bool] = mapped_column(Boolean, default=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the admin said of the whole upload (sidecar + `process` options) and what intake found.
    options_json: Mapped[dict | None] = mapped_column(JSON)
    intake_json: Mapped[dict | None] = mapped_column(JSON)
    # The run processing the upload (`host:pid:run_id`) and until when: one run at a time per upload.
    run_owner: Mapped[str | None] = mapped_column(String(300))
    run_lease_until: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ElectionBatch(Base):
    __tablename__ = "election_batches"
    __table_args__ = (UniqueConstraint("upload_id", "batch_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id"), index=True)
    batch_key: Mapped[str] = mapped_column(String(200))
    jurisdiction: Mapped[str] = mapped_column(String(255), default="")
    office: Mapped[str] = mapped_column(String(255), default="")
    district: Mapped[str] = mapped_column(String(255), default="")
    election_date: Mapped[str] = mapped_column(String(64), default="")
    rows_json: Mapped[list] = mapped_column(JSON)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    # pending -> analyzed -> structured -> inserted; or needs_reupload / skipped
    status: Mapped[str] = mapped_column(String(32), default="pending")
    error_reason: Mapped[str | None] = mapped_column(Text)
    # "data": the rows cannot form an election (never retried by a re-run); "model": a model stage gave up
    failure_kind: Mapped[str | None] = mapped_column(String(16))
    analysis_json: Mapped[dict | None] = mapped_column(JSON)
    analysis_model: Mapped[str | None] = mapped_column(String(64))
    structured_json: Mapped[dict | None] = mapped_column(JSON)
    structure_model: Mapped[str | None] = mapped_column(String(64))
    fallback_note: Mapped[str | None] = mapped_column(Text)
    output_notes: Mapped[list | None] = mapped_column(JSON)  # what was cleaned out of the model's answer
    inserted_json: Mapped[dict | None] = mapped_column(JSON)
    admin_note: Mapped[str | None] = mapped_column(Text)
    # Who is working on the batch now; a dead owner's lease is taken over (see pipeline/leases.py).
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ModelAttempt(Base):
    __tablename__ = "model_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("election_batches.id"), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))  # the model asked
    model_version: Mapped[str | None] = mapped_column(String(128))  # the model that answered (modelVersion)
    attempt_no: Mapped[int] = mapped_column(Integer)
    is_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    fallback_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error_type: Mapped[str | None] = mapped_column(String(64))
    quota_id: Mapped[str | None] = mapped_column(String(128))
    retry_delay_s: Mapped[float | None] = mapped_column(Float)
    estimated_tokens: Mapped[int | None] = mapped_column(Integer)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)  # e.g. why an answer was rejected
    mode: Mapped[str] = mapped_column(String(16), default="online", server_default="online")  # prices.CallMode
    cost_usd: Mapped[float | None] = mapped_column(Float)  # None: the model has no price in the quotas file
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GeminiBatchJob(Base):
    """A Gemini Batch API job: written before it is submitted (state `submitting`, its `key` is the job's
    display name), so a crash never submits it twice; its input tokens count against the model's
    `batch_enqueued_tokens` until it ends; `applied_at` once its answers are stored."""

    __tablename__ = "gemini_batch_jobs"
    __table_args__ = (UniqueConstraint("key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id"), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(200))  # Google's `batches/...`, once confirmed
    state: Mapped[str] = mapped_column(String(16), index=True)  # gemini.batch_jobs.JobState
    batch_ids: Mapped[list] = mapped_column(JSON)  # in request order
    estimated_tokens: Mapped[int] = mapped_column(Integer)
    fallback_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float)
    applied_at: Mapped[float | None] = mapped_column(Float)
    next_poll_at: Mapped[float] = mapped_column(Float, default=0.0)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class Election(Base):
    __tablename__ = "elections"
    __table_args__ = (UniqueConstraint("natural_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    natural_key: Mapped[str] = mapped_column(String(400))
    slug: Mapped[str] = mapped_column(String(400))
    name: Mapped[str] = mapped_column(String(400))
    jurisdiction: Mapped[str] = mapped_column(String(255))
    office: Mapped[str] = mapped_column(String(255))
    district: Mapped[str] = mapped_column(String(255), default="")
    election_date: Mapped[str] = mapped_column(String(32))
    election_type: Mapped[str] = mapped_column(String(32), default="general")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Candidate(Base):
    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("election_id", "name_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id"), index=True)
    name_key: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(400))
    name: Mapped[str] = mapped_column(String(255))
    party: Mapped[str | None] = mapped_column(String(120))
    website: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(
        String(120)
    )  # a later list's 'Withdrawn', 'Deceased'…; None: on the ballot
    incumbent: Mapped[bool | None] = mapped_column(Boolean)  # a list marked them the sitting holder ('*', '(I)')
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class CandidateLink(Base):
    __tablename__ = "candidate_links"
    __table_args__ = (UniqueConstraint("candidate_id", "url"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(32), default="website")


class ElectionLink(Base):
    __tablename__ = "election_links"
    __table_args__ = (UniqueConstraint("election_id", "url"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(32), default="elevra")


class QuotaModel(Base):
    """One row per model: the lock row serializing reservations, and its shared cool-down."""

    __tablename__ = "quota_models"
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    cooldown_until: Mapped[float] = mapped_column(Float, default=0.0)
    cooldown_reason: Mapped[str | None] = mapped_column(Text)
    # Effective limits learned from Google's 429s (None: declared x share), shared by every process.
    rpm_effective: Mapped[int | None] = mapped_column(Integer)
    tpm_effective: Mapped[int | None] = mapped_column(Integer)
    rpd_effective: Mapped[int | None] = mapped_column(Integer)
    rpd_effective_day: Mapped[str | None] = mapped_column(String(32))  # the day the daily one holds for
    limits_changed_at: Mapped[float] = mapped_column(Float, default=0.0)
    probe_windows: Mapped[int] = mapped_column(Integer, default=1)  # clean windows before the next raise
    last_cut_at: Mapped[float] = mapped_column(Float, default=0.0)
    # Gemini answered 404 for it (retired) or the start-up check did not find it: skipped until found again.
    unavailable_at: Mapped[float | None] = mapped_column(Float)
    unavailable_reason: Mapped[str | None] = mapped_column(Text)


class QuotaLimitChange(Base):
    """Every change of an effective limit: when, which, old -> new, and why."""

    __tablename__ = "quota_limit_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    model: Mapped[str] = mapped_column(String(64), index=True)
    limit: Mapped[str] = mapped_column(String(8))  # rpm, tpm or rpd
    old: Mapped[int] = mapped_column(Integer)
    new: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)


class QuotaReservation(Base):
    """A request (and its input tokens) counted against a model's windows from `at`."""

    __tablename__ = "quota_reservations"
    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    tokens: Mapped[int] = mapped_column(Integer)
    day_key: Mapped[str] = mapped_column(String(32))
    in_flight: Mapped[bool] = mapped_column(Boolean, default=True)


class QuotaDaily(Base):
    __tablename__ = "quota_daily"
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    day_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)


class Notification(Base):
    """Every e-mail, once per idempotency key: what was sent, to whom, and how it went."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("idempotency_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    recipients: Mapped[list] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(400))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    attachment_path: Mapped[str | None] = mapped_column(Text)
    # pending -> sent; or retrying -> ... -> failed
    status: Mapped[str] = mapped_column(String(20), default="pending")
    provider_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AppControl(Base):
    """Switches an admin flips for everything at once, e.g. `pause_all`."""

    __tablename__ = "app_controls"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RecordChange(Base):
    """One value an upload set, changed, left alone in a conflict, or a revert restored (`records.merge`).
    `field` "*" with action created/removed is the record itself."""

    __tablename__ = "record_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(32))  # election, candidate, election_link, candidate_link
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(16))
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"), index=True)  # None after retention
    upload_label: Mapped[str] = mapped_column(String(300), default="")  # the file, kept past retention
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RecordSource(Base):
    """An upload that gave a record (created it, or confirmed it with the same or more data)."""

    __tablename__ = "record_sources"
    __table_args__ = (UniqueConstraint("record_type", "record_id", "upload_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(Integer)
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"), index=True)
    created: Mapped[bool] = mapped_column(Boolean, default=False)


class ChangeDelivery(Base):
    """One published change set for the webhook (`notifications/webhook.py`), sent until received."""

    __tablename__ = "change_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"), index=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # the receiver's idempotency key
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, retrying, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

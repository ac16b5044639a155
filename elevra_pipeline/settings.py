"""Where things live and which services to talk to: read from the environment once, at wiring."""

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TEAM_EMAIL = "team@elevracommunity.com"
STORED_FILES = "elevra-files/"  # stored uploads and workbooks, without ELEVRA_STORAGE_URL (storage/files.py)


@dataclass(frozen=True)
class BucketUrl:
    """The s3://bucket/prefix form every bucket setting takes (upload, results and storage buckets)."""

    bucket: str
    prefix: str  # "" or ending with "/"

    @classmethod
    def parse(cls, url: str) -> "BucketUrl":
        """`s3://bucket` or `s3://bucket/some/prefix`; a ValueError names what is wrong."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"{url!r} is not an s3://bucket/prefix URL")
        prefix = parsed.path.strip("/")
        return cls(parsed.netloc, f"{prefix}/" if prefix else "")

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def data_dir() -> Path:
    """The local data folder (git-ignored): `ELEVRA_DATA_DIR`, default `data/` in the current directory.
    Never inside the installed package: a pip-installed copy must not write into site-packages."""
    return Path(os.environ.get("ELEVRA_DATA_DIR") or Path.cwd() / "data").resolve()


def database_label(url: str) -> str:
    """A folder name for one database (host, port, database, schema): one local outbox each."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", url.split("://", 1)[-1].split("@")[-1]).strip("-")[:80] or "database"


class SettingsError(ValueError):
    """An environment setting has a value we cannot use; the message names it."""


N = TypeVar("N", int, float)


def _read_number(name: str, cast: Callable[[str], N], minimum: float) -> N | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = cast(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if value <= minimum:
        raise SettingsError(f"{name}={raw!r} must be greater than {minimum:g}")
    return value


def _whole(raw: str) -> int:
    return int(float(raw))  # "1e3" and "1000.0" are 1000


def _number(name: str, default: float, minimum: float = 0) -> float:
    value = _read_number(name, float, minimum)
    return default if value is None else value


def _minutes_or_zero(name: str, default: float) -> float:
    """A number of minutes where 0 means "always" (e.g. every upload gets its stage e-mails)."""
    if os.environ.get(name, "").strip() in ("0", "0.0"):
        return 0.0
    return _number(name, default)


def _count(name: str, default: int, minimum: float = 0) -> int:
    value = _read_number(name, _whole, minimum)
    return default if value is None else value


@dataclass(frozen=True)
class Settings:
    """Every setting of the pipeline, read from the environment once, at wiring (and by the CLI)."""

    database_url: str
    upload_dir: Path
    workbook_dir: Path
    archive_dir: Path
    outbox_dir: Path
    elevra_base_url: str
    team_email: str
    quotas_file: str | None = None
    batch_lease_seconds: float = 900.0
    progress_seconds: float = 5.0
    retention_days: float = 180.0
    intake_max_file_mb: float | None = None
    intake_max_rows: int | None = None
    intake_max_cells: int | None = None
    intake_max_sheets: int | None = None
    intake_max_shared_strings: int | None = None
    intake_max_text_chars: int | None = None
    intake_max_cell_chars: int | None = None
    max_prompt_tokens: int = 50_000  # one model call's prompt, estimated before it is sent (uploads/prompt_budget.py)
    max_in_flight: int = 1024
    analysis_timeout_seconds: float = 120.0  # one analysis call (Gemini Pro thinks 10-30 s, sometimes far longer)
    structure_timeout_seconds: float = 90.0  # one structured-output call
    probe_after_seconds: float = 20.0  # a call unanswered this long probes the endpoint (gemini/silence.py)
    batch_poll_seconds: float = 60.0  # first poll of a Batch API job; then 1.5x per poll, up to 10 min
    upload_bucket: str | None = None  # s3://bucket/prefix: the upload bucket on object storage
    results_bucket: str | None = None  # s3://bucket/prefix: result workbooks written back there
    environment: str = "development"  # ELEVRA_ENVIRONMENT; production refuses no key, or an endpoint not Google's
    timezone: str = "America/Los_Angeles"  # ELEVRA_TIMEZONE: the team's; times in e-mails and status
    dagster_url: str | None = None  # ELEVRA_DAGSTER_URL: the Dagster UI, for links in the team's e-mails
    team_digest: bool = False  # ELEVRA_TEAM_DIGEST=daily: one e-mail a day for the team, alerts at once
    # ELEVRA_STAGE_EMAILS_AFTER_MINUTES: an upload expected to take less hears once, at the end (no Queued, no
    # stage e-mails); 0 sends them for every upload
    stage_emails_after_minutes: float = 5.0
    webhook_url: str | None = None  # ELEVRA_WEBHOOK_URL: published change sets go there (notifications/webhook.py)
    review: bool = False  # ELEVRA_REVIEW=1: every upload's records wait for `approve ID` unless it says otherwise
    processed_files: str = "delete"  # ELEVRA_PROCESSED_FILES: a finished upload's file leaves the bucket (or `move`)
    storage_url: str | None = None  # ELEVRA_STORAGE_URL, s3://bucket/prefix: stored uploads and workbooks there
    s3_endpoint_url: str | None = None  # AWS_ENDPOINT_URL: an S3-compatible server (MinIO, moto) instead of AWS
    s3_region: str | None = None  # AWS_REGION

    @classmethod
    def from_env(cls) -> "Settings":
        """Raises SettingsError naming the first setting that cannot be used."""
        base = data_dir()
        default_db = f"sqlite:///{base / 'elevra.db'}"
        database_url = _database_url("ELEVRA_DATABASE_URL") or default_db
        outbox = base / "outbox" if database_url == default_db else base / "outbox" / database_label(database_url)
        environment = require_gemini_key_in_production(os.environ)
        quotas_file = os.environ.get("ELEVRA_QUOTAS_FILE") or None
        if quotas_file and not Path(quotas_file).is_file():
            raise SettingsError(f"ELEVRA_QUOTAS_FILE={quotas_file!r} is not a file")
        return cls(
            database_url=database_url,
            upload_dir=Path(os.environ.get("ELEVRA_UPLOAD_DIR") or base / "uploads"),
            workbook_dir=Path(os.environ.get("ELEVRA_WORKBOOK_DIR") or base / "workbooks"),
            archive_dir=Path(os.environ.get("ELEVRA_ARCHIVE_DIR") or base / "archive"),
            outbox_dir=Path(os.environ.get("ELEVRA_OUTBOX_DIR") or outbox),
            elevra_base_url=os.environ.get("ELEVRA_BASE_URL", "https://www.elevracommunity.com").rstrip("/"),
            team_email=os.environ.get("ELEVRA_TEAM_EMAIL", DEFAULT_TEAM_EMAIL),
            quotas_file=quotas_file,
            batch_lease_seconds=_number("ELEVRA_BATCH_LEASE_SECONDS", 900.0),
            progress_seconds=_number("ELEVRA_PROGRESS_SECONDS", 5.0),
            retention_days=_number("ELEVRA_RETENTION_DAYS", 180.0),
            intake_max_file_mb=_read_number("ELEVRA_INTAKE_MAX_FILE_MB", float, 0),
            intake_max_rows=_read_number("ELEVRA_INTAKE_MAX_ROWS", _whole, 0),
            intake_max_cells=_read_number("ELEVRA_INTAKE_MAX_CELLS", _whole, 0),
            intake_max_sheets=_read_number("ELEVRA_INTAKE_MAX_SHEETS", _whole, 0),
            intake_max_shared_strings=_read_number("ELEVRA_INTAKE_MAX_SHARED_STRINGS", _whole, 0),
            intake_max_text_chars=_read_number("ELEVRA_INTAKE_MAX_TEXT_CHARS", _whole, 0),
            intake_max_cell_chars=_read_number("ELEVRA_INTAKE_MAX_CELL_CHARS", _whole, 0),
            max_prompt_tokens=_count("ELEVRA_MAX_PROMPT_TOKENS", 50_000, minimum=999),
            max_in_flight=_count("ELEVRA_MAX_IN_FLIGHT", 1024),
            batch_poll_seconds=_number("ELEVRA_BATCH_POLL_SECONDS", 60.0),
            analysis_timeout_seconds=_number("ELEVRA_ANALYSIS_TIMEOUT_SECONDS", 120.0, minimum=1),
            structure_timeout_seconds=_number("ELEVRA_STRUCTURE_TIMEOUT_SECONDS", 90.0, minimum=1),
            probe_after_seconds=_number("ELEVRA_PROBE_AFTER_SECONDS", 20.0, minimum=0.1),
            upload_bucket=_bucket_url("ELEVRA_UPLOAD_BUCKET"),
            storage_url=_storage_url("ELEVRA_STORAGE_URL", _bucket_url("ELEVRA_UPLOAD_BUCKET")),
            s3_endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
            s3_region=os.environ.get("AWS_REGION") or None,
            results_bucket=_bucket_url("ELEVRA_RESULTS_BUCKET"),
            environment=environment,
            timezone=_timezone("ELEVRA_TIMEZONE", "America/Los_Angeles"),
            dagster_url=(os.environ.get("ELEVRA_DAGSTER_URL") or "").rstrip("/") or None,
            team_digest=_digest("ELEVRA_TEAM_DIGEST"),
            stage_emails_after_minutes=_minutes_or_zero("ELEVRA_STAGE_EMAILS_AFTER_MINUTES", 5.0),
            processed_files=_processed_files("ELEVRA_PROCESSED_FILES"),
            review=_flag("ELEVRA_REVIEW"),
            webhook_url=_webhook_url("ELEVRA_WEBHOOK_URL", "ELEVRA_WEBHOOK_SECRET"),
        )


DATABASES = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg2")  # the drivers installed (not psycopg 3)


def _database_url(name: str) -> str | None:
    """The app database's URL, checked before any connection: SQLite or PostgreSQL through psycopg2. The
    value is never repeated with its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return None
    example = "postgresql+psycopg2://USER@HOST:5432/DATABASE or sqlite:///data/elevra.db"
    try:
        url = make_url(raw)
    except ArgumentError:
        raise SettingsError(f"{name} is not a database URL: write it as {example}") from None
    if url.drivername not in DATABASES:
        shown = url.render_as_string(hide_password=True)
        raise SettingsError(f"{name}={shown!r} is not a database this pipeline uses: write it as {example}")
    return raw


def _processed_files(name: str) -> str:
    """What becomes of a finished upload's file in the bucket: deleted (the source document's purge of raw
    files) or moved under `processed/` in the bucket."""
    raw = os.environ.get(name, "").strip().lower() or "delete"
    if raw not in ("delete", "move"):
        raise SettingsError(f"{name}={raw!r}: use delete (the default) or move (to processed/ in the bucket)")
    return raw


def _digest(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw not in ("", "off", "daily"):
        raise SettingsError(f"{name}={raw!r}: use daily (one digest a day for the team) or off")
    return raw == "daily"


def _timezone(name: str, default: str) -> str:
    raw = os.environ.get(name, "").strip() or default
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{name}={raw!r} is not a time zone (e.g. America/Los_Angeles, UTC)") from None
    return raw


ENVIRONMENTS = ("development", "production")
GEMINI_KEY_SETTINGS = ("GOOGLE_API_KEY", "GEMINI_API_KEY")  # the SDK's order: GOOGLE_API_KEY wins
GEMINI_ENDPOINT_SETTINGS = ("ELEVRA_GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL")  # ours, then the SDK's own
GEMINI_PROXY_SETTING = "ELEVRA_GEMINI_PROXY_URL"  # a proxy production may call instead of Google


def gemini_key_setting(env: Mapping[str, str]) -> str | None:
    """The variable the Gemini key is read from, as the SDK picks it; None when neither is set."""
    return next((name for name in GEMINI_KEY_SETTINGS if (env.get(name) or "").strip()), None)


def is_googles_endpoint(url: str) -> bool:
    """Google's own Gemini endpoint (generativelanguage.googleapis.com, or Vertex AI's), over https."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and (host == "googleapis.com" or host.endswith(".googleapis.com"))


def require_gemini_key_in_production(env: Mapping[str, str]) -> str:
    """ELEVRA_ENVIRONMENT, checked: production never falls back to the offline emulator, nor calls an
    endpoint that is not Google's (unless named as its proxy), whose answers would become records in a
    real database."""
    environment = (env.get("ELEVRA_ENVIRONMENT") or "development").strip().lower()
    if environment not in ENVIRONMENTS:
        raise SettingsError(f"ELEVRA_ENVIRONMENT={environment!r}: use one of {', '.join(ENVIRONMENTS)}")
    if environment != "production":
        return environment
    if gemini_key_setting(env) is None:
        raise SettingsError(
            "ELEVRA_ENVIRONMENT=production but GEMINI_API_KEY is not set: refusing to start, because without "
            "a key the pipeline would use its offline Gemini emulator and store invented records. Set "
            "GEMINI_API_KEY (or GOOGLE_API_KEY, a secret), or unset ELEVRA_ENVIRONMENT for a local trial."
        )
    proxy = (env.get(GEMINI_PROXY_SETTING) or "").strip().rstrip("/")
    for name in GEMINI_ENDPOINT_SETTINGS:
        url = (env.get(name) or "").strip()
        if url and not is_googles_endpoint(url) and url.rstrip("/") != proxy:
            raise SettingsError(
                f"ELEVRA_ENVIRONMENT=production but {name}={url!r} is not Google's Gemini endpoint: refusing to "
                "start, because an emulator's or another server's answers would be stored as records. Unset "
                f"{name} to call Google, or name the proxy production may use in {GEMINI_PROXY_SETTING}."
            )
    return environment


def _bucket_url(name: str) -> str | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return str(BucketUrl.parse(raw))
    except ValueError as e:
        raise SettingsError(f"{name}={raw!r}: {e}") from None


def _storage_url(name: str, upload_bucket: str | None) -> str | None:
    """ELEVRA_STORAGE_URL; without it, a folder of the upload bucket (which its sensor never lists): every
    process of a cluster already reaches that bucket. None: the local folders."""
    if url := _bucket_url(name):
        return url
    return f"{upload_bucket}{STORED_FILES}" if upload_bucket else None


def _flag(name: str) -> bool:
    value = (os.environ.get(name) or "").strip().casefold()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}={os.environ[name]!r}: write 1 (on) or 0 (off)")


def _webhook_url(name: str, secret: str) -> str | None:
    """The receiver of published change sets; it needs the signing secret (read by the wiring, as an EnvVar)."""
    url = (os.environ.get(name) or "").strip()
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise SettingsError(f"{name}={url!r} is not an http(s) URL")
    if not os.environ.get(secret):
        raise SettingsError(f"{name} is set but {secret} is not: the receiver could not check the signature")
    return url

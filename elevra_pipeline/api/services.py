"""Everything the API talks to, read from the environment once (`ApiServices.from_env`, at `serve`):
the pipeline's settings, database, file store, e-mail and Gemini's Batch API, the tokens and CORS.

The calls into modules whose storage is changing (registration, the stored workbook) are kept here,
one place each."""

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from elevra_pipeline.api.auth import TokenBook, configured_tokens
from elevra_pipeline.gemini.batch_jobs import GeminiBatches
from elevra_pipeline.gemini.client import make_client
from elevra_pipeline.intake.limits import intake_limits
from elevra_pipeline.notifications.mailer import Mailer
from elevra_pipeline.notifications.notifier import Notifier
from elevra_pipeline.quotas.limits import DEFAULT_QUOTAS_FILE, QuotaConfig, load_quotas
from elevra_pipeline.settings import Settings, SettingsError, gemini_key_setting
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.files import FileStore, file_store
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads.registration import Registration, register_file

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _seconds(env, name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = -1.0
    if value <= 0:
        raise SettingsError(f"{name}={raw!r} must be a number of seconds greater than 0")
    return value


@dataclass
class ApiServices:
    settings: Settings
    repo: Repository
    tokens: TokenBook
    cors_origins: list[str] = field(default_factory=list)
    mailer: Mailer | None = None
    batches: GeminiBatches | None = None
    poll_seconds: float = 1.0  # how often a live view (Server-Sent Events) looks at its upload
    quotas: QuotaConfig | None = None  # for the ETA in status documents (None: the built-in quotas)
    _files: FileStore | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env=os.environ) -> "ApiServices":
        settings = Settings.from_env()
        repo = Repository(migrated_engine(settings.database_url))
        key, base_url = env.get(gemini_key_setting(env) or "GEMINI_API_KEY"), env.get("ELEVRA_GEMINI_BASE_URL")
        return cls(
            settings=settings,
            repo=repo,
            tokens=TokenBook(repo, configured_tokens(env.get("ELEVRA_API_TOKENS"))),
            cors_origins=[o.strip() for o in (env.get("ELEVRA_API_CORS_ORIGINS") or "").split(",") if o.strip()],
            mailer=Mailer(
                str(settings.outbox_dir),
                env.get("RESEND_API_KEY") or None,
                env.get("ELEVRA_RESEND_API_URL") or env.get("RESEND_API_URL") or None,
            ),
            batches=GeminiBatches(make_client(key, base_url, 60)) if key or base_url else None,
            poll_seconds=_seconds(env, "ELEVRA_API_POLL_SECONDS", 1.0),
            quotas=load_quotas(settings.quotas_file or DEFAULT_QUOTAS_FILE),
        )

    @property
    def max_file_bytes(self) -> int:
        return intake_limits(self.settings.intake_max_file_mb).max_file_bytes

    def staging_dir(self) -> Path:
        """Where a file being received is written before it is registered (removed after): a scratch
        folder of this machine; registration stores the file (storage/files.py)."""
        return Path(tempfile.gettempdir()) / "elevra-incoming"

    def files(self) -> FileStore:
        if self._files is None:
            self._files = file_store(self.settings)  # one store (and S3 client) for the service
        return self._files

    def notifier(self) -> Notifier | None:
        if self.mailer is None:
            return None
        s = self.settings
        return Notifier(
            self.repo,
            self.mailer,
            s.team_email,
            team_digest=s.team_digest,
            stage_emails_after=s.stage_emails_after_minutes * 60,
            dagster_url=s.dagster_url,
            files=self.files(),
        )

    def register(self, path: Path, options: dict, actor: str) -> Registration:
        """The same registration as the bucket sensor's and `process`'s: options checked first; a
        revision's history says who sent it."""
        return register_file(self.repo, path, self.files(), options=options, given_by=f"upload page / API ({actor})")

    def workbook(self, upload) -> bytes | None:
        """The upload's result workbook as stored now, None when there is none (yet, or any more)."""
        if not upload.workbook_path:
            return None
        try:
            return self.files().read_bytes(upload.workbook_path)  # one request on object storage
        except FileNotFoundError:
            return None

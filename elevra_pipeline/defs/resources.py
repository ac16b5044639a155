"""The Dagster resources: thin, typed wrappers over the domain services, configured at wiring
(`defs/wiring.build_resources`), never from the environment themselves."""

import dagster as dg
from pydantic import PrivateAttr

from elevra_pipeline.gemini.batch_jobs import GeminiBatches
from elevra_pipeline.gemini.client import GeminiCaller, make_client
from elevra_pipeline.gemini.service import GeminiService
from elevra_pipeline.intake.limits import IntakeLimits, intake_limits
from elevra_pipeline.notifications.mailer import DEFAULT_FROM, Mailer, OutgoingEmail
from elevra_pipeline.notifications.notifier import Notifier
from elevra_pipeline.notifications.webhook import WebhookSender
from elevra_pipeline.quotas.limits import DEFAULT_QUOTAS_FILE, QuotaConfig, load_quotas
from elevra_pipeline.settings import Settings
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.files import FileStore, open_file_store
from elevra_pipeline.storage.repository import Repository


class AppResource(dg.ConfigurableResource):
    """The pipeline's own settings (folders, URLs, limits), filled from `Settings` at wiring."""

    upload_dir: str
    archive_dir: str
    workbook_dir: str
    base_url: str
    team_email: str
    quotas_file: str | None = None
    batch_lease_seconds: float = 900.0
    progress_seconds: float = 5.0  # how often a model stage logs how far it is
    retention_days: float = 180.0
    intake_max_file_mb: float | None = None
    intake_max_rows: int | None = None
    intake_max_cells: int | None = None
    intake_max_sheets: int | None = None
    intake_max_shared_strings: int | None = None
    intake_max_text_chars: int | None = None
    intake_max_cell_chars: int | None = None
    max_prompt_tokens: int = 50_000  # one model call's prompt: a larger one is refused before it is sent
    upload_bucket: str | None = None  # s3://bucket/prefix instead of `upload_dir`
    results_bucket: str | None = None  # s3://bucket/prefix for result workbooks
    timezone: str = "America/Los_Angeles"  # the team's: times in e-mails
    dagster_url: str | None = None  # the Dagster UI, linked from the team's e-mails
    team_digest: bool = False  # the team gets one digest a day instead of a copy of each e-mail
    stage_emails_after_minutes: float = 5.0  # a shorter upload gets one e-mail, at the end
    processed_files: str = "delete"  # a finished upload's file in the bucket: deleted, or moved to processed/
    review: bool = False  # every upload's records wait for `approve ID` unless its options say otherwise
    webhook_url: str | None = None  # published change sets are POSTed there, signed with webhook_secret
    webhook_secret: str | None = None  # an EnvVar (ELEVRA_WEBHOOK_SECRET): resolved by Dagster, hidden in the UI
    storage_url: str | None = None  # s3://bucket/prefix: stored uploads and workbooks, shared by every process
    s3_endpoint_url: str | None = None  # an S3-compatible server instead of AWS (AWS_ENDPOINT_URL)
    s3_region: str | None = None
    _files: FileStore | None = PrivateAttr(default=None)

    @classmethod
    def from_settings(cls, settings: Settings) -> "AppResource":
        return cls(
            upload_dir=str(settings.upload_dir),
            archive_dir=str(settings.archive_dir),
            workbook_dir=str(settings.workbook_dir),
            base_url=settings.elevra_base_url,
            team_email=settings.team_email,
            quotas_file=settings.quotas_file,
            batch_lease_seconds=settings.batch_lease_seconds,
            progress_seconds=settings.progress_seconds,
            retention_days=settings.retention_days,
            intake_max_file_mb=settings.intake_max_file_mb,
            intake_max_rows=settings.intake_max_rows,
            intake_max_cells=settings.intake_max_cells,
            intake_max_sheets=settings.intake_max_sheets,
            intake_max_shared_strings=settings.intake_max_shared_strings,
            intake_max_text_chars=settings.intake_max_text_chars,
            intake_max_cell_chars=settings.intake_max_cell_chars,
            max_prompt_tokens=settings.max_prompt_tokens,
            upload_bucket=settings.upload_bucket,
            results_bucket=settings.results_bucket,
            timezone=settings.timezone,
            dagster_url=settings.dagster_url,
            team_digest=settings.team_digest,
            stage_emails_after_minutes=settings.stage_emails_after_minutes,
            processed_files=settings.processed_files,
            review=settings.review,
            webhook_url=settings.webhook_url,
            webhook_secret=dg.EnvVar("ELEVRA_WEBHOOK_SECRET") if settings.webhook_url else None,
            storage_url=settings.storage_url,
            s3_endpoint_url=settings.s3_endpoint_url,
            s3_region=settings.s3_region,
        )

    def files(self) -> FileStore:
        """Where stored uploads and workbooks are (storage/files.py): object storage when configured."""
        if self._files is None:
            self._files = open_file_store(
                self.archive_dir, self.workbook_dir, self.storage_url, self.s3_endpoint_url, self.s3_region
            )
        return self._files

    def webhook(self) -> WebhookSender | None:
        """The sender of published change sets, when a receiver is set (call on a resolved resource)."""
        return WebhookSender(self.webhook_secret) if self.webhook_url and self.webhook_secret else None

    def notifier(self, repo, mailer) -> Notifier:
        """The e-mail logger and sender, with the team's address and digest choice."""
        return Notifier(
            repo,
            mailer,
            self.team_email,
            team_digest=self.team_digest,
            stage_emails_after=self.stage_emails_after_minutes * 60,
            dagster_url=self.dagster_url,
            files=self.files(),
        )

    def intake_limits(self) -> IntakeLimits:
        return intake_limits(
            self.intake_max_file_mb,
            self.intake_max_rows,
            self.intake_max_cells,
            self.intake_max_sheets,
            self.intake_max_shared_strings,
            self.intake_max_text_chars,
            self.intake_max_cell_chars,
        )

    def quotas(self) -> QuotaConfig:
        return load_quotas(self.quotas_file or DEFAULT_QUOTAS_FILE)


class DatabaseResource(dg.ConfigurableResource):
    """The app database: `url` (wiring passes `ELEVRA_DATABASE_URL`, else `sqlite:///<data>/elevra.db`)."""

    url: str

    def repository(self) -> Repository:
        return Repository(migrated_engine(self.url))


class GeminiResource(dg.ConfigurableResource):
    """`GeminiService` for a run: set up once per run, its emulator (if any) stopped after."""

    api_key: str | None = None
    base_url: str | None = None
    quotas_file: str | None = None
    database_url: str
    analysis_models: list[str] | None = None
    structure_models: list[str] | None = None
    timeout_seconds: float = 120.0
    max_attempts: int = 5
    backoff_base_seconds: float = 1.0
    max_in_flight: int = 1024  # per run; the quotas decide how many of these are used (quotas.in_flight)
    batch_poll_seconds: float = 60.0
    analysis_timeout_seconds: float = 120.0
    structure_timeout_seconds: float = 90.0
    probe_after_seconds: float = 20.0
    production: bool = False  # ELEVRA_ENVIRONMENT=production: an endpoint answering as the emulator is refused

    _service: GeminiService | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        log = context.log if context and context.log else None
        self._service = GeminiService(
            database_url=self.database_url,
            api_key=self.api_key,
            base_url=self.base_url,
            quotas_file=self.quotas_file,
            analysis_models=self.analysis_models,
            structure_models=self.structure_models,
            timeout_seconds=self.timeout_seconds,
            max_attempts=self.max_attempts,
            backoff_base_seconds=self.backoff_base_seconds,
            max_in_flight=self.max_in_flight,
            analysis_timeout_seconds=self.analysis_timeout_seconds,
            structure_timeout_seconds=self.structure_timeout_seconds,
            probe_after_seconds=self.probe_after_seconds,
            production=self.production,
        ).start(warn=log.warning if log else lambda message: None)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._service is not None:
            self._service.stop()

    @property
    def caller(self) -> GeminiCaller:
        return self._service.caller

    @property
    def quotas(self) -> QuotaConfig:
        return self._service.quotas

    def chain(self, stage: str) -> list[str]:
        return self._service.chain(stage)

    def in_flight(self, stage: str) -> int:
        return self._service.in_flight(stage)

    @property
    def batches(self) -> GeminiBatches:
        return GeminiBatches(self._service.caller.client)

    @property
    def emulated(self) -> bool:
        """This run's answers come from the offline emulator (marked on the upload, its e-mails and workbook)."""
        return self._service.emulated

    @property
    def batch_unavailable(self) -> str | None:
        """Why this run cannot use the Batch API (None: it can)."""
        return self._service.batch_unavailable


class GeminiBatchesResource(dg.ConfigurableResource):
    """Gemini's Batch API for the batch-jobs sensor: the SDK client alone (no quota engine, no emulator:
    jobs live at Gemini, or at an emulator that outlives the runs, `ELEVRA_GEMINI_BASE_URL`)."""

    api_key: str | None = None
    base_url: str | None = None
    timeout_seconds: float = 60.0
    poll_seconds: float = 60.0

    def client(self) -> GeminiBatches | None:
        """None without a key or an endpoint: no Batch API job can exist then."""
        if not self.api_key and not self.base_url:
            return None
        return GeminiBatches(make_client(self.api_key, self.base_url, self.timeout_seconds))


class EmailResource(dg.ConfigurableResource):
    """Resend with `api_key` (wiring passes `RESEND_API_KEY` as an EnvVar), else `.eml` files in `outbox_dir`."""

    api_key: str | None = None
    api_url: str | None = None
    from_address: str = DEFAULT_FROM
    outbox_dir: str

    def mailer(self) -> Mailer:
        return Mailer(self.outbox_dir, self.api_key, self.api_url, self.from_address)

    @property
    def uses_resend(self) -> bool:
        return self.mailer().uses_resend

    def outbox(self):
        return self.mailer().outbox()

    def send(self, email: OutgoingEmail) -> str:
        return self.mailer().send(email)

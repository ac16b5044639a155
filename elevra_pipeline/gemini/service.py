"""Gemini for the pipeline: the real SDK, to Gemini with a key, else to the bundled emulator."""

import time
from dataclasses import dataclass, field

from elevra_pipeline.exceptions import GeminiEndpointError
from elevra_pipeline.gemini.client import GeminiCaller, make_client
from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.gemini.model_check import ModelCheck, check_models
from elevra_pipeline.quotas.engine import QuotaEngine
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import DEFAULT_QUOTAS_FILE, QuotaConfig, load_quotas
from elevra_pipeline.storage.database import migrated_engine


@dataclass
class GeminiService:
    """Every call goes through the quota engine, whose ledger lives in the app database. Without an
    API key or base URL it starts the offline emulator (and says so through `warn`)."""

    database_url: str
    api_key: str | None = None
    base_url: str | None = None
    quotas_file: str | None = None
    analysis_models: list[str] | None = None
    structure_models: list[str] | None = None
    timeout_seconds: float = 120.0
    max_attempts: int = 5
    backoff_base_seconds: float = 1.0
    max_in_flight: int = 1024
    analysis_timeout_seconds: float = 120.0  # per call of the stage; a silent endpoint is found sooner
    structure_timeout_seconds: float = 90.0
    probe_after_seconds: float = 20.0  # see gemini/silence.py
    production: bool = False  # an endpoint that answers as the emulator is refused
    caller: GeminiCaller = field(init=False)
    emulator: object = field(init=False, default=None)
    endpoint: str | None = field(init=False, default=None)  # the base URL in use (None: Google's own)
    model_check: ModelCheck = field(init=False, default_factory=ModelCheck)

    def start(self, warn=lambda message: None) -> "GeminiService":
        quotas = load_quotas(self.quotas_file or DEFAULT_QUOTAS_FILE)
        base_url = self.base_url
        if not self.api_key and not base_url:
            self.emulator = start_in_thread(quotas=quotas)
            base_url = self.emulator.base_url
            warn(
                f"GEMINI_API_KEY is not set: using the offline Gemini EMULATOR at {base_url}. "
                "Outputs are EMULATED, not real Gemini answers."
            )
        self.endpoint = base_url
        engine = migrated_engine(self.database_url)
        ledger = QuotaLedger.for_config(engine, quotas)
        quota_engine = QuotaEngine(
            quotas,
            ledger,
            record_attempts=True,
            max_attempts=self.max_attempts,
            backoff_base=self.backoff_base_seconds,
            max_in_flight=self.max_in_flight,
        )
        client = make_client(self.api_key, base_url, self.timeout_seconds, self.max_in_flight)
        timeouts = {"analysis": self.analysis_timeout_seconds, "structure": self.structure_timeout_seconds}
        self.caller = GeminiCaller(client, quota_engine, timeouts)
        self.caller.watch.probe_after = self.probe_after_seconds
        self.caller.watch.probe_timeout = min(10.0, self.probe_after_seconds)
        models = [m for stage in ("analysis", "structure") for m in self.chain(stage)]
        self.model_check = check_models(client, ledger, models, batch=False, now=time.time())
        if self.production and self.emulated:
            raise GeminiEndpointError(
                f"ELEVRA_ENVIRONMENT=production but the Gemini endpoint {base_url} answers as the offline "
                "emulator: refusing to start, because its invented answers would be stored as records. Point "
                "ELEVRA_GEMINI_BASE_URL (or ELEVRA_GEMINI_PROXY_URL) at Google or at a proxy in front of it."
            )
        if self.model_check.error or self.model_check.problems:
            warn(f"Gemini models: {self.model_check.summary()}")
        return self

    @property
    def emulated(self) -> bool:
        """Answers come from the offline emulator, not Gemini: records made from them are not real."""
        return self.emulator is not None or self.model_check.emulated

    def stop(self) -> None:
        if self.emulator is not None:
            self.emulator.shutdown()
            self.emulator.server_close()

    @property
    def quotas(self) -> QuotaConfig:
        """The quotas file loaded at set-up (the one the engine enforces)."""
        return self.caller.engine.config

    @property
    def batch_unavailable(self) -> str | None:
        """Batch API jobs outlive a run: the emulator started inside this run does not."""
        if self.emulator is not None:
            return (
                "the Gemini emulator started inside the run ends with it; batch mode needs GEMINI_API_KEY "
                "or ELEVRA_GEMINI_BASE_URL (e.g. `elevra-pipeline emulator`)"
            )
        return None

    def chain(self, stage: str) -> list[str]:
        override = {"analysis": self.analysis_models, "structure": self.structure_models}[stage]
        return self.caller.engine.config.chain(stage, override)

    def in_flight(self, stage: str) -> int:
        """Calls of `stage` to keep in flight now: from the chain's quotas and answer times."""
        return self.caller.engine.in_flight(stage, self.chain(stage))

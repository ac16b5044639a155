"""Gemini for the pipeline: the real SDK, to Gemini with a key, else to the bundled emulator."""

import os

import dagster as dg
from pydantic import PrivateAttr

from elevra_pipeline.gemini.client import GeminiCaller, make_client
from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.quotas.engine import QuotaEngine
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import QuotaConfig, load_quotas
from elevra_pipeline.settings import Settings
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.repository import Repository


def _models_from_env(name: str) -> list[str] | None:
    value = os.environ.get(name, "").strip()
    return [m.strip() for m in value.split(",") if m.strip()] or None


class GeminiResource(dg.ConfigurableResource):
    """Every call goes through the quota engine, whose ledger lives in the app database."""
    api_key: str | None = None
    base_url: str | None = None
    quotas_file: str | None = None
    database_url: str | None = None
    analysis_models: list[str] | None = None
    structure_models: list[str] | None = None
    timeout_seconds: float = 120.0
    max_attempts: int = 5
    backoff_base_seconds: float = 1.0
    batch_concurrency: int = 4

    _caller: GeminiCaller | None = PrivateAttr(default=None)
    _emulator = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        log = context.log if context and context.log else None
        quotas = load_quotas(self.quotas_file)
        api_key = self.api_key or os.environ.get("GEMINI_API_KEY")
        base_url = self.base_url or os.environ.get("ELEVRA_GEMINI_BASE_URL")
        if not api_key and not base_url:
            self._emulator = start_in_thread(quotas=quotas)
            base_url = self._emulator.base_url
            if log:
                log.warning(f"GEMINI_API_KEY is not set: using the offline Gemini EMULATOR at {base_url}. "
                            "Outputs are EMULATED, not real Gemini answers.")
        engine = migrated_engine(self.database_url or Settings.from_env().database_url)
        ledger = QuotaLedger(engine, quotas.window_seconds, quotas.day_seconds, quotas.in_flight_lease_seconds)
        attempts = Repository(engine)
        quota_engine = QuotaEngine(quotas, ledger, attempt_sink=lambda row: attempts.record_attempt(**row),
                                   max_attempts=self.max_attempts, backoff_base=self.backoff_base_seconds)
        self._caller = GeminiCaller(make_client(api_key, base_url, self.timeout_seconds), quota_engine)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._emulator is not None:
            self._emulator.shutdown()
            self._emulator.server_close()

    @property
    def caller(self) -> GeminiCaller:
        return self._caller

    @property
    def quotas(self) -> QuotaConfig:
        """The quotas file loaded at set-up (the one the engine enforces)."""
        return self._caller.engine.config

    def chain(self, stage: str) -> list[str]:
        override = {"analysis": self.analysis_models or _models_from_env("ELEVRA_ANALYSIS_MODELS"),
                    "structure": self.structure_models or _models_from_env("ELEVRA_STRUCTURE_MODELS")}[stage]
        return self._caller.engine.config.chain(stage, override)

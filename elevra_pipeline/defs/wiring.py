"""The resources every Dagster entry point uses (the code location, the command line's runner), built from
the environment: each setting is read here, once."""

import os

import dagster as dg
from dagster_aws.s3 import S3Resource

from elevra_pipeline.defs.resources import (
    AppResource,
    DatabaseResource,
    EmailResource,
    GeminiBatchesResource,
    GeminiResource,
)
from elevra_pipeline.settings import Settings, gemini_key_setting


def _env(name: str):
    """Secrets and URLs through `dg.EnvVar` when set (resolved by Dagster, hidden in the UI); unset means
    the local default."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def _models(name: str) -> list[str] | None:
    return [m.strip() for m in os.environ.get(name, "").split(",") if m.strip()] or None


def build_resources() -> dict:
    """Every setting is read here, once, when the code location loads."""
    settings = Settings.from_env()  # refuses an unusable setting, naming it
    app = AppResource.from_settings(settings)
    app.quotas()  # an invalid quotas file is refused now, not at the first model call
    database_url = _env("ELEVRA_DATABASE_URL") or settings.database_url
    key = _env(gemini_key_setting(os.environ) or "GEMINI_API_KEY")  # GOOGLE_API_KEY first, as the SDK reads them
    return {
        "app": app,
        "database": DatabaseResource(url=database_url),
        "gemini": GeminiResource(
            api_key=key,
            base_url=_env("ELEVRA_GEMINI_BASE_URL"),
            quotas_file=settings.quotas_file,
            database_url=database_url,
            analysis_models=_models("ELEVRA_ANALYSIS_MODELS"),
            structure_models=_models("ELEVRA_STRUCTURE_MODELS"),
            max_in_flight=settings.max_in_flight,
            batch_poll_seconds=settings.batch_poll_seconds,
            analysis_timeout_seconds=settings.analysis_timeout_seconds,
            structure_timeout_seconds=settings.structure_timeout_seconds,
            probe_after_seconds=settings.probe_after_seconds,
            production=settings.environment == "production",
        ),
        "gemini_batches": GeminiBatchesResource(
            api_key=key,
            base_url=_env("ELEVRA_GEMINI_BASE_URL"),
            poll_seconds=settings.batch_poll_seconds,
        ),
        # object storage for ELEVRA_UPLOAD_BUCKET: credentials from the environment or the instance role
        "s3": S3Resource(endpoint_url=_env("AWS_ENDPOINT_URL"), region_name=_env("AWS_REGION")),
        "email": EmailResource(
            api_key=_env("RESEND_API_KEY"),
            api_url=_env("ELEVRA_RESEND_API_URL") or _env("RESEND_API_URL"),
            outbox_dir=str(settings.outbox_dir),
        ),
    }

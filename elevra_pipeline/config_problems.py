"""What a command says when the deployment, not the code, is wrong: one line naming the setting to check
(an unreachable database, a missing bucket), instead of a traceback. `--verbose` shows the traceback.

Each rule reads one kind of error and says it in plain words; an error no rule knows is a bug, and its
traceback is shown as it is. A database URL is shown without its password."""

import os

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

DATABASE_SETTING = "ELEVRA_DATABASE_URL"
BUCKET_SETTINGS = "ELEVRA_UPLOAD_BUCKET, ELEVRA_STORAGE_URL and ELEVRA_RESULTS_BUCKET"
S3_SETTINGS = "AWS_ENDPOINT_URL, AWS_REGION and the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or a role)"


def shown_url(url: str | None) -> str:
    """The database URL without its password; 'the default SQLite file' when none is set."""
    if not url:
        return "the default SQLite file (data/elevra.db)"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a URL)"


def first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return (text.splitlines() or [type(error).__name__])[0][:300]


def database_unreachable(error: BaseException) -> str | None:
    if not isinstance(error, OperationalError):
        return None
    where = shown_url(os.environ.get(DATABASE_SETTING))
    return (
        f"the database {where} cannot be used ({first_line(error)}); check {DATABASE_SETTING} and that the "
        "database server is running and reachable from here"
    )


def bucket_unusable(error: BaseException) -> str | None:
    """boto3's refusals (no such bucket, access denied, bad credentials) and an unreachable endpoint."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 comes with dagster-aws
        return None
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        bucket = details.get("BucketName")
        what = f"the bucket '{bucket}'" if bucket else "object storage"
        code, message = details.get("Code", "?"), details.get("Message", "")
        return f"{what} cannot be used ({code}: {message}); check {BUCKET_SETTINGS}, and {S3_SETTINGS}"
    if isinstance(error, BotoCoreError):
        return f"object storage cannot be reached ({first_line(error)}); check {S3_SETTINGS}, and {BUCKET_SETTINGS}"
    return None


def gemini_endpoint_refused(error: BaseException) -> str | None:
    from elevra_pipeline.exceptions import GeminiEndpointError

    return str(error) if isinstance(error, GeminiEndpointError) else None


RULES = (database_unreachable, bucket_unusable, gemini_endpoint_refused)


def configuration_problem(error: BaseException) -> str | None:
    """One line for an error the deployment's settings cause (the setting to check named), else None."""
    seen = set()
    while error is not None and id(error) not in seen:  # a wrapped one counts too (a Dagster step's)
        seen.add(id(error))
        for rule in RULES:
            if (line := rule(error)) is not None:
                return line
        error = error.__cause__ or error.__context__
    return None

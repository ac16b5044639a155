"""`upload_admin`: the admin actions from the Dagster UI's launchpad (Jobs -> upload_admin)."""

from typing import Literal

import dagster as dg

from elevra_pipeline.defs.resources import AppResource, DatabaseResource, EmailResource, GeminiBatchesResource
from elevra_pipeline.defs.runs import stop_upload_runs
from elevra_pipeline.exceptions import ElevraError
from elevra_pipeline.uploads import admin, review


class UploadAdminConfig(dg.Config):
    action: Literal["redo", "skip", "pause", "resume", "cancel", "retry", "revert", "approve", "discard"]
    upload_id: int | None = None  # pause/resume: empty means every upload
    batch_key: str = ""
    reason: str = ""


@dg.op
def apply_upload_admin_action(
    context: dg.OpExecutionContext,
    config: UploadAdminConfig,
    database: DatabaseResource,
    email: EmailResource,
    app: AppResource,
    gemini_batches: GeminiBatchesResource,
) -> None:
    """Redo or skip a batch, pause or resume model work, cancel an upload, read its stored file again
    (`retry`) or undo its changes to the records (`revert`); recorded on the batch or in the upload's history."""
    if config.action not in ("pause", "resume") and config.upload_id is None:
        raise dg.Failure(f"'{config.action}' needs an upload_id")
    try:
        message = _apply(context, config, database.repository(), email, app, gemini_batches)
    except ElevraError as e:  # refused (the upload's state does not allow it, no such batch…): one sentence
        raise dg.Failure(description=str(e), allow_retries=False) from None
    context.log.info(message)


def _who(context: dg.OpExecutionContext) -> str:
    """Who launched the job, as far as Dagster knows (OSS has no login: the job itself)."""
    return context.run.tags.get("dagster/user") or "an admin (upload_admin job)"


def _apply(context, config: UploadAdminConfig, repo, email, app, gemini_batches) -> str:
    if config.action == "redo":
        message = admin.redo_batch(repo, config.upload_id, config.batch_key, config.reason)
    elif config.action == "skip":
        message = admin.skip_batch(repo, config.upload_id, config.batch_key, config.reason, _who(context))
    elif config.action == "retry":
        message = admin.reopen_upload(repo, config.upload_id, config.reason, app.files())
    elif config.action == "revert":
        message = admin.revert(repo, config.upload_id, config.reason, app.webhook_url, app.notifier(repo, email))
    elif config.action == "approve":
        message = review.approve(repo, config.upload_id, config.reason) + "; materialize it to publish"
    elif config.action == "discard":
        message = review.discard(repo, config.upload_id, config.reason)
    elif config.action in ("pause", "resume"):
        message = admin.set_paused(repo, config.upload_id, config.action == "pause")
    else:
        notifier = app.notifier(repo, email)
        message = admin.cancel_upload(
            repo, config.upload_id, notifier, stop_upload_runs(context.instance), config.reason, gemini_batches.client()
        )
    return message


@dg.job(tags={"elevra/kind": "admin"})
def upload_admin():
    apply_upload_admin_action()

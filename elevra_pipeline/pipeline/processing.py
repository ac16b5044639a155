"""Process one file in this process: register it, then materialize its partition stage by stage."""

import os
import time
from pathlib import Path
from typing import Callable

import dagster as dg

from elevra_pipeline.definitions import build_resources
from elevra_pipeline.notifications.notifier import Notifier
from elevra_pipeline.notifications.sensors import STAGE_EMAILS
from elevra_pipeline.pipeline.assets import upload_assets
from elevra_pipeline.pipeline.partitions import uploads_partitions
from elevra_pipeline.pipeline.registration import register_file
from elevra_pipeline.settings import Settings
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.workbook.summary import model_usage


def dagster_instance_or_none() -> dg.DagsterInstance | None:
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None


def _instance() -> dg.DagsterInstance:
    """The Dagster home's instance when DAGSTER_HOME is set (runs show in the UI), else ephemeral."""
    return dagster_instance_or_none() or dg.DagsterInstance.ephemeral()


def process_file(path: Path, uploader: str | None = None, progress: Callable[[str], None] = print,
                 instance: dg.DagsterInstance | None = None, resources: dict | None = None,
                 keep_raw_file: bool = False, options: dict | None = None) -> dict:
    """`options`: election_date, jurisdiction, state, columns (JSON) for the whole file; they win over the sidecar."""
    settings = Settings.from_env()
    repo = Repository(migrated_engine(settings.database_url))
    if not path.exists():
        return {"upload_id": None, "status": "failed", "reason": f"no such file: {path}"}
    try:
        registration = register_file(repo, path, settings.archive_dir, uploader, keep_raw_file, options)
    except OSError as e:
        return {"upload_id": None, "status": "failed", "reason": f"cannot read {path}: {e}"}
    upload = registration.upload
    if not registration.is_new and upload.original_filename != path.name:
        progress(f"'{path.name}' has the same content as upload {upload.id} ('{upload.original_filename}'): "
                 "reporting that upload")
    resources = resources or build_resources()
    notifier = Notifier(repo, resources["email"])
    progress(f"upload {upload.id} ({upload.partition_key}): {'registered' if registration.is_new else 'already known, resuming'}")
    owned = instance is None  # an instance we create, we dispose: it registers process-wide state
    if not registration.rejected:
        instance = instance or _instance()
        try:
            _run_stages(instance, upload, resources, repo, notifier, progress)
        finally:
            if owned:
                instance.dispose()
    else:
        notifier.notify(upload, "rejected")
        _deliver(notifier, progress)
    outcome = upload_outcome(repo, upload.id)
    if not registration.is_new:
        outcome["duplicate_of"] = upload.id
        if upload.original_filename != path.name and outcome["reason"]:
            outcome["reason"] = f"same content as upload {upload.id} ('{upload.original_filename}'): {outcome['reason']}"
    return outcome


def _run_stages(instance, upload, resources, repo, notifier, progress) -> None:
    """Materialize the partition stage by stage, printing progress and sending each stage's e-mail."""
    instance.add_dynamic_partitions(uploads_partitions.name, [upload.partition_key])
    for index, asset in enumerate(upload_assets, start=1):
        started = time.monotonic()
        result = dg.materialize(upload_assets, selection=[asset], instance=instance,
                                partition_key=upload.partition_key, resources=resources,
                                raise_on_error=False, tags={"elevra/kind": "cli"})
        metadata = {}
        for event in result.get_asset_materialization_events():
            metadata = {k: v.value for k, v in event.materialization.metadata.items()}
        shown = ", ".join(f"{k}={v}" for k, v in metadata.items() if isinstance(v, (int, float, str)) and "\n" not in str(v) and k != "path")
        progress(f"[{index}/{len(upload_assets)}] {asset.key.to_user_string()}: "
                 f"{'ok' if result.success else 'FAILED'} in {time.monotonic() - started:.1f}s {shown}")
        kind = STAGE_EMAILS.get(asset.key.to_user_string())
        if kind or not result.success:
            _email(notifier, repo, upload.id, kind if result.success else None, result, progress)
        if not result.success:
            break
        if not metadata:
            progress("      skipped: the upload is paused or cancelled (see `elevra-pipeline status`)")
            break


def _email(notifier: Notifier, repo: Repository, upload_id: int, kind: str | None, result, progress) -> None:
    """The same e-mails (and idempotency keys) the sensors send, so nothing goes twice."""
    upload = repo.get_upload_by_id(upload_id)
    if kind:
        notifier.notify_stage(upload, kind)
    else:
        failure = result.get_run_failure_event()
        notifier.notify_failed_run(upload, result.run_id, "?", failure.message if failure else "unknown")
    _deliver(notifier, progress)


def _deliver(notifier: Notifier, progress) -> None:
    outcome = notifier.deliver_due()
    if any(outcome.values()):
        where = "Resend" if notifier.mailer.uses_resend else f"outbox {notifier.mailer.outbox()}"
        progress(f"      e-mail: {outcome['sent']} sent to {where}, {outcome['retrying']} to retry, {outcome['failed']} failed"
                 + (f", {outcome['errors']} error(s)" if outcome.get("errors") else ""))


def upload_outcome(repo: Repository, upload_id: int) -> dict:
    upload = repo.get_upload_by_id(upload_id)
    batches = repo.batches(upload_id)
    summary = upload.summary_json or {}
    calls = {m: u.get("calls", 0) for m, u in model_usage(repo, upload_id).items()}
    return {"upload_id": upload.id, "partition_key": upload.partition_key, "status": upload.status,
            "reason": upload.failure_reason, "rows": summary.get("rows", {}),
            "batches": {"total": len(batches), "inserted": sum(b.status == "inserted" for b in batches),
                        "needs_reupload": sum(b.status == "needs_reupload" for b in batches),
                        "waiting_for_model": sum(b.status == "waiting_for_model" for b in batches)},
            "elections": len(summary.get("elections", [])), "candidates": len(summary.get("candidates", [])),
            "workbook": upload.workbook_path, "model_calls": calls}

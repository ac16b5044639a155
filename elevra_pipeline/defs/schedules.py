"""Nightly backfill: re-run uploads that failed, never finished, or have batches a model can now take.

`build_schedule_from_partitioned_job` does not accept dynamic partitions, hence a plain `@schedule`
that reads partition statuses itself. Backfill runs carry `elevra/kind=backfill` (limited in
`dagster.yaml`) and a lower `dagster/priority` than fresh uploads.
"""

import os
import time

import dagster as dg

from elevra_pipeline.defs.jobs import process_upload_job
from elevra_pipeline.defs.partitions import uploads_partitions
from elevra_pipeline.defs.resources import AppResource, DatabaseResource
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.storage.batch_rules import COMPLETE, UploadStatus, model_retryable

BACKFILL_TAGS = {"elevra/kind": "backfill", "dagster/priority": "-1"}
NEVER_RETRY = (  # FAILED: an unusable file
    UploadStatus.REJECTED,
    UploadStatus.FAILED,
    UploadStatus.CANCELLED,
    UploadStatus.REVERTED,
)


def model_ready(usage: dict) -> bool:
    """A model can take calls: not cooling down, not retired."""
    return usage["cooldown_seconds"] == 0 and usage.get("unavailable_since") is None


def backfill_reasons(
    repo, instance: dg.DagsterInstance, keys: list[str], ledger: QuotaLedger, quotas
) -> dict[str, str]:
    statuses = instance.get_status_by_partition(dg.AssetKey("result_workbook"), keys, uploads_partitions) or {}
    in_progress = {
        r.tags.get("dagster/partition")
        for r in instance.get_runs(
            filters=dg.RunsFilter(
                statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
            )
        )
    }
    now, reasons = time.time(), {}
    for key in keys:
        upload = repo.get_upload(key)
        if upload is None or key in in_progress or upload.status in NEVER_RETRY or repo.is_paused(upload):
            continue
        status = statuses.get(key)
        stages = {model_retryable(b) for b in repo.batches(upload.id)} - {None}
        if upload.status in COMPLETE and not stages and status == dg.AssetPartitionStatus.FAILED:
            continue  # batches need a fix only the uploader can make (a re-sent file re-opens the upload)
        if status != dg.AssetPartitionStatus.MATERIALIZED:
            reasons[key] = "failed" if status == dg.AssetPartitionStatus.FAILED else "no result workbook yet"
            if stages:
                reasons[key] += f": batches wait in {', '.join(sorted(stages))}"
            continue
        ready = [s for s in stages if any(model_ready(ledger.usage(m, now)) for m in quotas.chain(s))]
        if ready:
            reasons[key] = f"batches failed in {', '.join(sorted(ready))} and a model has capacity again"
    return reasons


@dg.schedule(
    cron_schedule=os.environ.get("ELEVRA_BACKFILL_CRON", "0 3 * * *"),
    job=process_upload_job,
    execution_timezone="America/Los_Angeles",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def upload_backfill_schedule(context: dg.ScheduleEvaluationContext, database: DatabaseResource, app: AppResource):
    """Requests a low-priority run per upload partition that needs one, each with its own run_key."""
    repo = database.repository()
    quotas = app.quotas()
    ledger = QuotaLedger.for_config(repo.engine, quotas)
    keys = context.instance.get_dynamic_partitions(uploads_partitions.name)
    reasons = backfill_reasons(repo, context.instance, keys, ledger, quotas)
    stamp = context.scheduled_execution_time.strftime("%Y%m%dT%H%M") if context.scheduled_execution_time else "manual"
    for key, reason in reasons.items():
        context.log.info(f"backfill {key}: {reason}")
    if not reasons:
        return dg.SkipReason(f"all {len(keys)} upload partitions are complete or not retryable")
    return [
        dg.RunRequest(
            partition_key=key,
            run_key=f"backfill-{key}-{stamp}",
            tags={**BACKFILL_TAGS, "elevra/backfill_reason": reason[:200]},
        )
        for key, reason in reasons.items()
    ]

"""After a model outage: re-request the partitions whose batches wait for a model, once it is back.

"Back" means a model of the stage's chain is out of its cool-down in the shared ledger and not marked
unavailable (a 429 cools a model down for its retry delay, a daily quota until the day resets). An
upload blocked by our Gemini configuration (key, billing, a rejected request) is re-run only once a
probe call is answered. An outage leaves no cool-down:
the re-run's first calls are the probe. If the model is still down the batches wait again, and the
next request for that upload comes after an exponential backoff (1, 2, 4 ... 30 minutes).
"""

import json
import time

import dagster as dg

from elevra_pipeline.defs.jobs import process_upload_job
from elevra_pipeline.defs.resources import AppResource, DatabaseResource, GeminiBatchesResource
from elevra_pipeline.defs.schedules import backfill_reasons
from elevra_pipeline.gemini.model_check import probe
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.storage.batch_rules import WAITING, UploadStatus

BACKOFF_BASE_SECONDS = 60.0
BACKOFF_CAP_SECONDS = 1800.0


def recovery_delay(tries: int) -> float:
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, tries - 1))


def configuration_problem(gemini: GeminiBatchesResource, quotas) -> str | None:
    """Why Gemini still refuses our configuration (a probe call), or None. Without a key or endpoint
    (the emulator starts inside each run) there is nothing to probe: the run's own calls are the probe."""
    batches = gemini.client()
    return None if batches is None else probe(batches.client, quotas.chain("analysis")[0])


@dg.sensor(job=process_upload_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def model_recovery_sensor(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    app: AppResource,
    gemini_batches: GeminiBatchesResource,
) -> dg.SensorResult:
    """Requests a run for each upload waiting for a model, when a model has capacity again (with backoff)."""
    repo = database.repository()
    quotas = app.quotas()
    ledger = QuotaLedger.for_config(repo.engine, quotas)
    tries: dict[str, dict] = json.loads(context.cursor) if context.cursor else {}
    uploads = [u for u in repo.list_uploads() if u.status in WAITING]
    waiting = [u.partition_key for u in uploads]
    tries = {key: value for key, value in tries.items() if key in waiting}  # recovered uploads start afresh
    now, requests = time.time(), []
    due = [key for key in waiting if now >= tries.get(key, {}).get("next", 0)]
    blocked = {u.partition_key for u in uploads if u.status == UploadStatus.BLOCKED} & set(due)
    if blocked and (refused := configuration_problem(gemini_batches, quotas)):
        due = [key for key in due if key not in blocked]
        context.log.info(
            f"{len(blocked)} upload(s) blocked by Gemini's configuration; the probe still fails: {refused}"
        )
    for key, reason in backfill_reasons(repo, context.instance, due, ledger, quotas).items():
        count = tries.get(key, {}).get("tries", 0) + 1
        tries[key] = {"tries": count, "next": now + recovery_delay(count)}
        requests.append(
            dg.RunRequest(
                partition_key=key,
                run_key=f"recover-{key}-{count}",
                tags={"elevra/kind": "recovery", "elevra/recovery_reason": reason[:200]},
            )
        )
        context.log.info(f"{key}: {reason}; re-run {count}, next no sooner than {recovery_delay(count):.0f}s")
    skip = (
        None
        if requests
        else (
            f"{len(waiting)} upload(s) wait for a model; none is due or has capacity yet"
            if waiting
            else "no upload waits for a model"
        )
    )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(tries), skip_reason=skip)

"""Poll the open Gemini Batch API jobs; when one ends, run its upload's partition again to apply the answers."""

import time

import dagster as dg

from elevra_pipeline.defs.jobs import process_upload_job
from elevra_pipeline.defs.resources import DatabaseResource, GeminiBatchesResource
from elevra_pipeline.gemini.batch_jobs import JobState
from elevra_pipeline.uploads.batch_stage import refresh_job

CONFIRM_AFTER_SECONDS = 300.0  # a job still `submitting` this long after its run sent it: its run died


@dg.sensor(job=process_upload_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def batch_jobs_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource, gemini_batches: GeminiBatchesResource
) -> dg.SensorResult:
    """Each job is polled when due (`ELEVRA_BATCH_POLL_SECONDS`, then 1.5x longer each time, up to ten
    minutes; the due time is kept on the job, so a daemon restart loses nothing). One run per upload
    whose jobs ended, keyed by those jobs, so a job's answers are requested once."""
    repo = database.repository()
    jobs = repo.unfinished_batch_jobs()
    if not jobs:
        return dg.SensorResult(skip_reason="no open Batch API jobs")
    client, now = gemini_batches.client(), time.time()
    if client is None:
        return dg.SensorResult(
            skip_reason=f"{len(jobs)} Batch API job(s) open but no Gemini endpoint is set "
            "(GEMINI_API_KEY or ELEVRA_GEMINI_BASE_URL)"
        )
    ready: dict[int, list[str]] = {}
    for job in jobs:
        if job.ended_at is None and job.name and job.next_poll_at <= now:
            state = refresh_job(repo, client, job, gemini_batches.poll_seconds, now)
            if state is not None and not state.is_open:
                context.log.info(f"Batch API job {job.key} ({job.name}) ended: {state}")
                ready.setdefault(job.upload_id, []).append(job.key)
        elif job.ended_at is not None:
            ready.setdefault(job.upload_id, []).append(job.key)  # ended, answers not yet applied
        elif job.state == JobState.SUBMITTING and now - job.submitted_at > CONFIRM_AFTER_SECONDS:
            ready.setdefault(job.upload_id, []).append(f"{job.key}-confirm")
    requests = []
    for upload_id, keys in ready.items():
        upload = repo.get_upload_by_id(upload_id)
        requests.append(
            dg.RunRequest(
                partition_key=upload.partition_key,
                run_key=f"batch:{','.join(sorted(keys))}"[:500],
                tags={"elevra/upload_id": str(upload_id), "elevra/kind": "batch"},
            )
        )
    return dg.SensorResult(
        run_requests=requests, skip_reason=None if requests else f"{len(jobs)} Batch API job(s) still running"
    )

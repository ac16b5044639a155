"""Sensors that send e-mails: stage e-mails from materializations, failure e-mails from failed runs.

Plain `@sensor`s with a cursor over `fetch_materializations` per asset (`@asset_sensor` misses
events when two partitions finish between ticks: dagster issue #32853). Every e-mail is logged
with an idempotency key first, so a re-tick, a daemon restart or a re-run never sends it twice.
"""

import json
from datetime import datetime, timedelta, timezone
from html import escape
from zoneinfo import ZoneInfo

import dagster as dg

from elevra_pipeline.defs.cleanup import retention_cleanup
from elevra_pipeline.defs.jobs import process_upload_job
from elevra_pipeline.defs.resources import AppResource, DatabaseResource, EmailResource
from elevra_pipeline.defs.runs import superseding_run
from elevra_pipeline.notifications.notifier import STAGE_EMAILS, log_email, notify_team_digest
from elevra_pipeline.storage.batch_rules import UploadStatus
from elevra_pipeline.uploads.status import digest_lines


def _describe(sent: list[str], outcome: dict, errors: list[str] = ()) -> str:
    what = "; ".join(sent) if sent else "no new e-mails"
    text = (
        f"{what}. Delivery: {outcome['sent']} sent, {outcome['retrying']} to retry, {outcome['failed']} failed"
        f" now, {outcome.get('errors', 0) + len(errors)} error(s); {outcome.get('failed_total', 0)} e-mail(s) "
        "failed for good in all (see `elevra-pipeline status`)."
    )
    return text + ("" if not errors else " Errors: " + "; ".join(errors)[:500])


@dg.sensor(minimum_interval_seconds=20, default_status=dg.DefaultSensorStatus.RUNNING)
def upload_email_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource, email: EmailResource, app: AppResource
) -> dg.SensorResult:
    """Stage e-mails (queued, analysis, structured output, final) and grouped batch-failure e-mails; and
    the published change sets, to the webhook when one is set."""
    cursors: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
    notifier = app.notifier(database.repository(), email)
    repo = notifier.repo
    sent, errors, finished = [], [], {}
    for asset in STAGE_EMAILS:
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), after_storage_id=cursors.get(asset)),
            limit=200,
            ascending=True,
        ).records
        for record in records:
            cursors[asset] = record.storage_id
            if record.partition_key:
                finished.setdefault(record.partition_key, []).append(asset)
    for partition_key, assets in finished.items():
        upload = repo.get_upload(partition_key)
        if upload is None:
            continue
        try:
            sent += notifier.after_assets(upload, assets)
        except Exception as e:  # one upload's broken e-mail must not stop the others
            errors.append(f"upload {upload.id}: {type(e).__name__}: {e}")
            context.log.exception(f"cannot log the e-mails for upload {upload.id}")
    outcome = notifier.deliver_due()
    said = _describe(sent, outcome, errors)
    if sender := app.webhook():
        said += f" Change sets: {sender.deliver_due(repo)}."
    context.log.info(said)
    return dg.SensorResult(cursor=json.dumps(cursors), skip_reason=said)


# what the team is told to do when a job that is no upload's fails
JOB_ADVICE = {
    "retention_cleanup": "Nothing was deleted (the clean-up is one transaction). Fix the cause, then launch "
    "retention_cleanup from the Dagster UI, or let next Sunday's schedule run it.",
}


@dg.run_failure_sensor(
    monitored_jobs=[process_upload_job, retention_cleanup],
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=20,
)
def upload_failure_email_sensor(
    context: dg.RunFailureSensorContext, database: DatabaseResource, email: EmailResource, app: AppResource
):
    """A failed run e-mails the uploader and the team: the rejection reason, or the failed step and error.
    A failed run of no upload (the weekly retention clean-up) e-mails the team: unattended jobs fail
    silently otherwise."""
    notifier = app.notifier(database.repository(), email)
    run = context.dagster_run
    steps = context.get_step_failure_events()
    step = steps[0].step_key if steps else "unknown"
    error = (
        steps[0].event_specific_data.error.message.strip()
        if steps and steps[0].event_specific_data.error
        else context.failure_event.message
    )
    upload = notifier.repo.get_upload(run.tags.get("dagster/partition", ""))
    if upload is None:
        alert_team_of_failed_run(notifier, run.job_name, run.run_id, step, error)
        context.log.info(_describe([f"failure e-mail to the team for run {run.run_id}"], notifier.deliver_due()))
        return
    if upload.status in (UploadStatus.QUEUED, UploadStatus.PROCESSING):  # e.g. failed for running too long
        notifier.repo.update_upload(upload.id, failure_reason=f"run {run.run_id} failed at {step}: {error}"[:2000])
    newer = superseding_run(context.instance, run)
    if not notifier.notify_failed_run(upload, run.run_id, step, error, superseded_by=newer) and newer:
        context.log.info(f"run {run.run_id} of upload {upload.id} was superseded by run {newer}: no failure e-mail")
        return
    context.log.info(_describe([f"failure e-mail for upload {upload.id}"], notifier.deliver_due()))


def alert_team_of_failed_run(notifier, job: str, run_id: str, step: str, error: str) -> bool:
    """The team's e-mail for a failed run that names no upload; once per run (its idempotency key)."""
    if not notifier.team_email:
        return False
    headline = f"Run failed: {job} at step {step}"
    lines = [f"Error: {error[:1000]}", JOB_ADVICE.get(job, "Look at the run in the Dagster UI.")]
    lines.append(f"Dagster run {run_id}" + (f": {notifier.dagster_url}/runs/{run_id}" if notifier.dagster_url else ""))
    text = "\n\n".join([headline, *lines, "-- Elevra upload pipeline"]) + "\n"
    html = f"<p><b>{escape(headline)}</b></p>" + "".join(f"<p>{escape(line)}</p>" for line in lines)
    key = f"run-{run_id}-failed-team"
    return log_email(notifier.repo, None, "run_failed", key, notifier.team_email, (headline, text, html))


DIGEST_HOUR = 7  # the team's digest of yesterday's uploads goes out after 07:00 in its time zone


@dg.sensor(minimum_interval_seconds=600, default_status=dg.DefaultSensorStatus.RUNNING)
def team_digest_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource, email: EmailResource, app: AppResource
) -> dg.SkipReason:
    """With ELEVRA_TEAM_DIGEST=daily the team gets one e-mail a day for the day's uploads (alerts still
    come at once); once per day whatever the ticks, by the e-mail's idempotency key."""
    if not app.team_digest:
        return dg.SkipReason("the team digest is off: the team gets a copy of each e-mail (ELEVRA_TEAM_DIGEST=daily)")
    zone = ZoneInfo(app.timezone)
    now = datetime.now(zone)
    day = now.date() - timedelta(days=1)
    if now.hour < DIGEST_HOUR:
        return dg.SkipReason(f"the digest of {day} goes out after {DIGEST_HOUR:02d}:00 {app.timezone}")
    notifier = app.notifier(database.repository(), email)
    repo = notifier.repo
    touched = [u for u in repo.list_uploads() if u.updated_at and _local_day(u.updated_at, zone) == day]
    logged = notify_team_digest(notifier, day.isoformat(), touched, digest_lines(repo, touched))
    outcome = notifier.deliver_due()
    return dg.SkipReason(
        f"digest of {day} ({len(touched)} upload(s)) " + ("logged" if logged else "already sent") + f"; {outcome}"
    )


def _local_day(moment: datetime, zone: ZoneInfo):
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(zone).date()

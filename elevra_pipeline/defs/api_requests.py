"""The runs the HTTP API asks for (`elevra_pipeline/api`): the API records each action in `api_actions`;
this sensor reads the new ones. After a redo, a skip, a resume, a retry or a re-sent file with new
settings, the upload's partition runs again (one run per upload per tick, keyed by the last action);
after a cancel, the upload's queued and running runs are stopped. A new upload needs nothing here:
`upload_bucket_sensor` gives every registered upload without a partition its partition and its run."""

from collections import defaultdict

import dagster as dg

from elevra_pipeline.api.actions import Action, ActionLog
from elevra_pipeline.defs.jobs import process_upload_job
from elevra_pipeline.defs.partitions import uploads_partitions
from elevra_pipeline.defs.resources import DatabaseResource
from elevra_pipeline.defs.runs import stop_upload_runs
from elevra_pipeline.storage.batch_rules import UploadStatus


@dg.sensor(job=process_upload_job, minimum_interval_seconds=10, default_status=dg.DefaultSensorStatus.RUNNING)
def api_request_sensor(context: dg.SensorEvaluationContext, database: DatabaseResource) -> dg.SensorResult:
    """Requests the run an admin action taken through the API needs, and stops a cancelled upload's runs."""
    repo = database.repository()
    new = ActionLog(repo).since(int(context.cursor or 0))
    if not new:
        return dg.SensorResult(skip_reason="no new actions through the API")
    wanted: dict[int, list] = defaultdict(list)
    said = []
    for action in new:
        if action.ok and action.wants_run and action.upload_id is not None:
            wanted[action.upload_id].append(action)
        elif action.ok and action.action == Action.CANCEL and action.upload_id is not None:
            upload = repo.get_upload_by_id(action.upload_id)
            if upload is not None and (stop := stop_upload_runs(context.instance)):
                said.append(
                    f"upload {upload.id} cancelled by {action.actor}: {stop(upload.partition_key)} run(s) stopped"
                )
    known = set(context.instance.get_dynamic_partitions(uploads_partitions.name))
    requests, missing = [], []
    for upload_id, actions in wanted.items():
        upload = repo.get_upload_by_id(upload_id)
        if upload is None or upload.status == UploadStatus.CANCELLED:
            continue
        if upload.partition_key not in known:
            missing.append(upload.partition_key)
        requests.append(
            dg.RunRequest(
                partition_key=upload.partition_key,
                run_key=f"api-{actions[-1].id}",
                tags={
                    "elevra/upload_id": str(upload_id),
                    "elevra/kind": "api",
                    "elevra/api_actions": ",".join(a.action for a in actions)[:200],
                    "elevra/requested_by": ",".join(sorted({a.actor for a in actions}))[:200],
                },
            )
        )
        said.append(f"upload {upload_id}: run requested for {', '.join(f'{a.action} by {a.actor}' for a in actions)}")
    for line in said:
        context.log.info(line)
    return dg.SensorResult(
        run_requests=requests,
        cursor=str(new[-1].id),
        dynamic_partitions_requests=[uploads_partitions.build_add_request(missing)] if missing else [],
        skip_reason=None if requests else "; ".join(said) or f"{len(new)} new action(s), none needs a run",
    )

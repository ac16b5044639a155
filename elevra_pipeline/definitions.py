"""The Dagster code location: assets, job, sensors and resources wired to the environment."""

import dagster as dg

from elevra_pipeline.defs.admin_job import upload_admin
from elevra_pipeline.defs.api_requests import api_request_sensor
from elevra_pipeline.defs.assets import upload_assets
from elevra_pipeline.defs.batch_sensor import batch_jobs_sensor
from elevra_pipeline.defs.cleanup import retention_cleanup, retention_schedule
from elevra_pipeline.defs.email_sensors import team_digest_sensor, upload_email_sensor, upload_failure_email_sensor
from elevra_pipeline.defs.jobs import process_upload_job
from elevra_pipeline.defs.recovery import model_recovery_sensor
from elevra_pipeline.defs.schedules import upload_backfill_schedule
from elevra_pipeline.defs.sensors import upload_bucket_sensor
from elevra_pipeline.defs.wiring import build_resources

__all__ = ["build_resources", "defs"]  # build_resources: the CLI's runner and the tests build the same resources


defs = dg.Definitions(
    assets=upload_assets,
    jobs=[process_upload_job, upload_admin, retention_cleanup],
    schedules=[upload_backfill_schedule, retention_schedule],
    sensors=[
        batch_jobs_sensor,
        upload_bucket_sensor,
        upload_email_sensor,
        upload_failure_email_sensor,
        model_recovery_sensor,
        team_digest_sensor,
        api_request_sensor,
    ],
    resources=build_resources(),
    # every job in one process, as `process_upload` is: a run's steps share the upload's lease holder
    # (defs/leases.py), and a Materialize from the UI does not pay 1-2 s to start each step
    executor=dg.in_process_executor,
)

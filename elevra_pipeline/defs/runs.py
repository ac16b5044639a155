"""The Dagster side of cancelling an upload: its queued and running runs are stopped."""

from typing import Callable

import dagster as dg

UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.NOT_STARTED,
]


def stop_upload_runs(instance: dg.DagsterInstance | None) -> Callable[[str], int] | None:
    """`stop(partition_key)`: terminates the partition's running runs and cancels its queued ones."""
    if instance is None:
        return None

    def stop(partition_key: str) -> int:
        stopped = 0
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": partition_key}, statuses=UNFINISHED))
        for run in runs:
            if run.status == dg.DagsterRunStatus.STARTED and instance.run_launcher.terminate(run.run_id):
                stopped += 1
            elif run.status != dg.DagsterRunStatus.STARTED:
                instance.report_run_canceled(run, message="upload cancelled by an admin")
                stopped += 1
        return stopped

    return stop

"""The Dagster side of an upload's runs: cancelling stops its queued and running ones; a failed one
may have been superseded by a newer run of the same upload."""

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


def superseding_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str | None:
    """The run that takes over from the failed `run` of an upload: its automatic retry (tagged on the
    failed run when the daemon will retry it), or any run of the same partition created after it."""
    if run.tags.get("dagster/will_retry") == "true":
        return run.tags.get("dagster/auto_retry_run_id") or "its automatic retry"
    partition = run.tags.get("dagster/partition")
    if not partition:
        return None
    [latest] = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": partition}), limit=1) or [run]
    return latest.run_id if latest.run_id != run.run_id else None

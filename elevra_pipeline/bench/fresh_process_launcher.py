"""A run launcher for the cluster simulation test: each run in a new process with its own new, empty data
folder, as `K8sRunLauncher` gives each run a new pod (`bench pipeline --through daemon` uses the deployed
DefaultRunLauncher instead). What a run needs from another process can then only come through PostgreSQL
and object storage.

Dagster ships no launcher that changes a run's environment (`DefaultRunLauncher` runs it beside the code
server, on the code server's disk), so this one starts `dagster api execute_run` itself, with the same
command `dagster-k8s` builds (`ExecuteRunArgs`, from `dagster._cli.api`: the launchers' own interface)."""

import os
import subprocess
import sys
import threading
from pathlib import Path

from dagster import Field, StringSource
from dagster._cli.api import ExecuteRunArgs
from dagster._core.launcher import LaunchRunContext, RunLauncher
from dagster._serdes import ConfigurableClass, ConfigurableClassData


class FreshProcessRunLauncher(RunLauncher, ConfigurableClass):
    """`scratch_root`: where each run's empty folder (`run-<id>/`) is made; its output goes to `run.log`
    beside it, so a test can show what a run wrote on its own disk."""

    def __init__(self, scratch_root: str, inst_data: ConfigurableClassData | None = None):
        self.scratch_root = Path(scratch_root)
        self._inst_data = inst_data
        self._workers: dict[str, subprocess.Popen] = {}
        self._lock = threading.Lock()
        super().__init__()

    @property
    def inst_data(self):
        return self._inst_data

    @classmethod
    def config_type(cls):
        return {"scratch_root": Field(StringSource)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        folder = self.scratch_root / f"run-{run.run_id}"
        (folder / "data").mkdir(parents=True)
        args = ExecuteRunArgs(
            job_origin=run.job_code_origin,
            run_id=run.run_id,
            instance_ref=self._instance.get_ref(),
            set_exit_code_on_failure=True,
        ).get_command_args()
        if args[0] == "dagster":  # the entry point of this Python, whatever PATH holds
            args = [sys.executable, "-m", "dagster", *args[1:]]
        env = {**os.environ, "ELEVRA_DATA_DIR": str(folder / "data"), "TMPDIR": str(folder / "tmp")}
        (folder / "tmp").mkdir()
        log = open(folder.with_suffix(".log"), "w")
        worker = subprocess.Popen(args, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        with self._lock:
            self._workers[run.run_id] = worker

    def terminate(self, run_id: str) -> bool:
        with self._lock:
            worker = self._workers.get(run_id)
        if worker is None or worker.poll() is not None:
            return False
        self._instance.report_run_canceling(self._instance.get_run_by_id(run_id))
        worker.terminate()
        return True

    def dispose(self) -> None:
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()


def scratch_files(root: Path) -> dict[str, list[str]]:
    """Each run folder's files (its data folder and temporary folder), relative to it: what the run left
    on its own disk."""
    return {
        folder.name: sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        for folder in sorted(root.glob("run-*"))
        if folder.is_dir()
    }

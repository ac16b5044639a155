"""`bench drop`: how soon a dropped file's run starts, as an admin sees it (issue 39, item 6).

A `dagster-daemon run` on the project's own `dagster.yaml` (SQLite, in a scratch folder) watches an upload
folder; the sample spreadsheet is dropped there `uploads` times, `gap` seconds apart (each copy one cell
different, so each is a new upload), and the daemon's own run records say when each run was created (the
sensor's request) and when it started (the run's process up and its first step). The figures are times from
the drop, so they include the sensor's interval, the run queue's and the run process's start-up."""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from elevra_pipeline.bench.pipeline_bench import REPO_ROOT, stop_session
from elevra_pipeline.samples import SAMPLE_XLSX

DAEMON_UP_SECONDS = 25.0  # the daemon and its code server start before the first drop


def _copy(index: int, folder: Path) -> Path:
    """The sample with one cell changed: a new file, not a duplicate the sensor would recognise."""
    from openpyxl import load_workbook

    book = load_workbook(SAMPLE_XLSX)
    book.active["Z1"] = f"copy {index}"
    path = folder / f"drop-{index}.xlsx"
    book.save(path)
    past = time.time() - 60  # already settled: the sensor takes it at its next tick
    os.utime(path, (past, past))
    return path


def run(uploads: int = 5, gap: float = 17.0, say: Callable[[str], None] = print) -> dict:
    import dagster as dg

    from elevra_pipeline.storage.database import migrated_engine
    from elevra_pipeline.storage.repository import Repository

    root = Path(tempfile.mkdtemp(prefix="elevra-drop-bench-"))
    home, data = root / "dagster_home", root / "data"
    (data / "uploads").mkdir(parents=True)
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "ELEVRA_DATA_DIR": str(data)}
    env.pop("ELEVRA_DATABASE_URL", None)
    drops: dict[str, float] = {}
    with (root / "daemon.log").open("w") as log:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        time.sleep(DAEMON_UP_SECONDS)
        for i in range(uploads):
            copy = _copy(i, root)
            os.replace(copy, data / "uploads" / copy.name)
            drops[copy.name] = time.time()
            say(f"dropped {copy.name}")
            time.sleep(gap)
        deadline = time.time() + 120
        while time.time() < deadline:
            runs = instance.get_run_records(filters=dg.RunsFilter(job_name="process_upload"))
            if len(runs) >= uploads and all(r.start_time for r in runs):
                break
            time.sleep(1)
        runs = instance.get_run_records(filters=dg.RunsFilter(job_name="process_upload"))
    finally:
        stop_session(daemon)
        instance.dispose()
    repo = Repository(migrated_engine(f"sqlite:///{data / 'elevra.db'}"))
    created, started = [], []
    for record in runs:
        upload = repo.get_upload(record.dagster_run.tags.get("dagster/partition", ""))
        if upload is None or upload.original_filename not in drops:
            continue
        dropped = drops[upload.original_filename]
        created.append(record.create_timestamp.timestamp() - dropped)
        if record.start_time:
            started.append(record.start_time - dropped)
    if not created or not started:
        raise RuntimeError(f"no run started: see {root / 'daemon.log'}")
    result = {
        "uploads": uploads,
        "runs": len(created),
        "created_median_s": round(statistics.median(created), 1),
        "created_max_s": round(max(created), 1),
        "started_median_s": round(statistics.median(started), 1),
        "started_max_s": round(max(started), 1),
        "cpus": os.cpu_count(),
    }
    say(
        f"{len(created)} of {uploads} drops: run created {result['created_median_s']} s after the drop "
        f"(median; max {result['created_max_s']} s), started {result['started_median_s']} s after it "
        f"(median; max {result['started_max_s']} s)"
    )
    say(json.dumps(result))
    shutil.rmtree(root, ignore_errors=True)
    return result

"""Production mode: the real Dagster daemon and webserver on PostgreSQL storage take three uploads
from the bucket to completion, sharing one quota ledger."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import yaml

from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.quotas.limits import parse_quotas
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.repository import Repository

REPO_ROOT = Path(__file__).resolve().parents[1]

QUOTAS = {
    "window_seconds": 60,
    "fallback_after_seconds": 1,
    "max_wait_seconds": 120,
    "models": {
        "gemini-3.1-pro-preview": {"rpm": 10},
        "gemini-3-flash-preview": {"rpm": 1000},
        "gemini-3.8-flash": {"rpm": 1000},
        "gemini-3.5-flash-lite": {"rpm": 1000},
    },
    "chains": {
        "analysis": ["gemini-3.1-pro-preview", "gemini-3-flash-preview"],
        "structure": ["gemini-3.8-flash", "gemini-3.5-flash-lite"],
    },
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _csv(path: Path, place: str, races: int) -> None:
    lines = ["Candidate,Office,City,District,Date"]
    lines += [f"Person {place} {r}{c},Council,{place},{r},2026-11-03" for r in range(races) for c in "AB"]
    path.write_text("\n".join(lines) + "\n")


def dagster_process(command: list[str], env: dict, logs) -> subprocess.Popen:
    """A Dagster command of this environment on the project's workspace, in a session of its own (what
    it starts, `_stop` stops too)."""
    program = str(Path(sys.executable).parent / command[0])
    return subprocess.Popen(
        [program, *command[1:], "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env=env,
        stdout=logs,
        stderr=logs,
        start_new_session=True,
    )


def _stop(processes: list[subprocess.Popen]) -> None:
    """Stop the daemon and webserver, then whatever they started (code servers, run workers) in their
    process groups, so no process outlives the test."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_daemon_and_webserver_on_postgres_complete_three_uploads_with_shared_quotas(
    postgres_url, dagster_postgres_url, tmp_path, monkeypatch
):
    home, bucket = tmp_path / "dagster_home", tmp_path / "uploads"
    home.mkdir()
    bucket.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    quotas_file = tmp_path / "quotas.yaml"
    quotas_file.write_text(yaml.safe_dump(QUOTAS))
    emulator = start_in_thread(quotas=parse_quotas(QUOTAS))  # Google's side enforces the same limits
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_URL": dagster_postgres_url,
        "ELEVRA_DATABASE_URL": postgres_url,
        "ELEVRA_UPLOAD_DIR": str(bucket),
        "ELEVRA_DATA_DIR": str(tmp_path / "data"),
        "ELEVRA_QUOTAS_FILE": str(quotas_file),
        "ELEVRA_GEMINI_BASE_URL": emulator.base_url,
    }
    logs = open(tmp_path / "dagster.log", "w")
    processes = [
        dagster_process(["dagster-daemon", "run"], env, logs),
        dagster_process(["dagster-webserver", "-h", "127.0.0.1", "-p", str(port)], env, logs),
    ]
    repo = Repository(migrated_engine(postgres_url))
    try:
        for index, place in enumerate(("Springfield", "Shelbyville", "Ogdenville")):
            _csv(bucket / f"{place.lower()}.csv", place, races=6 + index)
            old = time.time() - 60
            os.utime(bucket / f"{place.lower()}.csv", (old, old))
        deadline = time.time() + 240
        while time.time() < deadline:
            uploads = repo.list_uploads()
            if len(uploads) == 3 and all(u.status == "completed" for u in uploads):
                break
            time.sleep(2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=10) as response:
            assert response.status == 200
    finally:
        _stop(processes)
        emulator.shutdown()
        logs.close()
    uploads = repo.list_uploads()
    assert [u.status for u in uploads] == ["completed"] * 3, (tmp_path / "dagster.log").read_text()[-3000:]
    attempts = repo.attempts()
    pro_calls = sum(a.model == "gemini-3.1-pro-preview" and a.status == "ok" for a in attempts)
    assert pro_calls <= 10  # three run processes, one shared ledger: together they stay within rpm
    assert sum(a.is_fallback for a in attempts) == 21 - pro_calls
    assert emulator.quotas.rejected.get("gemini-3.1-pro-preview", 0) == 0

    monkeypatch.setenv("DAGSTER_POSTGRES_URL", dagster_postgres_url)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name="process_upload"))
        assert sorted(r.status.value for r in runs) == ["SUCCESS"] * 3
        assert {r.tags["dagster/partition"] for r in runs} == {u.partition_key for u in uploads}

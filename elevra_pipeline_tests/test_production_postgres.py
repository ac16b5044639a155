"""Production mode: the real Dagster daemon and webserver on PostgreSQL storage take three uploads
from the bucket to completion, sharing one quota ledger."""

import os
import shutil
import socket
import time
import urllib.request
from pathlib import Path

import dagster as dg
import yaml

from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.quotas.limits import parse_quotas
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline_tests.processes import QUOTAS, REPO_ROOT, dagster_process, stop_processes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _csv(path: Path, place: str, races: int) -> None:
    lines = ["Candidate,Office,City,District,Date"]
    lines += [f"Person {place} {r}{c},Council,{place},{r},2026-11-03" for r in range(races) for c in "AB"]
    path.write_text("\n".join(lines) + "\n")


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
        stop_processes(processes)
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

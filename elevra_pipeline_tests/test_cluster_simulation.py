"""Many machines, simulated on one: the Dagster daemon (its code server evaluates the sensors) and each run
in processes of their own, each with its own empty data folder, sharing only PostgreSQL and an S3 server
(moto). Runs are started by `FreshProcessRunLauncher`, as `K8sRunLauncher` starts each in a new pod, and
the instance is `deploy/k8s/dagster.yaml` with that launcher and compute logs in the bucket."""

import email
import os
import time
from email import policy
from pathlib import Path

import dagster as dg
import pytest
import yaml

from elevra_pipeline.bench.fresh_process_launcher import scratch_files
from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.quotas.limits import parse_quotas
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline_tests.processes import QUOTAS, REPO_ROOT, dagster_process, stop_processes

pytestmark = pytest.mark.postgres


def _csv(place: str, races: int) -> bytes:
    lines = ["Candidate,Office,City,District,Date"]
    lines += [f"Person {place} {r}{c},Council,{place},{r},2026-11-03" for r in range(races) for c in "AB"]
    return ("\n".join(lines) + "\n").encode()


def _instance_file(home: Path, scratch: Path) -> None:
    config = yaml.safe_load((REPO_ROOT / "deploy" / "k8s" / "dagster.yaml").read_text())
    config["run_launcher"] = {
        "module": "elevra_pipeline.bench.fresh_process_launcher",
        "class": "FreshProcessRunLauncher",
        "config": {"scratch_root": str(scratch)},
    }
    config["compute_logs"]["config"]["bucket"] = "elevra-logs"  # deploy/k8s names it by env; moto here
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


def _workers_in(scratch: Path) -> list[int]:
    """Processes still working in a run's folder (a run is SUCCESS before its process has finished)."""
    alive = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")).is_relative_to(scratch):
                alive.append(int(proc.name))
        except OSError:
            continue
    return alive


def _local_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_an_object_in_the_bucket_ends_in_the_final_email_with_nothing_shared_but_postgres_and_s3(
    s3, s3_endpoint, postgres_url, dagster_postgres_url, tmp_path, monkeypatch
):
    s3.create_bucket(Bucket="elevra-logs")
    daemon_folder, scratch = tmp_path / "daemon", tmp_path / "runs"
    scratch.mkdir()
    _instance_file(daemon_folder / "dagster_home", scratch)
    quotas_file = tmp_path / "quotas.yaml"
    quotas_file.write_text(yaml.safe_dump(QUOTAS))
    # Google's side enforces the same limits; 3 s an answer keeps each run going long enough to overlap
    emulator = start_in_thread(quotas=parse_quotas(QUOTAS), latency_seconds=3.0)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(daemon_folder / "dagster_home"),
        "DAGSTER_POSTGRES_URL": dagster_postgres_url,
        "ELEVRA_DATABASE_URL": postgres_url,
        "ELEVRA_UPLOAD_BUCKET": "s3://elevra/incoming",  # stored files go under incoming/elevra-files/
        "ELEVRA_DATA_DIR": str(daemon_folder / "data"),
        "ELEVRA_QUOTAS_FILE": str(quotas_file),
        "ELEVRA_GEMINI_BASE_URL": emulator.base_url,
        "TMPDIR": str(tmp_path),
    }
    logs = open(tmp_path / "daemon.log", "w")
    daemon = dagster_process(["dagster-daemon", "run"], env, logs)
    repo = Repository(migrated_engine(postgres_url))
    s3.put_object(Bucket="elevra", Key="incoming/springfield.csv", Body=_csv("Springfield", 6))
    s3.put_object(Bucket="elevra", Key="incoming/springfield.csv.json", Body=b'{"uploader_email": "ann@example.org"}')
    s3.put_object(Bucket="elevra", Key="incoming/shelbyville.csv", Body=_csv("Shelbyville", 7))
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", dagster_postgres_url)
    instance = dg.DagsterInstance.from_config(str(daemon_folder / "dagster_home"))
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            uploads = repo.list_uploads()
            finals = [n for u in uploads for n in repo.notifications(u.id) if n.kind == "final" and n.status == "sent"]
            runs = instance.get_run_records(filters=dg.RunsFilter(job_name="process_upload"))
            ended = len(runs) == 2 and all(r.dagster_run.is_finished for r in runs) and not _workers_in(scratch)
            listed = [o["Key"] for o in s3.list_objects_v2(Bucket="elevra", Prefix="incoming/").get("Contents", [])]
            put_away = not [key for key in listed if not key.startswith("incoming/elevra-files/")]  # next tick
            if len(uploads) == 2 and len(finals) == 3 and ended and put_away:  # Ann's, and twice the team's
                break
            if "Caught an error" in (tmp_path / "daemon.log").read_text():
                break  # a run could not be launched: no need to wait
            time.sleep(2)
    finally:
        stop_processes([daemon])
        emulator.shutdown()
        logs.close()
        instance.dispose()
    uploads = repo.list_uploads()
    said = [line for line in (tmp_path / "daemon.log").read_text().splitlines() if "SensorDaemon" not in line]
    runs_said = [(r.dagster_run.run_id[:8], r.dagster_run.status.value, r.create_timestamp) for r in runs]
    assert [u.status for u in uploads] == ["completed"] * 2, (runs_said, "\n".join(said[-40:]))
    springfield = next(u for u in uploads if u.original_filename == "springfield.csv")

    # the final e-mail, written by the e-mail sensor, carries the workbook a run process stored in S3
    outbox = daemon_folder / "data" / "outbox"
    written = sorted(p.name for p in outbox.rglob("*.eml"))
    logged = [(n.upload_id, n.kind, n.status, n.error) for u in uploads for n in repo.notifications(u.id)]
    finals = [p for p in outbox.rglob("*.eml") if f"upload-{springfield.id}-final" in p.name]
    assert len([p for p in finals if not p.name.endswith("-team.eml")]) == 1, (written, logged, "\n".join(said[-40:]))
    (final,) = [p for p in finals if not p.name.endswith("-team.eml")]
    message = email.message_from_bytes(final.read_bytes(), policy=policy.default)
    assert message["To"] == "ann@example.org"
    (attached,) = list(message.iter_attachments())
    key = springfield.workbook_path.removeprefix("s3://elevra/")
    assert key == f"incoming/elevra-files/workbooks/{springfield.partition_key}.xlsx"
    assert attached.get_content() == s3.get_object(Bucket="elevra", Key=key)["Body"].read()

    # two runs at once, in two fresh processes, sharing one quota ledger in PostgreSQL
    assert sorted(r.dagster_run.status.value for r in runs) == ["SUCCESS"] * 2
    first, second = sorted(runs, key=lambda r: r.start_time)
    assert second.start_time < first.end_time, "the two runs did not overlap"
    attempts = repo.attempts()
    pro_calls = sum(a.model == "gemini-3.1-pro-preview" and a.status == "ok" for a in attempts)
    assert pro_calls <= 10 and emulator.quotas.rejected.get("gemini-3.1-pro-preview", 0) == 0, pro_calls
    assert sum(a.is_fallback for a in attempts) == 13 - pro_calls, [(a.model, a.status) for a in attempts]

    # what each process left on its own disk: runs nothing (the stored copy and the workbook went to S3,
    # scratch downloads were removed); the daemon its outbox only (the local stand-in for Resend)
    left = scratch_files(scratch)
    assert len(left) == 2 and all(files == [] for files in left.values()), left
    assert {Path(p).parts[0] for p in _local_files(daemon_folder / "data")} == {"outbox"}
    assert springfield.stored_path is None  # completed: its stored copy was removed from S3 too
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="elevra", Prefix="incoming/")["Contents"]] == sorted(
        f"incoming/elevra-files/workbooks/{u.partition_key}.xlsx" for u in uploads
    )
    assert s3.list_objects_v2(Bucket="elevra-logs").get("KeyCount", 0) > 0  # the runs' logs, for the UI

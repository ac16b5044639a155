"""`elevra-pipeline bench pipeline`: synthetic uploads through the real pipeline, against their quota-bound minimum.

Each case runs `elevra-pipeline process` (the same job the daemon runs) in its own process, one per upload,
or (`through="daemon"`) drops its uploads in the upload folder of a `dagster-daemon` on a PostgreSQL instance
(deploy/dagster.postgres.yaml: QueuedRunCoordinator, DefaultRunLauncher, the concurrency limits); either way
against the emulator in another process with the default quota table and per-model answer times. Time is
scaled: the window, the answer times and the engine's waits are divided by `--time-scale`. The model
stages' wall time (first step start to last step end, read from the Dagster event log) is compared with
the quota-bound minimum of the same calls (bench.minimum).
"""

import csv
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from tempfile import TemporaryDirectory

import yaml

from elevra_pipeline.bench.cpu import CpuSampler
from elevra_pipeline.bench.minimum import PlannedCall, quota_bound_minimum, staged_minimum
from elevra_pipeline.gemini import prompts
from elevra_pipeline.gemini.emulator.latency import LatencyProfile
from elevra_pipeline.gemini.emulator.quota_window import count_tokens
from elevra_pipeline.quotas.limits import DEFAULT_QUOTAS_FILE, QuotaConfig, load_quotas
from elevra_pipeline.samples.make_sample import FIRST, LAST, PARTIES

# Answer times seen from Gemini: 2.5 Pro thinks 10-30 s, Flash 2-5 s.
DEFAULT_LATENCY = (
    "gemini-3.1-pro-preview=lognormal:15s:0.35,gemini-3-flash-preview=lognormal:12s:0.35,"
    "gemini-3.8-flash=lognormal:3s:0.3,gemini-3.5-flash-lite=lognormal:2.5s:0.3"
)
STAGES = {"analysis": "batch_analysis", "structure": "structured_output"}
UPLOADER = "bench@example.org"
REPO_ROOT = Path(__file__).resolve().parents[2]  # workspace.yaml: the daemon loads the code location from it
POSTGRES_INSTANCE = REPO_ROOT / "deploy" / "dagster.postgres.yaml"


def synthetic_upload(path: Path, batches: int, first: int = 0) -> Path:
    """`batches` elections of three candidates each, as an admin would upload them."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["Jurisdiction", "Office", "District", "Election Date", "Candidate Name", "Party", "Website"])
        for b in range(first, first + batches):
            for c in range(3):
                name = f"{FIRST[(b + c) % len(FIRST)]} {LAST[(b * 3 + c) % len(LAST)]}"
                out.writerow(
                    [f"Town {b // 7}", "City Council", f"Ward {b % 7 + 1}", "2026-11-03", name, PARTIES[c], ""]
                )
    return path


def scaled_quotas(config: QuotaConfig, factor: float) -> QuotaConfig:
    """The same limits over a window `factor` times shorter, every wait shortened alike."""
    return config.model_copy(
        update={
            "window_seconds": config.window_seconds / factor,
            "day_seconds": 86400 / factor,
            "fallback_after_seconds": config.fallback_after_seconds / factor,
            "max_wait_seconds": config.max_wait_seconds / factor,
            "arrival_margin_seconds": config.arrival_margin_seconds / factor,
        }
    )


def _serve(quotas_json: str, latency: str, factor: float, port: int) -> None:
    from elevra_pipeline.gemini.emulator.server import EmulatorServer

    profile = LatencyProfile.parse(latency).scaled(factor)
    EmulatorServer(("127.0.0.1", port), QuotaConfig.model_validate_json(quotas_json), latency=profile).serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _emulator_stats(base_url: str) -> dict:
    with urllib.request.urlopen(base_url + "/", timeout=10) as response:
        return json.loads(response.read())


def _database(kind: str, folder: Path, postgres_url: str) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'elevra.db'}", lambda: None
    from elevra_pipeline.bench.quota_bench import fresh_postgres_schema

    return fresh_postgres_schema(postgres_url)


def _create_instance(dagster_home: Path) -> None:
    import dagster as dg

    dg.DagsterInstance.from_config(str(dagster_home)).dispose()


def _step_spans(dagster_home: Path) -> tuple[dict[str, tuple[float, float]], list[dict]]:
    """Per model stage, the first step start and the last step end over every run; and per run (oldest
    first), when it was created, started, and began and ended each model stage, in seconds from the first
    model step's start."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    spans: dict[str, list[float]] = {}
    runs: list[dict] = []
    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    try:
        for record in sorted(instance.get_run_records(), key=lambda r: r.create_timestamp.timestamp()):
            run = {"created": record.create_timestamp.timestamp()}
            for entry in instance.all_logs(record.dagster_run.run_id, of_type=dg.DagsterEventType.RUN_STARTING):
                run["launched"] = entry.timestamp  # the launcher was asked to start it
            run["started"] = record.start_time  # its process began the run
            for entry in instance.all_logs(record.dagster_run.run_id, of_type=kinds):
                for stage, step in STAGES.items():
                    if entry.step_key == step:
                        spans.setdefault(stage, []).append(entry.timestamp)
                        run.setdefault(stage, []).append(entry.timestamp)
            runs.append(run)
    finally:
        instance.dispose()
    zero = min(spans["analysis"])
    per_run = [
        {
            key: (
                [round(min(value) - zero, 2), round(max(value) - zero, 2)]
                if isinstance(value, list)
                else (round(value - zero, 2) if value else None)
            )
            for key, value in run.items()
        }
        for run in runs
    ]
    return {stage: (min(times), max(times)) for stage, times in spans.items()}, per_run


def _planned_calls(database_url: str, profile: LatencyProfile, chains: dict) -> dict[str, list[PlannedCall]]:
    """The calls the stages made, with the tokens and answer time each model would take for them."""
    from elevra_pipeline.storage.database import migrated_engine
    from elevra_pipeline.storage.repository import Repository

    repo = Repository(migrated_engine(database_url))
    calls = {"analysis": [], "structure": []}
    for upload in repo.list_uploads():
        for batch in repo.batches(upload.id):
            asked = {"analysis": (prompts.ANALYSIS_SYSTEM, prompts.analysis_prompt(batch.rows_json))}
            if batch.analysis_json:
                asked["structure"] = (
                    prompts.STRUCTURE_SYSTEM,
                    prompts.structure_prompt(batch.rows_json, batch.analysis_json),
                )
            for stage, (system, prompt) in asked.items():
                payload = {
                    "contents": [{"parts": [{"text": prompt}]}],
                    "systemInstruction": {"parts": [{"text": system}]},
                }
                answer = {m: profile.seconds(m, prompt) for m in chains[stage]}
                calls[stage].append(PlannedCall(count_tokens(payload), answer, group=upload.id))
    return calls


def _send_times(database_url: str, spans: dict) -> dict:
    """Per stage: by when (seconds after the stage began) half, 90 % and all of its successful calls had
    been sent, and their median answer time; a call was sent its answer time before it was recorded."""
    from sqlalchemy import select

    from elevra_pipeline.storage.database import migrated_engine
    from elevra_pipeline.storage.models import ModelAttempt

    a = ModelAttempt
    with migrated_engine(database_url).connect() as conn:
        rows = conn.execute(select(a.stage, a.created_at, a.latency_ms).where(a.status == "ok")).all()
    result = {}
    for stage in STAGES:
        start = spans[stage][0]
        recorded = [
            (c.replace(tzinfo=c.tzinfo or timezone.utc).timestamp(), ms / 1000) for st, c, ms in rows if st == stage
        ]
        sent = sorted(at - answer - start for at, answer in recorded)
        answers = sorted(answer for _, answer in recorded)
        if not sent:
            continue
        pick = lambda values, q: round(values[min(len(values) - 1, int(q * len(values)))], 2)  # noqa: E731
        result[stage] = {
            "sent_by_seconds": {"p50": pick(sent, 0.5), "p90": pick(sent, 0.9), "all": round(sent[-1], 2)},
            "median_answer_seconds": pick(answers, 0.5),
        }
    return result


def _attempt_counts(database_url: str) -> dict:
    from sqlalchemy import func, select

    from elevra_pipeline.storage.database import migrated_engine
    from elevra_pipeline.storage.models import ModelAttempt

    with migrated_engine(database_url).connect() as conn:
        rows = conn.execute(
            select(ModelAttempt.model, ModelAttempt.status, ModelAttempt.is_fallback, func.count()).group_by(
                ModelAttempt.model, ModelAttempt.status, ModelAttempt.is_fallback
            )
        ).all()
    return {
        "attempts": sum(n for *_, n in rows),
        "rate_limited": sum(n for _, status, _, n in rows if status == "rate_limited"),
        "failed": sum(n for _, status, _, n in rows if status not in ("ok", "rate_limited")),
        "fallbacks": sum(n for _, status, fb, n in rows if status == "ok" and fb),
    }


def _cost_per_thousand(database_url: str, quotas: QuotaConfig, elections: int) -> dict:
    """USD per 1,000 elections as sent (online), and the same tokens at Batch API prices."""
    from elevra_pipeline.quotas.prices import CallMode
    from elevra_pipeline.storage.database import migrated_engine
    from elevra_pipeline.storage.repository import Repository

    repo = Repository(migrated_engine(database_url))
    attempts = [a for upload in repo.list_uploads() for a in repo.attempts(upload.id)]
    online = sum(a.cost_usd or 0.0 for a in attempts)
    batch = sum(
        quotas.cost_usd(a.model, a.input_tokens or 0, a.output_tokens or 0, CallMode.BATCH) or 0.0 for a in attempts
    )
    per = 1000 / max(1, elections)
    return {"online": round(online * per, 4), "batch_prices": round(batch * per, 4)}


@dataclass
class _World:
    """What every case shares, whichever way its uploads are started: the scaled quotas and answer times,
    a temporary folder, a Dagster instance, the app database, the emulator, and the environment."""

    folder: Path
    quotas: QuotaConfig
    profile: LatencyProfile
    dagster_home: Path
    database_url: str
    base_url: str
    emulator_pid: int
    env: dict[str, str]


@contextmanager
def _world(factor: float, latency: str, database: str, postgres_url: str, through: str) -> Iterator[_World]:
    quotas = scaled_quotas(load_quotas(DEFAULT_QUOTAS_FILE), factor)
    with TemporaryDirectory(prefix="elevra-bench-") as tmp, ExitStack() as cleanup:
        folder = Path(tmp)
        quotas_file = folder / "quotas.yaml"
        quotas_file.write_text(yaml.safe_dump(quotas.model_dump(exclude_none=True)))
        dagster_home = folder / "dagster_home"
        dagster_home.mkdir()
        if through == "daemon":  # Dagster's storage on PostgreSQL, as deployed: a new database per case
            dagster_url, drop_dagster = fresh_postgres_database(postgres_url)
            cleanup.callback(drop_dagster)
            _postgres_instance_file(dagster_home, dagster_url)
        # create the instance's storage once, here: two processes creating it at the same moment would
        # both stamp its schema version
        _create_instance(dagster_home)
        database_url, drop = _database(database, folder, postgres_url)
        cleanup.callback(drop)
        port = _free_port()
        server = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(quotas.model_dump_json(), latency, factor, port), daemon=True
        )
        server.start()
        cleanup.callback(server.kill)
        base_url = f"http://127.0.0.1:{port}"
        _wait_for(base_url)
        env = {
            **os.environ,
            "ELEVRA_DATA_DIR": str(folder / "data"),
            "ELEVRA_DATABASE_URL": database_url,
            "ELEVRA_GEMINI_BASE_URL": base_url,
            "ELEVRA_QUOTAS_FILE": str(quotas_file),
            "DAGSTER_HOME": str(dagster_home),
        }
        for unset in (
            "GEMINI_API_KEY",
            "GOOGLE_API_KEY",
            "RESEND_API_KEY",
            "ELEVRA_UPLOAD_BUCKET",
            "ELEVRA_STORAGE_URL",
        ):
            env.pop(unset, None)  # the emulator, the outbox, and the local upload folder and files
        yield _World(
            folder,
            quotas,
            LatencyProfile.parse(latency).scaled(factor),
            dagster_home,
            database_url,
            base_url,
            server.pid,
            env,
        )


def fresh_postgres_database(postgres_url: str) -> tuple[str, callable]:
    """A URL to a new, empty database on the server of `postgres_url` (Dagster keeps its tables in
    `public`, so a schema of its own is not enough), and a function that drops it."""
    from sqlalchemy import create_engine, text

    name = f"elevra_bench_dagster_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    return postgres_url.split("?")[0].rsplit("/", 1)[0] + f"/{name}", drop


def _postgres_instance_file(dagster_home: Path, dagster_url: str) -> None:
    """deploy/dagster.postgres.yaml (QueuedRunCoordinator, DefaultRunLauncher, the concurrency limits),
    its storage on `dagster_url`."""
    config = yaml.safe_load(POSTGRES_INSTANCE.read_text())
    config["storage"]["postgres"]["postgres_url"] = dagster_url
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))


def _through_processes(world: _World, files: list[Path], cpu: CpuSampler, profile: Path | None = None) -> None:
    """Each upload by its own `elevra-pipeline process`, all started at once; with `profile`, each under
    cProfile on the CPU clock (bench.profiled), its statistics in `profile/<upload>.prof` (the CPU
    figures then include cProfile's own, two to three times the calls' own)."""
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                *(["-m", "elevra_pipeline.bench.profiled", str(profile / f"{f.stem}.prof")] if profile else ["-m"]),
                "elevra_pipeline.cli",
                "process",
                str(f),
                "--uploader",
                UPLOADER,
                "--mode",
                "online",  # the quota-bound online path is what is measured
            ],
            env=world.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for f in files
    ]
    for r in runs:
        cpu.watch("client", r.pid)
    outputs = [r.communicate()[0] for r in runs]
    for r, out in zip(runs, outputs):
        if r.returncode != 0:
            raise RuntimeError(f"the pipeline exited with {r.returncode}:\n{out[-3000:]}")


def _through_daemon(world: _World, files: list[Path], cpu: CpuSampler, timeout: float) -> None:
    """All uploads dropped in the upload folder (old enough for the sensor to take them at once), then
    `dagster-daemon run`: its sensor registers them and requests their runs, the QueuedRunCoordinator
    dequeues them and DefaultRunLauncher starts each in a process of its own. Returns once every run has
    ended; the daemon and everything it started are stopped."""
    import dagster as dg

    uploads = world.folder / "uploads"
    uploads.mkdir()
    past = time.time() - 60
    for f in files:
        dropped = f.rename(uploads / f.name)
        sidecar = dropped.with_name(dropped.name + ".json")
        sidecar.write_text(json.dumps({"uploader_email": UPLOADER, "mode": "online"}))
        for each in (sidecar, dropped):
            os.utime(each, (past, past))
    log_path = world.folder / "daemon.log"
    with log_path.open("w") as log:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=REPO_ROOT,
            env={**world.env, "ELEVRA_UPLOAD_DIR": str(uploads)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    watching = threading.Event()
    threading.Thread(target=_watch_processes, args=(cpu, watching, daemon.pid), daemon=True).start()
    instance = dg.DagsterInstance.from_config(str(world.dagster_home))
    try:
        deadline = time.time() + timeout
        while True:
            runs = instance.get_run_records(filters=dg.RunsFilter(job_name="process_upload"))
            if len(runs) >= len(files) and all(r.dagster_run.is_finished for r in runs):
                break
            if daemon.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"the daemon's runs did not end:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        failed = [r.dagster_run.run_id for r in runs if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS]
        if failed:
            raise RuntimeError(f"runs {failed} did not succeed:\n{log_path.read_text()[-3000:]}")
    finally:
        watching.set()
        stop_session(daemon)
        instance.dispose()


def _watch_processes(cpu: CpuSampler, done: threading.Event, sid: int | None = None) -> None:
    """Names for the CPU sampler each process as it appears: PostgreSQL's (its server and backends, which
    other work on the machine may share; those running already are counted from now), and with `sid` the
    daemon's session: the run workers (each a `multiprocessing` child of the code server) are the client,
    the daemon and its code server the daemon."""
    seen: set[int] = set()
    first = True
    while True:
        for pid, command in (session_processes(sid) if sid else {}).items():
            if pid not in seen:
                seen.add(pid)
                cpu.watch("client" if "spawn_main" in command or "execute_run" in command else "daemon", pid)
        for pid in _postgres_processes():
            if pid not in seen:
                seen.add(pid)
                cpu.watch("postgres", pid, from_now=first)
        first = False
        if done.wait(0.25):
            return


def _postgres_processes() -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "comm").read_text().strip() == "postgres":
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def session_processes(sid: int) -> dict[int, str]:
    """The processes of session `sid` (Linux /proc), with their command lines."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[3]) == sid:
                found[int(proc.name)] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
    return found


def stop_session(process: subprocess.Popen) -> None:
    """Stop `process` (started with `start_new_session`), then whatever it started in its session."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    for pid in session_processes(process.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_case(
    sizes: list[int],
    factor: float,
    latency: str,
    database: str,
    postgres_url: str,
    say=print,
    through: str = "process",
    profile: Path | None = None,
) -> dict:
    """One case: `len(sizes)` uploads processed at once, each by its own `elevra-pipeline process`
    (`through="process"`) or all through the Dagster daemon on PostgreSQL (`through="daemon"`)."""
    with _world(factor, latency, database, postgres_url, through) as world:
        files, first = [], 0
        for i, size in enumerate(sizes):
            files.append(synthetic_upload(world.folder / f"upload-{i}-{size}.csv", size, first))
            first += size
        started = time.time()
        with CpuSampler() as cpu:
            cpu.watch("emulator", world.emulator_pid)
            if through == "daemon":
                _through_daemon(world, files, cpu, timeout=600 + 3600 / factor)
            else:
                watching = threading.Event()
                threading.Thread(target=_watch_processes, args=(cpu, watching), daemon=True).start()
                try:
                    _through_processes(world, files, cpu, profile)
                finally:
                    watching.set()
        wall = time.time() - started
        stats = _emulator_stats(world.base_url)
        spans, per_run = _step_spans(world.dagster_home)
        planned = _planned_calls(world.database_url, world.profile, world.quotas.chains)
        attempts = _attempt_counts(world.database_url)
        cost = _cost_per_thousand(world.database_url, world.quotas, sum(sizes))
        sends = _send_times(world.database_url, spans)
        quotas = world.quotas
    result = {
        "uploads": sizes,
        "through": through,
        "time_scale": factor,
        "database": database,
        "wall_seconds": round(wall, 2),
    }
    total_actual = total_minimum = 0.0
    for stage in STAGES:
        plan = quota_bound_minimum(quotas, quotas.chains[stage], planned[stage])
        actual = spans[stage][1] - spans[stage][0]
        total_actual, total_minimum = total_actual + actual, total_minimum + plan.seconds
        used = cpu.between(*spans[stage])
        result[stage] = {
            "seconds": round(actual, 2),
            "minimum_seconds": round(plan.seconds, 2),
            "ratio": round(actual / plan.seconds, 3),
            "minimum_calls_per_model": plan.per_model,
            # near 1: the machine's CPUs, not the quota, held the stage back
            "machine_cpu_busy": used.get("machine_busy"),
            "client_cpu_ms_per_call": round(1000 * used.get("client_cpu_seconds", 0) / max(1, len(planned[stage])), 2),
            "emulator_cpu_ms_per_call": round(
                1000 * used.get("emulator_cpu_seconds", 0) / max(1, len(planned[stage])), 2
            ),
            "cpu_seconds": _cpu_seconds(used),
            **sends.get(stage, {}),
        }
    whole = cpu.between(started, started + wall)
    model_seconds = max(end for _, end in spans.values()) - min(start for start, _ in spans.values())
    minimum = staged_minimum(quotas, quotas.chains, planned)
    result.update(
        # the uploads' model stages, first model step start to last model step end, against their
        # minimum together (each upload's structure calls ready once its analysis calls are answered)
        ratio=round(model_seconds / minimum, 3),
        model_stage_seconds=round(model_seconds, 2),
        minimum_seconds=round(minimum, 2),
        # the stages' spans added up, against their minimums added up (the figure before the daemon
        # case: with uploads at once the two spans overlap, so this counts the overlap twice)
        stages_added={
            "seconds": round(total_actual, 2),
            "minimum_seconds": round(total_minimum, 2),
            "ratio": round(total_actual / total_minimum, 3),
        },
        # the same end, from the moment the first run was created (sensor tick to run queue, launch, the
        # run process's start and the intake step included), against the same minimum
        ratio_from_first_run_created=round((model_seconds - min(r["created"] for r in per_run)) / minimum, 3),
        # from the start of the case (the daemon's own start-up and first sensor tick included)
        first_model_step_after_seconds=round(min(start for start, _ in spans.values()) - started, 2),
        machine_cpu_busy=whole.get("machine_busy"),
        cpu_seconds=_cpu_seconds(whole),
        runs=per_run,
        quota_429s=sum(stats["rejected"].values()),
        calls_per_model=stats["calls"],
        peak_in_flight=stats["peak_in_flight"],
        usd_per_1000_elections=cost,
        **attempts,
    )
    say(_describe(result))
    return result


def _cpu_seconds(used: dict) -> dict[str, float]:
    """CPU seconds per named process group (client, daemon, emulator, postgres) in a span."""
    return {k.removesuffix("_cpu_seconds"): v for k, v in used.items() if k.endswith("_cpu_seconds")}


def _wait_for(base_url: str, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while True:
        try:
            _emulator_stats(base_url)
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def _describe(r: dict) -> str:
    by = "the daemon" if r["through"] == "daemon" else "one `process` each"
    lines = [
        f"{' + '.join(map(str, r['uploads']))} election batches at once, through {by}"
        f" ({r['database']}, time /{r['time_scale']:g}):"
    ]
    for stage in STAGES:
        s = r[stage]
        lines.append(
            f"  {stage:<9} {s['seconds']:7.2f} s, quota-bound minimum {s['minimum_seconds']:6.2f} s: {s['ratio']:.3f}x"
            f"  (machine CPU busy {s['machine_cpu_busy']}, CPU per call: client {s['client_cpu_ms_per_call']} ms,"
            f" emulator {s['emulator_cpu_ms_per_call']} ms; CPU seconds {s['cpu_seconds']})"
        )
        if "sent_by_seconds" in s:
            sent = s["sent_by_seconds"]
            lines.append(
                f"  {'':<9} calls sent: half by {sent['p50']} s, 90% by {sent['p90']} s, all by {sent['all']} s "
                f"after the stage began; median answer {s['median_answer_seconds']} s"
            )
    lines.append(
        f"  model stages {r['model_stage_seconds']:.2f} s (first model step start to last end) vs minimum"
        f" {r['minimum_seconds']:.2f} s: {r['ratio']:.3f}x  (stages' spans added: {r['stages_added']['seconds']:.2f} s"
        f" vs {r['stages_added']['minimum_seconds']:.2f} s: {r['stages_added']['ratio']:.3f}x)"
    )
    lines.append(
        f"  from the first run's creation to the last model step: {r['ratio_from_first_run_created']:.3f}x the minimum;"
        f" first model step {r['first_model_step_after_seconds']} s after the case began"
    )
    lines.append(
        f"  whole run {r['wall_seconds']:.1f} s (intake, inserts, workbook, e-mails and start-up included;"
        f" machine CPU busy {r['machine_cpu_busy']}; CPU seconds {r['cpu_seconds']})"
    )
    for i, run in enumerate(r["runs"]):
        stages = ", ".join(f"{stage} {run[stage][0]}-{run[stage][1]}" for stage in STAGES if stage in run)
        lines.append(
            f"  run {i + 1}: created {run['created']},"
            + (f" launched {run['launched']}," if run.get("launched") is not None else "")
            + f" started {run['started']},"
            f" {stages} (s from the first model step)"
        )
    lines.append(
        f"  quota 429s {r['quota_429s']}, fallbacks {r['fallbacks']}, failed attempts {r['failed']}, "
        f"peak in flight {r['peak_in_flight']}"
    )
    lines.append(
        f"  cost per 1,000 elections: ${r['usd_per_1000_elections']['online']:.2f} online, "
        f"${r['usd_per_1000_elections']['batch_prices']:.2f} at Batch API prices (emulator's token counts)"
    )
    return "\n".join(lines)


def together(spec: str | int) -> list[int]:
    """`--concurrent`: '200' (two uploads of 200, as before), '4x250' (four of 250), '0' (none)."""
    count, _, size = str(spec).strip().lower().rpartition("x")
    uploads, batches = int(count or 2), int(size)
    return [batches] * uploads if batches and uploads else []


def run(
    sizes: list[int],
    factor: float,
    latency: str = DEFAULT_LATENCY,
    database: str = "sqlite",
    postgres_url: str = "",
    concurrent: str = "2x200",
    say=print,
    through: str = "process",
    profile: Path | None = None,
) -> list[dict]:
    if through == "daemon":
        database = "postgres"  # the daemon's runs share the app database as deployed: PostgreSQL
    if profile:
        profile.mkdir(parents=True, exist_ok=True)
    cases = [[size] for size in sizes] + ([together(concurrent)] if together(concurrent) else [])
    results = [run_case(case, factor, latency, database, postgres_url, say, through, profile) for case in cases]
    worst = max(r["ratio"] for r in results)
    say(json.dumps({"bench": "pipeline", "worst_ratio": worst, "cases": results}))
    return results

"""`elevra-pipeline bench pipeline`: synthetic uploads through the real pipeline, against their quota-bound minimum.

Each case runs `elevra-pipeline process` (the same job the daemon runs) in its own process, one per
upload, against the emulator in another process with the default quota table and per-model answer
times. Time is scaled: the window, the answer times and the engine's waits are divided by
`--time-scale`. The model stages' wall time (first step start to last step end, read from the
Dagster event log) is compared with the quota-bound minimum of the same calls (bench.minimum).
"""

import csv
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timezone
from pathlib import Path
from tempfile import TemporaryDirectory

import yaml

from elevra_pipeline.bench.cpu import CpuSampler
from elevra_pipeline.bench.minimum import PlannedCall, quota_bound_minimum
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


def _step_spans(dagster_home: Path) -> dict[str, tuple[float, float]]:
    """Per model stage, the first step start and the last step end over every run."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    spans: dict[str, list[float]] = {}
    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    try:
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id, of_type=kinds):
                for stage, step in STAGES.items():
                    if entry.step_key == step:
                        spans.setdefault(stage, []).append(entry.timestamp)
    finally:
        instance.dispose()
    return {stage: (min(times), max(times)) for stage, times in spans.items()}


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
                calls[stage].append(PlannedCall(count_tokens(payload), answer))
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


def run_case(
    sizes: list[int],
    factor: float,
    latency: str,
    database: str,
    postgres_url: str,
    say=print,
) -> dict:
    """One case: `len(sizes)` uploads processed at once, each by its own `elevra-pipeline process`."""
    quotas = scaled_quotas(load_quotas(DEFAULT_QUOTAS_FILE), factor)
    profile = LatencyProfile.parse(latency).scaled(factor)
    with TemporaryDirectory(prefix="elevra-bench-") as tmp:
        folder = Path(tmp)
        quotas_file = folder / "quotas.yaml"
        quotas_file.write_text(yaml.safe_dump(quotas.model_dump(exclude_none=True)))
        dagster_home = folder / "dagster_home"
        dagster_home.mkdir()
        # create the instance's storage once, here: two `process` commands creating it at the same
        # moment would both stamp its schema version
        _create_instance(dagster_home)
        database_url, drop = _database(database, folder, postgres_url)
        port = _free_port()
        server = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(quotas.model_dump_json(), latency, factor, port), daemon=True
        )
        server.start()
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_for(base_url)
            env = {
                **os.environ,
                "ELEVRA_DATA_DIR": str(folder / "data"),
                "ELEVRA_DATABASE_URL": database_url,
                "ELEVRA_GEMINI_BASE_URL": base_url,
                "ELEVRA_QUOTAS_FILE": str(quotas_file),
                "DAGSTER_HOME": str(dagster_home),
            }
            env.pop("GEMINI_API_KEY", None)
            env.pop("RESEND_API_KEY", None)
            files, first = [], 0
            for i, size in enumerate(sizes):
                files.append(synthetic_upload(folder / f"upload-{i}-{size}.csv", size, first))
                first += size
            started = time.time()
            with CpuSampler() as cpu:
                cpu.watch("emulator", server.pid)
                runs = [
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "elevra_pipeline.cli",
                            "process",
                            str(f),
                            "--uploader",
                            "bench@example.org",
                            "--mode",
                            "online",  # the quota-bound online path is what is measured
                        ],
                        env=env,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        text=True,
                    )
                    for f in files
                ]
                for r in runs:
                    cpu.watch("client", r.pid)
                outputs = [r.communicate()[0] for r in runs]
            wall = time.time() - started
            for r, out in zip(runs, outputs):
                if r.returncode != 0:
                    raise RuntimeError(f"the pipeline exited with {r.returncode}:\n{out[-3000:]}")
            stats = _emulator_stats(base_url)
            spans = _step_spans(dagster_home)
            planned = _planned_calls(database_url, profile, quotas.chains)
            attempts = _attempt_counts(database_url)
            cost = _cost_per_thousand(database_url, quotas, sum(sizes))
            sends = _send_times(database_url, spans)
        finally:
            server.kill()
            drop()
    result = {"uploads": sizes, "time_scale": factor, "database": database, "wall_seconds": round(wall, 2)}
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
            **sends.get(stage, {}),
        }
    result.update(
        ratio=round(total_actual / total_minimum, 3),
        model_stage_seconds=round(total_actual, 2),
        minimum_seconds=round(total_minimum, 2),
        quota_429s=sum(stats["rejected"].values()),
        calls_per_model=stats["calls"],
        peak_in_flight=stats["peak_in_flight"],
        usd_per_1000_elections=cost,
        **attempts,
    )
    say(_describe(result))
    return result


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
    lines = [
        f"{' + '.join(map(str, r['uploads']))} election batches at once ({r['database']}, time /{r['time_scale']:g}):"
    ]
    for stage in STAGES:
        s = r[stage]
        lines.append(
            f"  {stage:<9} {s['seconds']:7.2f} s, quota-bound minimum {s['minimum_seconds']:6.2f} s: {s['ratio']:.3f}x"
            f"  (machine CPU busy {s['machine_cpu_busy']}, CPU per call: client {s['client_cpu_ms_per_call']} ms,"
            f" emulator {s['emulator_cpu_ms_per_call']} ms)"
        )
        if "sent_by_seconds" in s:
            sent = s["sent_by_seconds"]
            lines.append(
                f"  {'':<9} calls sent: half by {sent['p50']} s, 90% by {sent['p90']} s, all by {sent['all']} s "
                f"after the stage began; median answer {s['median_answer_seconds']} s"
            )
    lines.append(
        f"  model stages {r['model_stage_seconds']:.2f} s vs {r['minimum_seconds']:.2f} s: {r['ratio']:.3f}x; "
        f"whole run {r['wall_seconds']:.1f} s (intake, inserts, workbook, e-mails and start-up included)"
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
) -> list[dict]:
    cases = [[size] for size in sizes] + ([together(concurrent)] if together(concurrent) else [])
    results = [run_case(case, factor, latency, database, postgres_url, say) for case in cases]
    worst = max(r["ratio"] for r in results)
    say(json.dumps({"bench": "pipeline", "worst_ratio": worst, "cases": results}))
    return results

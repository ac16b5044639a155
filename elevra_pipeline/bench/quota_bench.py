"""`elevra-pipeline bench quota`: how close to the limits the engine runs, and what it costs.

In one run: (1) N processes share one ledger and push calls at one emulator enforcing the same
quotas; per model it reports admitted requests and tokens per window against the limits and the
429s the emulator returned; (2) the engine's overhead versus direct SDK calls with limits off;
(3) a naive client (sequential, fixed 2 s retry on 429, as in seeds/003) versus the engine on the
same workload.
"""

import json
import multiprocessing
import time
import uuid
from bisect import bisect_right
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from itertools import accumulate
from pathlib import Path
from tempfile import TemporaryDirectory

from google.genai import errors
from sqlalchemy import create_engine, text

from elevra_pipeline.bench import DEFAULT_POSTGRES
from elevra_pipeline.bench.processes import start_together
from elevra_pipeline.bench.workload import PROMPT, call_once, engine_worker, make_caller
from elevra_pipeline.gemini.client import make_client, structured_config
from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.gemini.prompts import ANALYSIS_SYSTEM
from elevra_pipeline.gemini.schemas import BatchAnalysis
from elevra_pipeline.quotas.limits import ModelLimits, QuotaConfig, load_quotas

BENCH_QUOTAS = Path(__file__).with_name("bench_quotas.yaml")


def _ledger_url(kind: str, folder: str, postgres_url: str) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{folder}/ledger-{uuid.uuid4().hex[:6]}.db", lambda: None
    return fresh_postgres_schema(postgres_url)


def fresh_postgres_schema(postgres_url: str) -> tuple[str, callable]:
    """A URL to a new, empty schema of `postgres_url`, and a function that drops it."""
    schema = f"elevra_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop():
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))

    return f"{postgres_url}?options=-csearch_path%3D{schema}", drop


def busiest_window(arrivals: list[tuple[float, int]], window: float) -> tuple[int, int]:
    """Most requests and most tokens the server admitted within any sliding window."""
    ordered, most_requests, most_tokens, left, tokens = sorted(arrivals), 0, 0, 0, 0
    for right, (at, spent) in enumerate(ordered):
        tokens += spent
        while ordered[left][0] <= at - window:
            tokens -= ordered[left][1]
            left += 1
        most_requests, most_tokens = max(most_requests, right - left + 1), max(most_tokens, tokens)
    return most_requests, most_tokens


def mean_occupancy(
    arrivals: list[tuple[float, int]],
    limit: int,
    start: float,
    end: float,
    window: float,
    use_tokens: bool,
    samples: int = 5000,
) -> float:
    """How full the sliding window was, averaged over every moment from `start + window` to `end`.

    Unlike admitted-per-window, this does not round a burst that lands just inside the run up to a
    full window: a steady cycle of `window + gap` scores `window / (window + gap)`."""
    ordered = sorted(arrivals)
    times = [t for t, _ in ordered]
    running = list(accumulate(((k if use_tokens else 1) for _, k in ordered), initial=0))
    first = start + window
    total = 0.0
    for i in range(samples):
        t = first + (end - first) * i / (samples - 1)
        total += running[bisect_right(times, t)] - running[bisect_right(times, t - window)]
    return total / samples / limit


def utilization(
    arrivals: list[tuple[float, int]], limits: ModelLimits, start: float, windows: int, window: float
) -> dict:
    inside = [(t, k) for t, k in arrivals if start <= t < start + windows * window]
    requests, tokens = len(inside), sum(k for _, k in inside)
    busiest = busiest_window(arrivals, window)
    result = {
        "requests_per_window": round(requests / windows, 1),
        "rpm_limit": limits.rpm,
        "tokens_per_window": round(tokens / windows),
        "tpm_limit": limits.tpm,
        "busiest_window_requests": busiest[0],
        "busiest_window_tokens": busiest[1],
    }
    shares = {}
    if limits.rpm:
        shares["rpm"] = requests / (limits.rpm * windows)
    if limits.tpm:
        shares["tpm"] = tokens / (limits.tpm * windows)
    if shares:
        binding = max(shares, key=shares.get)
        limit = limits.rpm if binding == "rpm" else limits.tpm
        occupancy = mean_occupancy(arrivals, limit, start, start + windows * window, window, binding == "tpm")
        result.update(
            binding_limit=binding, utilization=round(shares[binding], 4), mean_window_occupancy=round(occupancy, 4)
        )
    return result


def run_load(
    config: QuotaConfig, processes: int, seconds: float, threads: int, ledger_url: str, latency: float
) -> dict:
    emulator = start_in_thread(quotas=config, latency_seconds=latency, record_arrivals=True)
    context = multiprocessing.get_context("spawn")
    ready, out, go, start_at = context.Queue(), context.Queue(), context.Event(), context.Value("d", 0.0)
    workers = [
        context.Process(
            target=engine_worker,
            args=(config.model_dump_json(), ledger_url, emulator.base_url, seconds, threads, ready, go, start_at, out),
        )
        for _ in range(processes)
    ]
    # the clock starts once every process has imported and connected: a slow start cannot cost a window
    start = start_together(workers, ready, go, start_at)
    stats = Counter()
    for _ in workers:
        stats.update(out.get(timeout=seconds + 120))
    for worker in workers:
        worker.join()
    emulator.shutdown()
    windows = max(1, int(seconds // config.window_seconds))
    per_model = {}
    for model in config.chain("analysis"):
        per_model[model] = utilization(
            emulator.quotas.arrivals.get(model, []), config.limits(model), start, windows, config.window_seconds
        )
        per_model[model].update(
            calls_ok=stats[f"{model}|ok"],
            fallback_calls=stats[f"{model}|fallback"],
            quota_429s_from_emulator=emulator.quotas.rejected.get(model, 0),
        )
    return {"models": per_model, "failed_calls": stats["failed"], "windows_measured": windows}


def run_overhead(ledger_url: str, latency: float, calls: int) -> dict:
    unlimited = QuotaConfig(
        models={"gemini-3.1-pro-preview": ModelLimits()}, chains={"analysis": ["gemini-3.1-pro-preview"]}
    )
    emulator = start_in_thread(quotas=None, latency_seconds=latency)
    client = make_client(None, emulator.base_url, 30)
    config = structured_config(ANALYSIS_SYSTEM, BatchAnalysis)
    stats = Counter()
    caller = make_caller(unlimited, ledger_url, emulator.base_url, stats)
    direct = engine = 0.0
    for block in range(calls // 10):  # interleaved blocks so machine noise hits both alike
        began = time.perf_counter()
        for _ in range(10):
            client.models.generate_content(model="gemini-3.1-pro-preview", contents=PROMPT, config=config).parsed
        direct += time.perf_counter() - began
        began = time.perf_counter()
        for _ in range(10):
            call_once(caller, stats)
        engine += time.perf_counter() - began
    emulator.shutdown()
    n = (calls // 10) * 10
    return {
        "calls_each": n,
        "direct_ms_per_call": round(direct / n * 1000, 3),
        "engine_ms_per_call": round(engine / n * 1000, 3),
        "overhead_ratio": round(engine / direct, 4),
    }


def run_naive_vs_engine(config: QuotaConfig, ledger_url: str, latency: float, calls: int, threads: int) -> dict:
    """The same `calls` analysis calls: naive sequential client versus the engine with `threads` callers."""
    preferred = config.chain("analysis")[0]
    emulator = start_in_thread(quotas=config, latency_seconds=latency)
    client = make_client(None, emulator.base_url, 30)
    gen_config = structured_config(ANALYSIS_SYSTEM, BatchAnalysis)
    began, naive_429s = time.perf_counter(), 0
    for _ in range(calls):
        while True:
            try:
                client.models.generate_content(model=preferred, contents=PROMPT, config=gen_config)
                break
            except errors.APIError as e:
                if e.code != 429:
                    raise
                naive_429s += 1
                time.sleep(2.0)
    naive = time.perf_counter() - began
    emulator.shutdown()
    emulator = start_in_thread(quotas=config, latency_seconds=latency)
    stats = Counter()
    caller = make_caller(config, ledger_url, emulator.base_url, stats)
    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: call_once(caller, stats), range(calls)))
    engine = time.perf_counter() - began
    emulator.shutdown()
    return {
        "calls": calls,
        "naive_seconds": round(naive, 2),
        "naive_429s": naive_429s,
        "engine_seconds": round(engine, 2),
        "engine_429s": sum(v for k, v in stats.items() if k.endswith("|rate_limited")),
        "naive_over_engine_ratio": round(naive / engine, 2),
    }


def run(
    processes: int,
    seconds: float,
    quotas: str | None,
    ledger: str,
    threads: int = 4,
    latency_ms: float = 50.0,
    postgres_url: str = DEFAULT_POSTGRES,
    overhead_calls: int = 200,
    naive_calls: int = 150,
    say=print,
) -> dict:
    config = load_quotas(quotas or BENCH_QUOTAS)
    latency = latency_ms / 1000
    with TemporaryDirectory() as folder:
        results = {
            "ledger": ledger,
            "processes": processes,
            "threads_per_process": threads,
            "seconds": seconds,
            "window_seconds": config.window_seconds,
            "model_latency_ms": latency_ms,
        }
        for name, job in (
            ("load", lambda url: run_load(config, processes, seconds, threads, url, latency)),
            ("overhead", lambda url: run_overhead(url, latency, overhead_calls)),
            ("naive", lambda url: run_naive_vs_engine(config, url, latency, naive_calls, processes * threads)),
        ):
            url, drop = _ledger_url(ledger, folder, postgres_url)
            say(f"... {name} ({ledger} ledger)")
            try:
                results[name] = job(url)
            finally:
                drop()
    _report(results, say)
    return results


def _report(r: dict, say) -> None:
    say(
        f"\nquota benchmark: {r['processes']} processes x {r['threads_per_process']} threads, {r['seconds']}s, "
        f"{r['ledger']} ledger, window {r['window_seconds']}s, simulated model latency {r['model_latency_ms']} ms"
    )
    say(
        f"{'model':16} {'req/window':>10} {'rpm':>6} {'tok/window':>11} {'tpm':>8} {'binding':>8} {'util':>7} "
        f"{'occupancy':>9} {'429s':>5} {'fallback':>8}"
    )
    for model, m in r["load"]["models"].items():
        say(
            f"{model:16} {m['requests_per_window']:>10} {m['rpm_limit'] or '-':>6} {m['tokens_per_window']:>11} "
            f"{m['tpm_limit'] or '-':>8} {m.get('binding_limit', '-'):>8} {m.get('utilization', 0):>7.3f} "
            f"{m.get('mean_window_occupancy', 0):>9.3f} {m['quota_429s_from_emulator']:>5} {m['fallback_calls']:>8}"
        )
    o, n = r["overhead"], r["naive"]
    say(
        f"engine overhead: {o['engine_ms_per_call']} ms vs {o['direct_ms_per_call']} ms per call direct "
        f"-> ratio {o['overhead_ratio']}"
    )
    say(
        f"naive client: {n['naive_seconds']}s ({n['naive_429s']} 429s) vs engine {n['engine_seconds']}s "
        f"({n['engine_429s']} 429s) for {n['calls']} calls -> ratio {n['naive_over_engine_ratio']}"
    )
    summary = {
        "ledger": r["ledger"],
        "processes": r["processes"],
        "utilization": {m: v.get("utilization") for m, v in r["load"]["models"].items()},
        "mean_window_occupancy": {m: v.get("mean_window_occupancy") for m, v in r["load"]["models"].items()},
        "quota_429s": sum(v["quota_429s_from_emulator"] for v in r["load"]["models"].values()),
        "fallback_calls": sum(v["fallback_calls"] for v in r["load"]["models"].values()),
        "overhead_ratio": o["overhead_ratio"],
        "naive_over_engine_ratio": n["naive_over_engine_ratio"],
    }
    say(json.dumps(summary))

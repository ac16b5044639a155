"""`bench quota --invisible-consumer F`: the project's quota is shared with someone we cannot see.

An emulator enforces the bench quotas; a second consumer (another Elevra job, the web app), unknown to
our ledger, uses `F` of the preferred model's RPM, evenly spaced: the emulator counts each of its
calls as Google would one that arrived first (never refused), so what is left to us is the rest. Our engine
(adaptive limits on, as by default) pushes analysis calls with several callers for the run. Reported
per model: our calls per window against what the other consumer left us (utilisation), the 429s we
received per minute in the first and the second half of the run, and how the effective limit moved.
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import TemporaryDirectory

from elevra_pipeline.gemini.client import GeminiCaller, make_client
from elevra_pipeline.gemini.emulator.latency import LatencyProfile
from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.gemini.prompts import ANALYSIS_SYSTEM
from elevra_pipeline.gemini.schemas import BatchAnalysis
from elevra_pipeline.quotas.engine import QuotaEngine
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import load_quotas
from elevra_pipeline.storage.database import migrated_engine

BENCH_QUOTAS = Path(__file__).with_name("bench_quotas.yaml")


def _prompt(i: int) -> str:
    return f'TASK: analyze-election-batch\n<rows>[{{"candidate_name": "Bench {i}"}}]</rows>'


def run(seconds: float, taken: float, threads: int = 8, latency_ms: float = 50.0, say=print) -> dict:
    config = load_quotas(BENCH_QUOTAS).model_copy(update={"chains": {"analysis": ["gemini-3.1-pro-preview"]}})
    model, window = "gemini-3.1-pro-preview", config.window_seconds
    limit = config.limits(model).rpm
    server = start_in_thread(quotas=config, latency=LatencyProfile.fixed(latency_ms / 1000), record_arrivals=True)
    stop = threading.Event()
    other_sent = []

    def invisible_consumer():
        """Its calls at an even pace, each counted by Google (it got there first): never refused."""
        spacing = window / (limit * taken)
        next_at = time.time()
        while not stop.is_set():
            server.quotas.consume(model, 50, time.time())
            other_sent.append(time.time())
            next_at += spacing
            stop.wait(max(0.0, next_at - time.time()))

    with TemporaryDirectory() as folder:
        ledger = QuotaLedger.for_config(migrated_engine(f"sqlite:///{folder}/ledger.db"), config)
        ours: list[tuple[float, str]] = []
        engine = QuotaEngine(
            config,
            ledger,
            attempt_sink=lambda row: ours.append((time.time(), row["status"])),
            backoff_base=0.2,
            max_in_flight=threads,
        )
        caller = GeminiCaller(make_client(None, server.base_url, 30, threads), engine)
        consumer = threading.Thread(target=invisible_consumer, daemon=True)
        started = time.time()
        consumer.start()
        deadline = started + seconds

        def worker(offset: int):
            i = offset
            while time.time() < deadline:
                try:
                    caller.run("analysis", ANALYSIS_SYSTEM, _prompt(i), BatchAnalysis)
                except Exception:  # noqa: BLE001 - counted from the attempt rows
                    pass
                i += threads

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(worker, range(threads)))
        stop.set()
        consumer.join(5)
        ended = time.time()
        changes = ledger.limit_changes(model)
        final = ledger.effective_limits(model, config.allowed(model), ended).rpm
    arrivals = [at for at, _ in server.quotas.arrivals[model]]
    server.shutdown()
    server.server_close()
    whole = int((ended - started) // window)
    # after the first two windows (at the start the window was empty: we got a whole one), until the
    # last whole window; ours as the emulator admitted them
    since, until = started + 2 * window, started + whole * window
    ok = [at for at in arrivals if since <= at < until]
    theirs = [at for at in other_sent if since <= at < until]
    left_to_us = max(1, limit * (whole - 2) - len(theirs))
    half = started + (ended - started) / 2
    minutes = (ended - started) / 2 / window  # a window is the bench's minute
    limited = [at for at, status in ours if status == "rate_limited"]
    result = {
        "seconds": round(ended - started, 1),
        "window_seconds": window,
        "declared_rpm": limit,
        "other_consumer_share": taken,
        "windows": whole,
        "measured_windows": whole - 2,
        "our_calls": len(ok),
        "their_calls": len(theirs),
        "utilisation_of_what_was_left": round(len(ok) / left_to_us, 3),
        "our_429s_per_minute_first_half": round(sum(at < half for at in limited) / minutes, 2),
        "our_429s_per_minute_second_half": round(sum(at >= half for at in limited) / minutes, 2),
        "effective_rpm_at_end": final,
        "limit_changes": len(changes),
        "emulator_admitted": len(arrivals),
    }
    say(
        f"\nshared quota: another consumer takes {taken:.0%} of {model}'s {limit} requests per {window:g}s window; "
        f"{whole} whole windows, {threads} callers, adaptive limits on"
    )
    say(
        f"windows 3-{whole}: ours {len(ok)} calls of the {left_to_us} left to us -> utilisation "
        f"{result['utilisation_of_what_was_left']}; theirs {len(theirs)}"
    )
    say(
        f"our 429s per window-minute: {result['our_429s_per_minute_first_half']} in the first half, "
        f"{result['our_429s_per_minute_second_half']} in the second; effective rpm {limit} -> {final} "
        f"({len(changes)} changes)"
    )
    say(json.dumps(result))
    return result

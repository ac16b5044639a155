"""`elevra-pipeline bench quota --ledger-only`: how many calls per second the shared ledger can admit.

No model is called: every caller reserves a call (every limit of the model checked) and settles it
at once, as fast as it can, for a few seconds, in two ways: `threads` (one transaction per
reservation and per settlement, as `QuotaEngine.call` does) and `loop` (the callers are coroutines on
one event loop per process, and the reservations, then the settlements, of one turn of the loop share
a transaction, as the model stages do). The quotas are far above what the ledger can admit, so the
ledger is all that is measured; the window is 1 s so that it holds about as many rows as a real 60 s
window of a 1,000-RPM model.
"""

import asyncio
import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from tempfile import TemporaryDirectory

from elevra_pipeline.bench.cpu import machine_ticks
from elevra_pipeline.bench.processes import start_together
from elevra_pipeline.bench.quota_bench import _ledger_url
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import ModelLimits
from elevra_pipeline.storage.coalesce import Coalescer
from elevra_pipeline.storage.database import migrated_engine

MODEL = "gemini-3.8-flash"
LIMITS = ModelLimits(rpm=10**9, tpm=10**12, rpd=10**9)
WINDOW_SECONDS = 1.0


def ledger_worker(ledger_url: str, callers: int, seconds: float, ready, go, start_at, out, mode="threads") -> None:
    """One OS process: `callers` threads (or coroutines) reserving and settling until the shared stop time."""
    ledger = QuotaLedger(migrated_engine(ledger_url), window_seconds=WINDOW_SECONDS)
    ledger.settle(ledger.try_reserve(MODEL, LIMITS, 100, time.time()).reservation_id, time.time(), 100)  # warm
    ready.put(1)
    go.wait()
    start = start_at.value
    stop = start + seconds
    time.sleep(max(0.0, start - time.time()))
    done, refused, lock = [0], [0], threading.Lock()

    def loop():
        mine = no = 0
        while time.time() < stop:
            decision = ledger.try_reserve(MODEL, LIMITS, 100, time.time())
            if decision.admitted:
                ledger.settle(decision.reservation_id, time.time(), 100)
                mine += 1
            else:
                no += 1
        with lock:
            done[0] += mine
            refused[0] += no

    async def on_loop():
        reserve = Coalescer(lambda asked: ledger.try_reserve_many(MODEL, LIMITS, asked, time.time()))
        settle = Coalescer(lambda rows: ledger.settle_many(rows) or [None] * len(rows))

        async def caller():
            while time.time() < stop:
                decision = await reserve(100)
                if decision.admitted:
                    await settle((decision.reservation_id, time.time(), 100, None))
                    done[0] += 1
                else:
                    refused[0] += 1

        await asyncio.gather(*(caller() for _ in range(callers)))

    if mode == "loop":
        asyncio.run(on_loop())
    else:
        with ThreadPoolExecutor(callers) as pool:
            for future in [pool.submit(loop) for _ in range(callers)]:
                future.result()
    out.put({"calls": done[0], "refused": refused[0]})


def measure(ledger_url: str, processes: int, callers: int, seconds: float, mode: str = "threads") -> dict:
    context = multiprocessing.get_context("spawn")
    ready, out, go, start_at = context.Queue(), context.Queue(), context.Event(), context.Value("d", 0.0)
    workers = [
        context.Process(target=ledger_worker, args=(ledger_url, callers, seconds, ready, go, start_at, out, mode))
        for _ in range(processes)
    ]
    start = start_together(workers, ready, go, start_at)
    time.sleep(max(0.0, start - time.time()))
    before = machine_ticks()
    results = [out.get(timeout=seconds + 300) for _ in workers]
    after = machine_ticks()
    for worker in workers:
        worker.join()
    calls = sum(r["calls"] for r in results)
    return {
        "mode": mode,
        "processes": processes,
        "callers_per_process": callers,
        "calls": calls,
        "refused": sum(r["refused"] for r in results),
        "per_second": round(calls / seconds, 1),
        # near 1: the machine's CPUs (callers and database server together), not the ledger's locks, bind
        "machine_cpu_busy": round((after[0] - before[0]) / max(1, after[1] - before[1]), 3) if before else None,
    }


def run(ledger: str, processes: int, callers: tuple[int, ...], seconds: float, postgres_url: str, say=print) -> dict:
    rows = []
    with TemporaryDirectory() as folder:
        for mode in ("threads", "loop"):
            for n in callers:
                url, drop = _ledger_url(ledger, folder, postgres_url)
                try:
                    row = measure(url, processes, n, seconds, mode)
                finally:
                    drop()
                say(
                    f"{ledger:8} {mode:7} {processes} processes x {n:>2} callers: {row['per_second']:>7} "
                    f"reserve+settle per second ({row['calls']} in {seconds:g} s; "
                    f"machine CPU busy {row['machine_cpu_busy']})"
                )
                rows.append(row)
    return {"bench": "ledger", "ledger": ledger, "seconds": seconds, "runs": rows}

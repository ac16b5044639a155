"""What each benchmark caller sends: one realistic analysis call for a sample election batch."""

import time
from collections import Counter

from elevra_pipeline.exceptions import BatchFailedError
from elevra_pipeline.gemini.client import GeminiCaller, make_client
from elevra_pipeline.gemini.prompts import ANALYSIS_SYSTEM, analysis_prompt
from elevra_pipeline.gemini.schemas import BatchAnalysis
from elevra_pipeline.quotas.engine import QuotaEngine
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import QuotaConfig
from elevra_pipeline.storage.database import migrated_engine

ROWS = [
    {
        "jurisdiction": "Springfield",
        "office": "City Council",
        "district": "3",
        "election_date": "2026-11-03",
        "candidate_name": name,
        "party": party,
        "website": f"{name.split()[0].lower()}.vote",
    }
    for name, party in (("Ann Lee", "Dem"), ("Bo Chan", "R"), ("Cy Park", "NP"))
]
PROMPT = analysis_prompt(ROWS)


def make_caller(config: QuotaConfig, ledger_url: str, base_url: str, stats: Counter) -> GeminiCaller:
    ledger = QuotaLedger.for_config(migrated_engine(ledger_url), config)

    def sink(row: dict) -> None:
        stats[f"{row['model']}|{row['status']}"] += 1
        stats[f"{row['model']}|fallback"] += bool(row["is_fallback"]) and row["status"] == "ok"

    engine = QuotaEngine(config, ledger, attempt_sink=sink, backoff_base=0.05, backoff_cap=1.0)
    return GeminiCaller(make_client(None, base_url, 30), engine)


def call_once(caller: GeminiCaller, stats: Counter) -> None:
    try:
        caller.run("analysis", ANALYSIS_SYSTEM, PROMPT, BatchAnalysis)
    except BatchFailedError:
        stats["failed"] += 1


def engine_worker(
    config_json: str, ledger_url: str, base_url: str, seconds: float, threads: int, ready, go, start_at, out
) -> None:
    """One OS process of the benchmark: `threads` callers looping for `seconds` from the shared start,
    which the parent sets once every process is ready (see ledger_bench.start_together)."""
    from concurrent.futures import ThreadPoolExecutor

    config = QuotaConfig.model_validate_json(config_json)
    stats: Counter = Counter()
    caller = make_caller(config, ledger_url, base_url, stats)
    caller.engine.ledger.usage(config.chain("analysis")[0], time.time())  # connected and migrated
    ready.put(1)
    go.wait()
    stop = start_at.value + seconds
    time.sleep(max(0.0, start_at.value - time.time()))

    def loop():
        while time.time() < stop:
            call_once(caller, stats)

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(loop) for _ in range(threads)]:
            future.result()
    out.put(dict(stats))

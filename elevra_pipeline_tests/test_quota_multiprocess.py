"""Several OS processes share one ledger and never overrun the emulator's quotas, on both ledgers."""

import pytest

from elevra_pipeline.bench.quota_bench import mean_occupancy, run_load
from elevra_pipeline.quotas.limits import parse_quotas

CONFIG = parse_quotas(
    {
        "window_seconds": 2,
        "fallback_after_seconds": 0.1,
        "max_wait_seconds": 20,
        "models": {"gemini-3.1-pro-preview": {"rpm": 12}, "gemini-3-flash-preview": {"rpm": 100, "tpm": 4000}},
        "chains": {"analysis": ["gemini-3.1-pro-preview", "gemini-3-flash-preview"]},
    }
)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_three_processes_fill_both_models_without_a_single_429(backend, request, tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    result = run_load(CONFIG, processes=3, seconds=4, threads=3, ledger_url=url, latency=0.005)
    pro, backup = result["models"]["gemini-3.1-pro-preview"], result["models"]["gemini-3-flash-preview"]
    assert pro["quota_429s_from_emulator"] == 0 and backup["quota_429s_from_emulator"] == 0
    assert pro["busiest_window_requests"] <= 12
    assert backup["busiest_window_tokens"] <= 4000
    assert pro["calls_ok"] >= 12 and backup["fallback_calls"] > 0  # overflow went to the fallback
    assert result["failed_calls"] == 0


def test_mean_window_occupancy_scores_a_gap_after_each_window_as_lost_capacity():
    window, gap, limit = 6.0, 0.5, 10
    bursts = [k * (window + gap) for k in range(40)]
    arrivals = [(t, 100) for t in bursts for _ in range(limit)]
    assert mean_occupancy(arrivals, limit, 0.0, bursts[-1], window, use_tokens=False) == pytest.approx(
        window / (window + gap), abs=0.01
    )
    assert mean_occupancy(arrivals, limit * 100, 0.0, bursts[-1], window, use_tokens=True) == pytest.approx(
        window / (window + gap), abs=0.01
    )
    steady = [(i * window / limit, 100) for i in range(40 * limit)]  # one call every window/limit
    assert mean_occupancy(steady, limit, 0.0, steady[-1][0], window, use_tokens=False) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("mode", ["threads", "loop"])
def test_the_ledger_benchmark_counts_every_reservation_it_settled(tmp_path, mode):
    from sqlalchemy import create_engine, text

    from elevra_pipeline.bench.ledger_bench import measure

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    result = measure(url, processes=2, callers=4, seconds=1.0, mode=mode)
    assert result["calls"] > 0 and result["refused"] == 0
    with create_engine(url).connect() as conn:
        settled, open_ = conn.execute(text("SELECT sum(NOT in_flight), sum(in_flight) FROM quota_reservations")).one()
    assert open_ == 0
    assert settled == result["calls"] + 2  # and one warm-up call per process

"""The benchmark's yardstick: the quota-bound minimum follows the ledger's rules."""

import pytest

from elevra_pipeline.bench.minimum import PlannedCall, quota_bound_minimum, staged_minimum
from elevra_pipeline.quotas.limits import parse_quotas


def _config(models, fallback_after=1.0, margin=0.0):
    return parse_quotas(
        {
            "window_seconds": 10,
            "fallback_after_seconds": fallback_after,
            "arrival_margin_seconds": margin,
            "models": models,
            "chains": {"analysis": list(models)},
        }
    )


def _calls(n, tokens=100, **answer_seconds):
    return [PlannedCall(tokens, dict(answer_seconds)) for _ in range(n)]


def test_requests_per_minute_bind_when_there_is_no_fallback():
    config = _config({"slow": {"rpm": 2}}, fallback_after=60)
    plan = quota_bound_minimum(config, ["slow"], _calls(5, slow=1.0))
    # two calls per 10 s window: sent at 0, 0, 10, 10, 20; the last answers a second later
    assert plan.seconds == pytest.approx(21.0, abs=0.01)
    assert plan.per_model == {"slow": 5} and plan.fallbacks == 0


def test_a_fallback_takes_what_would_wait_longer_than_fallback_after():
    config = _config({"slow": {"rpm": 2}, "spare": {"rpm": 1000}})
    plan = quota_bound_minimum(config, ["slow", "spare"], _calls(5, slow=1.0, spare=3.0))
    assert plan.per_model == {"slow": 2, "spare": 3} and plan.fallbacks == 3
    assert plan.seconds == pytest.approx(3.0, abs=0.01)


def test_a_short_wait_is_taken_rather_than_falling_back():
    config = _config({"slow": {"rpm": 2}, "spare": {"rpm": 1000}}, fallback_after=60)
    plan = quota_bound_minimum(config, ["slow", "spare"], _calls(3, slow=1.0, spare=3.0))
    assert plan.per_model == {"slow": 3, "spare": 0}
    assert plan.seconds == pytest.approx(11.0, abs=0.01)


def test_input_tokens_per_minute_bind_large_prompts():
    config = _config({"slow": {"tpm": 1000}}, fallback_after=60)
    plan = quota_bound_minimum(config, ["slow"], _calls(3, tokens=600, slow=0.5))
    # one 600-token call per window
    assert plan.seconds == pytest.approx(20.5, abs=0.01)


def test_the_arrival_margin_delays_when_a_slot_frees():
    config = _config({"slow": {"rpm": 1}}, fallback_after=60, margin=2.0)
    plan = quota_bound_minimum(config, ["slow"], _calls(2, slow=0.0))
    assert plan.seconds == pytest.approx(12.0, abs=0.01)


def test_a_day_quota_that_cannot_hold_the_stage_is_an_error():
    config = _config({"slow": {"rpm": 100, "rpd": 2}})
    with pytest.raises(ValueError, match="cannot admit"):
        quota_bound_minimum(config, ["slow"], _calls(3, slow=1.0))


def test_uploads_at_once_each_structure_stage_waits_for_its_own_analysis_only():
    config = parse_quotas(
        {
            "window_seconds": 10,
            "fallback_after_seconds": 1.0,
            "arrival_margin_seconds": 0.0,
            "models": {"slow": {"rpm": 2}, "spare": {"rpm": 1000}, "flash": {"rpm": 1000}},
            "chains": {"analysis": ["slow", "spare"], "structure": ["flash"]},
        }
    )
    # upload 1's two calls take the slow model (9 s); upload 2's fall back to the spare one (3 s)
    analysis = [PlannedCall(100, {"slow": 9.0, "spare": 3.0}, group=g) for g in (1, 1, 2, 2)]
    structure = [PlannedCall(100, {"flash": 2.0 if g == 1 else 7.0}, group=g) for g in (1, 1, 2, 2)]
    plan = quota_bound_minimum(config, ["slow", "spare"], analysis)
    assert plan.finish_by_group == {1: pytest.approx(9.0), 2: pytest.approx(3.0)}
    calls = {"analysis": analysis, "structure": structure}
    # upload 1 ends at 9 + 2 = 11, upload 2 at 3 + 7 = 10; the stages added up would say 9 + 7 = 16
    assert staged_minimum(config, config.chains, calls) == pytest.approx(11.0, abs=0.01)

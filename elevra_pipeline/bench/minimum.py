"""The quota-bound minimum of a model stage: how soon its calls could all be answered if nothing but
the quotas and the models' answer times held them back.

Every call is ready when the stage starts and is admitted as early as the ledger's rules allow:
the chain's models in order, waiting for one that frees within `fallback_after_seconds`, else the
next; a call counts in a model's sliding window from `arrival_margin_seconds` after it is sent (as
the ledger counts it); requests and input tokens per window, requests per day and tokens in flight
are all enforced. The stage ends when its last answer arrives. No library simulates Gemini's
quota rules, hence this small event loop.
"""

import math
from dataclasses import dataclass, field

from elevra_pipeline.quotas.limits import QuotaConfig


@dataclass(frozen=True)
class PlannedCall:
    tokens: int
    answer_seconds: dict[str, float]  # per model: how long that model thinks about this prompt


@dataclass
class _Model:
    counted: list[tuple[float, int]] = field(default_factory=list)  # (counted from, tokens)
    today: int = 0


@dataclass(frozen=True)
class Plan:
    seconds: float  # stage start to last answer
    per_model: dict[str, int]  # calls each model would take
    fallbacks: int


def _wait(config: QuotaConfig, model: str, state: _Model, now: float, tokens: int) -> float:
    """Seconds until `model` can admit this call at `now` (0 = now, inf = not today)."""
    limits, window = config.limits(model), config.window_seconds
    if limits.rpd and state.today + 1 > limits.rpd:
        return math.inf
    if limits.tpm and tokens > limits.tpm:
        return math.inf
    live = [(at, spent) for at, spent in state.counted if at > now - window]
    waits = [0.0]
    if limits.rpm and len(live) + 1 > limits.rpm:
        waits.append(live[len(live) - limits.rpm][0] + window - now)
    if limits.tpm and sum(t for _, t in live) + tokens > limits.tpm:
        running = sum(t for _, t in live)
        for at, spent in live:
            running -= spent
            if running + tokens <= limits.tpm:
                waits.append(at + window - now)
                break
    return max(waits)


def quota_bound_minimum(config: QuotaConfig, chain: list[str], calls: list[PlannedCall]) -> Plan:
    states = {m: _Model() for m in chain}
    finish, fallbacks, per_model = 0.0, 0, dict.fromkeys(chain, 0)
    for call in calls:
        now = 0.0
        while True:
            chosen, wait_for = None, math.inf
            for model in chain:
                wait = _wait(config, model, states[model], now, call.tokens)
                if wait <= 1e-9:
                    chosen = model
                    break
                if wait <= config.fallback_after_seconds:
                    wait_for = wait
                    break
                wait_for = min(wait_for, wait)
            if chosen:
                break
            if math.isinf(wait_for):
                raise ValueError("the quotas cannot admit every call of the stage today")
            now += wait_for + 1e-6
        state = states[chosen]
        answered = now + call.answer_seconds[chosen]
        state.counted.append((now + config.arrival_margin_seconds, call.tokens))
        state.counted.sort()
        state.today += 1
        per_model[chosen] += 1
        fallbacks += chosen != chain[0]
        finish = max(finish, answered)
    return Plan(finish, per_model, fallbacks)

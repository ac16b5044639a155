"""The quota-bound minimum of a model stage: how soon its calls could all be answered if nothing but
the quotas and the models' answer times held them back.

Every call is ready when the stage starts (or at its own `ready` time: an upload's structure calls when
its analysis calls are all answered) and is admitted as early as the ledger's rules allow:
the chain's models in order, waiting for one that frees within `fallback_after_seconds`, else the
next; a call counts in a model's sliding window from `arrival_margin_seconds` after it is sent (as
the ledger counts it); requests and input tokens per window, requests per day and tokens in flight
are all enforced. The stage ends when its last answer arrives. No library simulates Gemini's
quota rules, hence this small event loop.
"""

import math
from dataclasses import dataclass, field, replace

from elevra_pipeline.quotas.limits import QuotaConfig


@dataclass(frozen=True)
class PlannedCall:
    tokens: int
    answer_seconds: dict[str, float]  # per model: how long that model thinks about this prompt
    group: int | None = None  # the upload it belongs to
    ready: float = 0.0  # seconds after the stage's start at which it can be sent


@dataclass
class _Model:
    counted: list[tuple[float, int]] = field(default_factory=list)  # (counted from, tokens)
    today: int = 0


@dataclass(frozen=True)
class Plan:
    seconds: float  # stage start to last answer
    per_model: dict[str, int]  # calls each model would take
    fallbacks: int
    finish_by_group: dict = field(default_factory=dict)  # each group's last answer


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
    by_group: dict = {}
    for call in sorted(calls, key=lambda c: c.ready):  # stable: the given order among calls ready together
        now = call.ready
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
        by_group[call.group] = max(by_group.get(call.group, 0.0), answered)
    return Plan(finish, per_model, fallbacks, by_group)


def staged_minimum(config: QuotaConfig, chains: dict[str, list[str]], calls: dict[str, list[PlannedCall]]) -> float:
    """The quota-bound minimum of the model stages of several uploads together, as the pipeline runs them:
    every analysis call ready at the start, and each upload's structure calls ready once its own analysis
    calls are all answered (in this replay). For one upload: the two stages' minimums added up."""
    analysis = quota_bound_minimum(config, chains["analysis"], calls["analysis"])
    staged = [replace(c, ready=analysis.finish_by_group.get(c.group, analysis.seconds)) for c in calls["structure"]]
    return max(analysis.seconds, quota_bound_minimum(config, chains["structure"], staged).seconds if staged else 0.0)

"""How many calls a stage keeps in flight: as many as the quotas can admit, never a fixed thread count.

Little's law: calls in flight = arrival rate x time in the system. A model admitting `capacity`
calls per window and answering in `latency` seconds keeps `capacity x latency / window` calls busy.
A sliding window also lets a whole window's capacity start at once (then waits for it to slide),
so the latency is taken as at least the window: the number in flight never caps below what the
ledger would admit right now. The ledger, not this number, decides who is sent; this only makes
sure enough callers are waiting to be admitted. `ceiling` protects the machine.
"""

import asyncio
import math
import threading
from typing import Awaitable, Callable, Sequence, TypeVar

from elevra_pipeline.quotas.limits import ModelLimits, QuotaConfig

# Calls are started in groups: the loop runs its ready callbacks in order, so a thousand calls started
# at once would all be prepared before the first request was written (measured: every request reached
# the server 0.6 s after it was started; in groups of 20, 0.1 s). Each group's reservations still share
# one ledger transaction.
START_GROUP = 20

T = TypeVar("T")
R = TypeVar("R")


class ModelAverages:
    """Per model, the moving average of answer time (successful calls) and of input tokens per call."""

    def __init__(self, prior_latency_seconds: float, weight: float = 0.2):
        self.prior = prior_latency_seconds
        self.weight = weight
        self._latency: dict[str, float] = {}
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def observe(self, model: str, seconds: float, input_tokens: int) -> None:
        with self._lock:
            for averages, value in ((self._latency, seconds), (self._tokens, float(input_tokens))):
                old = averages.get(model)
                averages[model] = value if old is None else old + self.weight * (value - old)

    def latency(self, model: str) -> float:
        return self._latency.get(model, self.prior)

    def tokens(self, model: str) -> float | None:
        """None until the model has answered once (then the tokens-per-minute limit is not yet guessed)."""
        return self._tokens.get(model)


def calls_per_window(limits: ModelLimits, tokens_per_call: float | None) -> float:
    """What binds a model: requests per window, or input tokens per window over tokens per call."""
    bounds = [limits.rpm] if limits.rpm else []
    if limits.tpm and tokens_per_call:
        bounds.append(limits.tpm / tokens_per_call)
    return min(bounds) if bounds else math.inf


def model_in_flight(limits: ModelLimits, window: float, latency: float, tokens_per_call: float | None) -> float:
    return calls_per_window(limits, tokens_per_call) * max(latency, window) / window


def in_flight_target(
    config: QuotaConfig,
    chain: Sequence[str],
    averages: ModelAverages,
    ceiling: int,
    limits_of: Callable[[str], ModelLimits] | None = None,
) -> int:
    """Calls to keep in flight for a stage whose chain is `chain` (fallbacks add their capacity);
    `limits_of(model)`: the limits in force (default: declared x share)."""
    limits_of = limits_of or config.allowed
    total = sum(
        model_in_flight(limits_of(m), config.window_seconds, averages.latency(m), averages.tokens(m)) for m in chain
    )
    return max(1, min(ceiling, math.ceil(total) if math.isfinite(total) else ceiling))


async def run_paced(
    work: Callable[[T], Awaitable[R]], items: Sequence[T], limit: Callable[[], int], ceiling: int
) -> list[R]:
    """`await work(item)` for every item, results in item order, with at most `limit()` running at once,
    all on the running event loop (a model call waiting for its answer costs no thread).

    `limit` is asked again each time a call finishes (or every half second), so the number in
    flight follows what is learnt about the models while the stage runs. After a call raises, no
    more start; the running ones finish, then the first error is raised."""
    results: list = [None] * len(items)
    errors: list[BaseException] = []
    running = 0
    changed = asyncio.Event()

    async def run(index: int, item: T) -> None:
        nonlocal running
        try:
            results[index] = await work(item)
        except Exception as e:
            errors.append(e)
        finally:
            running -= 1
            changed.set()

    tasks = []
    for index, item in enumerate(items):
        while running >= max(1, min(ceiling, limit())) and not errors:
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), timeout=0.5)
            except TimeoutError:
                pass
        if errors:
            break
        running += 1
        tasks.append(asyncio.create_task(run(index, item)))
        if len(tasks) % 100 == 0:
            await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    if errors:
        raise errors[0]
    return results

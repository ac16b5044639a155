"""Route each model call through the ledger: reserve, call, reconcile; fall back; retry; record.

Why not the SDK's own retry: it ignores the server's `retryDelay` and knows nothing of our other
processes. Every attempt, good or bad, is one dict (an attempt row): with `record_attempts` the ledger
writes it in the transaction that settles the call, and `attempt_sink` (if any) sees it after.
"""

import asyncio
import math
import random
import threading
import time
import weakref
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Generator

from elevra_pipeline.exceptions import BatchFailedError, ModelCallError, QuotaExhaustedError
from elevra_pipeline.quotas.failures import NOT_COUNTED, CallFailure, Fault, fault_of, is_outage
from elevra_pipeline.quotas.in_flight import ModelAverages, in_flight_target
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import ModelLimits, QuotaConfig
from elevra_pipeline.quotas.windows import seconds_until_day_reset
from elevra_pipeline.storage.coalesce import Coalescer


@dataclass
class CallResult:
    value: Any
    input_tokens: int
    output_tokens: int = 0
    excerpt: str = ""
    model_version: str | None = None  # the answer's modelVersion: the model that answered


@dataclass
class Outcome:
    value: Any
    model: str
    fallback_reason: str | None
    attempts: int


# A call's rules are written once, as a generator of steps (see `QuotaEngine._attempts`); a driver runs
# them in a thread (`call`) or on an event loop (`acall`, where the database steps of the calls that
# reach them in the same turn of the loop share one transaction).


@dataclass(frozen=True)
class Sleep:
    """Wait this long (a quota to free, a backoff)."""

    seconds: float


@dataclass(frozen=True)
class Invoke:
    """Send the call to `model`: sent back the CallResult, or thrown the ModelCallError."""

    model: str


@dataclass(frozen=True)
class Reserve:
    """Ask the ledger for a slot of `model`: sent back its Decision."""

    model: str
    limits: ModelLimits
    tokens: int
    now: float
    ahead: int


@dataclass(frozen=True)
class Settle:
    """Settle a reservation after the call, writing its attempt row (`refused`: Google's 429, not counted)."""

    reservation_id: int
    at: float
    tokens: int | None
    attempt: dict | None
    refused: bool = False


Steps = Generator[Sleep | Invoke | Reserve | Settle, Any, Any]


class TokenEstimator:
    """Input tokens from characters, calibrated upward by what the server actually counted."""

    def __init__(self, tokens_per_char: float = 0.34, margin: float = 1.05):
        self.ratio = tokens_per_char
        self.margin = margin
        self._lock = threading.Lock()
        self._calibrated = False

    def estimate(self, chars: int) -> int:
        return math.ceil(chars * self.ratio * self.margin) + 8

    def observe(self, chars: int, actual_tokens: int) -> None:
        if chars <= 0 or actual_tokens <= 0:
            return
        seen = actual_tokens / chars
        with self._lock:
            # First observation replaces the prior; later ones only raise it (never under-reserve).
            self.ratio = seen if not self._calibrated else max(self.ratio * 0.999, seen)
            self._calibrated = True


class QuotaEngine:
    def __init__(
        self,
        config: QuotaConfig,
        ledger: QuotaLedger,
        *,
        attempt_sink: Callable[[dict], None] | None = None,
        max_attempts: int = 5,
        max_rate_limited: int = 30,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_in_flight: int = 1024,
        record_attempts: bool = False,
    ):
        self.config = config
        self.ledger = ledger
        self.sink = attempt_sink or (lambda _row: None)
        self.max_attempts = max_attempts
        self.max_rate_limited = max_rate_limited
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.clock = clock
        self.sleep = sleep
        self.estimator = TokenEstimator()
        self.averages = ModelAverages(prior_latency_seconds=0.0)  # unknown: taken as the window
        self.max_in_flight = max_in_flight
        self.record_attempts = record_attempts
        self._waiting: Counter[str] = Counter()  # this process's callers asleep until a model frees
        self._waiting_lock = threading.Lock()
        self._effective: dict[str, tuple[float, ModelLimits]] = {}
        self._loop_coalescers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def in_flight(self, stage: str, chain: list[str] | None = None) -> int:
        """How many of the stage's calls to keep in flight now (see quotas.in_flight), from the effective
        limits (read from the ledger at most once a second)."""
        return in_flight_target(
            self.config, self.config.chain(stage, chain), self.averages, self.max_in_flight, self.effective_limits
        )

    def effective_limits(self, model: str) -> ModelLimits:
        """What the pipeline may take of `model` now: declared x share, lowered by Google's 429s."""
        now = self.clock()
        cached = self._effective.get(model)
        if cached is None or now - cached[0] > 1.0:
            cached = (now, self.ledger.effective_limits(model, self.config.allowed(model), now))
            self._effective[model] = cached
        return cached[1]

    def backoff(self, failures: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (failures - 1)))

    def acquire(self, chain: list[str], tokens: int) -> tuple[str, int, str | None]:
        """(model, reservation id, why the preferred model was passed over) — or QuotaExhaustedError."""
        return self._drive(self._acquire(chain, tokens), invoke=None)

    def _drive(self, steps: Steps, invoke: Callable[[str], CallResult] | None) -> Any:
        """Run a call's steps in this thread."""
        try:
            step, sent = next(steps), None
            while True:
                if isinstance(step, Invoke):
                    try:
                        sent = invoke(step.model)
                    except ModelCallError as e:
                        step = steps.throw(e)
                        continue
                elif isinstance(step, Reserve):
                    sent = self.ledger.try_reserve(step.model, step.limits, step.tokens, step.now, step.ahead)
                elif isinstance(step, Settle):
                    sent = self._settle_all([step])[0]
                else:
                    sent = self.sleep(step.seconds)
                step = steps.send(sent)
        except StopIteration as done:
            return done.value

    async def _drive_async(self, steps: Steps, invoke: Callable[[str], Awaitable[CallResult]]) -> Any:
        """Run a call's steps on the event loop: its waits let the loop's other calls go on, and its
        database steps join those of the other calls of the same turn of the loop."""
        reserve, settle = self._coalescers()
        try:
            step, sent = next(steps), None
            while True:
                if isinstance(step, Invoke):
                    try:
                        sent = await invoke(step.model)
                    except ModelCallError as e:
                        step = steps.throw(e)
                        continue
                elif isinstance(step, Reserve):
                    sent = await reserve(step)
                elif isinstance(step, Settle):
                    sent = await settle(step)
                else:
                    sent = await asyncio.sleep(step.seconds)
                step = steps.send(sent)
        except StopIteration as done:
            return done.value

    def _coalescers(self) -> tuple[Coalescer, Coalescer]:
        loop = asyncio.get_running_loop()
        pair = self._loop_coalescers.get(loop)
        if pair is None:
            pair = self._loop_coalescers[loop] = (Coalescer(self._reserve_all), Coalescer(self._settle_all))
        return pair

    def _reserve_all(self, asked: list[Reserve]) -> list:
        """One ledger transaction per model for the reservations asked in one turn of the loop."""
        decisions: list = [None] * len(asked)
        by_model: dict[str, list[int]] = {}
        for i, step in enumerate(asked):
            by_model.setdefault(step.model, []).append(i)
        for model, indexes in by_model.items():
            first = asked[indexes[0]]
            got = self.ledger.try_reserve_many(
                model,
                first.limits,
                [asked[i].tokens for i in indexes],
                max(asked[i].now for i in indexes),
                first.ahead,
                patience=self.config.fallback_after_seconds,
            )
            for i, decision in zip(indexes, got):
                decisions[i] = decision
        return decisions

    def _settle_all(self, settled: list[Settle]) -> list[None]:
        """Settled calls in one transaction (a refused one in its own), then their attempts to the sink."""
        counted = [s for s in settled if not s.refused]
        if counted:
            rows = [(s.reservation_id, s.at, s.tokens, s.attempt if self.record_attempts else None) for s in counted]
            self.ledger.settle_many(rows)
        for s in settled:
            if s.refused:
                self.ledger.settle_refused(s.reservation_id, s.attempt if self.record_attempts else None)
        for s in settled:
            self.sink(s.attempt)
        return [None] * len(settled)

    def _acquire(self, chain: list[str], tokens: int) -> "Steps":
        deadline = self.clock() + self.config.max_wait_seconds
        while True:
            now = self.clock()
            passed_over, wait_for, wait_on = [], math.inf, chain[0]
            for model in chain:
                decision = yield Reserve(model, self.config.allowed(model), tokens, now, self._waiting[model])
                if decision.admitted:
                    return model, decision.reservation_id, "; ".join(passed_over) or None
                if decision.wait <= self.config.fallback_after_seconds:
                    wait_for, wait_on = decision.wait, model  # worth waiting for rather than falling back
                    break
                free = f", free in {decision.wait:.1f}s" if decision.wait < math.inf else ""
                passed_over.append(f"{model}: {decision.reason}{free}")
                if decision.wait < wait_for:
                    wait_for, wait_on = decision.wait, model
            if now + wait_for > deadline:
                raise QuotaExhaustedError("no model has capacity: " + "; ".join(passed_over))
            with self._in_line(wait_on):
                yield Sleep(wait_for + 0.001)

    @contextmanager
    def _in_line(self, model: str):
        """Counted as waiting for `model` meanwhile: the ledger spaces the next callers behind us."""
        with self._waiting_lock:
            self._waiting[model] += 1
        try:
            yield
        finally:
            with self._waiting_lock:
                self._waiting[model] -= 1

    def call(
        self,
        stage: str,
        prompt_chars: int,
        invoke: Callable[[str], CallResult],
        chain: list[str] | None = None,
        context: dict | None = None,
    ) -> Outcome:
        """One call of `stage` through the quotas, in this thread: `invoke(model)` sends it."""
        return self._drive(self._attempts(stage, prompt_chars, chain, context), invoke)

    async def acall(
        self,
        stage: str,
        prompt_chars: int,
        invoke: Callable[[str], Awaitable[CallResult]],
        chain: list[str] | None = None,
        context: dict | None = None,
    ) -> Outcome:
        """The same call on an event loop: `await invoke(model)` sends it, waits are `asyncio.sleep`s,
        so one thread keeps hundreds of calls in flight."""
        return await self._drive_async(self._attempts(stage, prompt_chars, chain, context), invoke)

    def _attempts(self, stage: str, prompt_chars: int, chain: list[str] | None, context: dict | None) -> "Steps":
        """The rules of one call, written once for both drivers: yields `Sleep` and `Invoke` steps, is sent
        the answer (or thrown the ModelCallError) of each `Invoke`, returns the Outcome."""
        chain = self.config.chain(stage, chain)
        context = context or {}
        failures = rate_limited = attempt_no = 0
        order, outage_note = list(chain), None  # after an outage error the other models are tried first
        refused: dict[str, ModelCallError] = {}  # models that answered this call 403
        rejected: Counter[str] = Counter()  # answers of each model our checks refused
        while True:
            estimate = self.estimator.estimate(prompt_chars)
            try:
                model, reservation_id, fallback_reason = yield from self._acquire(order, estimate)
            except QuotaExhaustedError as e:
                raise BatchFailedError(f"{stage}: {e}", fault=Fault.OUTAGE) from e
            if model != chain[0] and outage_note:
                fallback_reason = "; ".join(filter(None, (outage_note, fallback_reason)))
            attempt_no += 1
            started = self.clock()
            row = dict(
                context,
                stage=stage,
                model=model,
                attempt_no=attempt_no,
                estimated_tokens=estimate,
                is_fallback=model != chain[0],
                fallback_reason=fallback_reason,
            )
            try:
                result = yield Invoke(model)
            except ModelCallError as e:
                if e.error_type == "rate_limited":
                    rate_limited += 1
                    self._cool_down(model, e, rate_limited)  # first, so no other caller sends meanwhile
                yield self._settlement(
                    reservation_id,
                    started,
                    None,
                    refused=e.error_type in NOT_COUNTED,
                    attempt=dict(
                        row,
                        status=e.error_type,
                        status_code=e.status_code,
                        error_type=e.error_type,
                        quota_id=e.quota_id,
                        retry_delay_s=e.retry_delay,
                        error_message=str(e)[:2000],
                        latency_ms=(self.clock() - started) * 1000,
                        response_excerpt=(e.body or str(e))[:500],
                        input_tokens=e.input_tokens or None,  # a rejected answer is billed too
                        output_tokens=e.output_tokens or None,
                        model_version=e.model_version,
                        cost_usd=self.config.cost_usd(
                            model, e.input_tokens, e.output_tokens, answered_by=e.model_version, at=started
                        ),
                    ),
                )
                if e.error_type == CallFailure.RATE_LIMITED:  # after the refused call left our counts
                    self.ledger.rate_limited(model, self.config.allowed(model), e.scope, e.quota_id, self.clock())
                    if rate_limited >= self.max_rate_limited:
                        raise BatchFailedError(
                            f"{stage}: rate limited {rate_limited} times; last: {e}", fault=Fault.OUTAGE
                        ) from e
                    continue
                if e.error_type == CallFailure.MODEL_NOT_FOUND:
                    # retired or unknown: every process skips it from now on; the next model is tried at once
                    self.ledger.mark_unavailable(model, self.clock(), str(e)[:500])
                    outage_note = f"{model} is unavailable: {e}"[:200]
                    continue
                if e.error_type == CallFailure.MODEL_REFUSED:
                    refused[model] = e  # this model's, if another answers; the key's, if every model refuses
                    order = [m for m in order if m not in refused]
                    if not order:
                        raise BatchFailedError(
                            f"{stage}: every model of the chain refused the call; last: {e}", fault=Fault.CONFIGURATION
                        ) from e
                    outage_note = f"{model} refused the call: {e}"[:200]
                    continue
                failures += 1
                rejected[model] += e.error_type == CallFailure.INVALID_OUTPUT
                if len(order) > 1 and (is_outage(e.error_type) or rejected[model] >= self._turn(chain)):
                    order = [m for m in order if m != model] + [model]
                    outage_note = f"{model} failed: {e}"[:200]
                if not e.retryable or failures >= self.max_attempts:
                    raise BatchFailedError(
                        f"{stage} failed after {failures} attempt(s): {e}", fault=fault_of(e.error_type, e.in_the_rows)
                    ) from e
                yield Sleep(self.backoff(failures))
                continue
            for other, error in refused.items():  # the key works: the refusal is the model's
                self.ledger.mark_unavailable(other, self.clock(), f"refused while {model} answered: {error}"[:500])
            self.estimator.observe(prompt_chars, result.input_tokens)
            self.averages.observe(model, self.clock() - started, result.input_tokens)
            yield self._settlement(
                reservation_id,
                started,
                result.input_tokens,
                dict(
                    row,
                    status="ok",
                    status_code=200,
                    input_tokens=result.input_tokens,
                    output_tokens=result.output_tokens,
                    latency_ms=(self.clock() - started) * 1000,
                    response_excerpt=result.excerpt[:500],
                    model_version=result.model_version,
                    cost_usd=self.config.cost_usd(
                        model,
                        result.input_tokens,
                        result.output_tokens,
                        answered_by=result.model_version,
                        at=started,
                    ),
                ),
            )
            return Outcome(result.value, model, fallback_reason, attempt_no)

    def _turn(self, chain: list[str]) -> int:
        """How many refused answers a model gives before the chain's next model is asked: the attempts
        shared out, so answers that keep failing the checks have been tried on every model of the chain."""
        return max(1, self.max_attempts // len(chain))

    def _settlement(
        self, reservation_id: int, sent: float, tokens: int | None, attempt: dict, refused: bool = False
    ) -> Settle:
        """The reservation settled (or, refused by a 429, dropped: Google did not count it) in one
        transaction with the attempt row (with `record_attempts`); the sink sees the attempt after."""
        return Settle(reservation_id, self._counted_at(sent), tokens, attempt, refused)

    def _counted_at(self, sent: float) -> float:
        """When the server counted the call, at the latest: it counts a call when the call arrives,
        which is before the answer and, in practice, within `arrival_margin_seconds` of sending.
        Dating it any later would hold the slot for the model's whole thinking time as well."""
        return min(self.clock(), sent + self.config.arrival_margin_seconds)

    def _cool_down(self, model: str, error: ModelCallError, times: int) -> None:
        now = self.clock()
        scope = getattr(error, "scope", None)
        if scope == "day":
            until, why = now + seconds_until_day_reset(now, self.config.day_seconds), f"daily quota {error.quota_id}"
        elif error.retry_delay is not None:
            until, why = now + error.retry_delay, f"429 {error.quota_id or ''} retry in {error.retry_delay:g}s".strip()
        else:
            until, why = now + self.backoff(times) + self.backoff_base, "429 without details, backing off"
        self.ledger.cool_down(model, until, why)

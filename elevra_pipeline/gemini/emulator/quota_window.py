"""The emulator's view of Google's quotas: true sliding windows, answered with real 429 bodies."""

import math
import threading
from collections import defaultdict, deque

from elevra_pipeline.quotas.limits import QuotaConfig
from elevra_pipeline.quotas.windows import day_key, seconds_until_day_reset

QUOTA_IDS = {
    "rpm": (
        "generativelanguage.googleapis.com/generate_content_paid_tier_requests",
        "GenerateRequestsPerMinutePerProjectPerModel",
    ),
    "tpm": (
        "generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count",
        "GenerateContentPaidTierInputTokensPerModelPerMinute",
    ),
    "rpd": (
        "generativelanguage.googleapis.com/generate_content_paid_tier_requests",
        "GenerateRequestsPerDayPerProjectPerModel",
    ),
    "batch": (
        "generativelanguage.googleapis.com/batch_enqueued_tokens",
        "BatchEnqueuedTokensPerModelPerProject",
    ),
}


def rate_limit_body(model: str, limit: str, retry_delay: float | None, with_details: bool = True) -> dict:
    metric, quota_id = QUOTA_IDS[limit]
    error = {
        "code": 429,
        "status": "RESOURCE_EXHAUSTED",
        "message": f"You exceeded your current quota ({quota_id}) for {model}. Please retry later.",
    }
    if with_details:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": metric,
                        "quotaId": quota_id,
                        "quotaDimensions": {"model": model, "location": "global"},
                    }
                ],
            },
        ]
        if retry_delay is not None:
            error["details"].append(
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_delay:.3f}s"}
            )
    return {"error": error}


class SlidingWindowQuotas:
    def __init__(self, config: QuotaConfig, record_arrivals: bool = False):
        self.config = config
        self.record_arrivals = record_arrivals
        self._lock = threading.Lock()
        self._calls: dict[str, deque] = defaultdict(deque)  # model -> (at, tokens)
        self._tokens: dict[str, int] = defaultdict(int)
        self._days: dict[tuple[str, str], int] = defaultdict(int)
        self.rejected: dict[str, int] = defaultdict(int)
        self.admitted: dict[str, int] = defaultdict(int)
        self.arrivals: dict[str, list[tuple[float, int]]] = defaultdict(list)  # for benchmarks

    def admit(self, model: str, tokens: int, now: float) -> tuple[str, float] | None:
        """None when admitted; else (violated limit, seconds until it would be admitted)."""
        limits = self.config.limits(model)
        window = self.config.window_seconds
        with self._lock:
            calls = self._calls[model]
            while calls and calls[0][0] <= now - window:
                self._tokens[model] -= calls.popleft()[1]
            violation = None
            if limits.rpm and len(calls) + 1 > limits.rpm:
                violation = ("rpm", calls[len(calls) - limits.rpm][0] + window - now)
            elif limits.tpm and self._tokens[model] + tokens > limits.tpm:
                running, wait = self._tokens[model], window
                for at, spent in calls:
                    running -= spent
                    if running + tokens <= limits.tpm:
                        wait = at + window - now
                        break
                violation = ("tpm", wait)
            elif limits.rpd and self._days[(model, day_key(now, self.config.day_seconds))] + 1 > limits.rpd:
                violation = ("rpd", seconds_until_day_reset(now, self.config.day_seconds))
            if violation:
                self.rejected[model] += 1
                return violation[0], max(violation[1], 0.001)
            calls.append((now, tokens))
            if self.record_arrivals:
                self.arrivals[model].append((now, tokens))
            self._tokens[model] += tokens
            self._days[(model, day_key(now, self.config.day_seconds))] += 1
            self.admitted[model] += 1
            return None

    def consume(self, model: str, tokens: int, now: float) -> None:
        """A call of another client of the same project (benchmarks): counted, never refused, as if it
        had reached Google just before ours."""
        with self._lock:
            self._calls[model].append((now, tokens))
            self._tokens[model] += tokens
            self._days[(model, day_key(now, self.config.day_seconds))] += 1


def count_tokens(payload: dict) -> int:
    """A deterministic tokenizer stand-in: one token per four characters of each text part."""
    parts = [p for c in payload.get("contents", []) for p in c.get("parts", [])]
    parts += (payload.get("systemInstruction") or {}).get("parts", [])
    return sum(math.ceil(len(p.get("text", "")) / 4) for p in parts) or 1

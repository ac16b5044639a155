"""Read Gemini's 429 bodies: QuotaFailure says which limit, RetryInfo says how long to wait."""

import re
from dataclasses import dataclass

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


@dataclass(frozen=True)
class RateLimitInfo:
    scope: str | None  # "minute", "day" or None when the body says nothing
    quota_id: str | None
    retry_delay: float | None  # seconds


def parse_duration(value: object) -> float | None:
    match = _DURATION.match(str(value or ""))
    return float(match.group(1)) if match else None


def quota_scope(quota_id: str) -> str | None:
    lowered = quota_id.lower()
    if "perday" in lowered or "per_day" in lowered or "daily" in lowered:
        return "day"
    if "perminute" in lowered or "per_minute" in lowered:
        return "minute"
    return None


def parse_rate_limit(body: object) -> RateLimitInfo:
    error = body.get("error", body) if isinstance(body, dict) else {}
    details = error.get("details") if isinstance(error, dict) else None
    quota_id, scope, delay = None, None, None
    for detail in details if isinstance(details, list) else []:
        if not isinstance(detail, dict):
            continue
        kind = str(detail.get("@type", ""))
        if kind.endswith("google.rpc.QuotaFailure"):
            for violation in detail.get("violations") or []:
                quota_id = violation.get("quotaId") or quota_id
                found = quota_scope(quota_id or "")
                # A per-day violation outranks a per-minute one: it lasts longer.
                if found == "day" or scope is None:
                    scope = found or scope
        elif kind.endswith("google.rpc.RetryInfo"):
            delay = parse_duration(detail.get("retryDelay"))
    return RateLimitInfo(scope, quota_id, delay)

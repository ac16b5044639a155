"""Day boundaries: Gemini's requests-per-day reset at midnight Pacific time."""

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")


def day_key(now: float, day_seconds: float | None = None) -> str:
    if day_seconds:
        return f"d{math.floor(now / day_seconds)}"
    return datetime.fromtimestamp(now, PACIFIC).date().isoformat()


def seconds_until_day_reset(now: float, day_seconds: float | None = None) -> float:
    if day_seconds:
        return (math.floor(now / day_seconds) + 1) * day_seconds - now
    local = datetime.fromtimestamp(now, PACIFIC)
    next_midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), PACIFIC)
    return next_midnight.timestamp() - now

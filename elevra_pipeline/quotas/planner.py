"""Online or Batch API: which way an upload's model calls go, and why (shown in the queued e-mail and
`status`). The Batch API costs half and may take up to 24 hours; online calls are bound by the quota."""

from dataclasses import dataclass
from datetime import datetime

from elevra_pipeline.quotas.prices import CallMode

BATCH_TURNAROUND_HOURS = 24.0  # Google's target for a Batch API job
BATCH_ETA = "within 24 h per stage (the Batch API's target; usually much sooner)"


@dataclass(frozen=True)
class ModePlan:
    mode: CallMode
    reason: str
    requested: str  # online, batch or auto

    def to_json(self) -> dict:
        return {"mode": str(self.mode), "reason": self.reason, "requested": self.requested}


def choose_mode(
    requested: str,
    batches: int,
    now: datetime,
    deadline: datetime | None = None,
    online_calls_left_today: int | None = None,
    batch_unavailable: str | None = None,
    online_finish: datetime | None = None,
) -> ModePlan:
    """`auto` goes online (minutes, bound by the quota) unless online cannot do the work in time: today's
    online quota (`online_calls_left_today`, the preferred analysis model's RPD left) is short of the
    upload's calls, or the online finish (`online_finish`, the queue's estimate) is past the deadline
    while the deadline leaves the Batch API its 24 hours. The Batch API costs half; an admin who wants
    that saving asks for `batch`."""
    if requested == "online":
        return ModePlan(CallMode.ONLINE, "online, as asked", requested)
    if batch_unavailable:
        return ModePlan(CallMode.ONLINE, f"online: {batch_unavailable}", requested)
    if requested == "batch":
        return ModePlan(CallMode.BATCH, "Batch API, as asked: half the price, results within 24 h", requested)
    calls = 2 * batches  # analysis and structured output
    hours_left = None if deadline is None else (deadline - now).total_seconds() / 3600
    batch_in_time = hours_left is None or hours_left >= BATCH_TURNAROUND_HOURS
    if online_calls_left_today is not None and online_calls_left_today < calls and batch_in_time:
        return ModePlan(
            CallMode.BATCH,
            f"Batch API: today's online quota has {online_calls_left_today} of the upload's {calls} calls left "
            "(the Batch API has its own); half the price, results within 24 h",
            requested,
        )
    if deadline is not None and online_finish is not None and online_finish > deadline and batch_in_time:
        return ModePlan(
            CallMode.BATCH,
            f"Batch API: online calls would finish after the deadline ({deadline:%Y-%m-%d %H:%M}); "
            "half the price, results within 24 h",
            requested,
        )
    late = ""
    if deadline is not None and hours_left is not None and online_finish is not None and online_finish > deadline:
        late = f"; the online finish is past the deadline, {hours_left:.0f} h away, but a batch job may take 24 h"
    short = ""
    if online_calls_left_today is not None and online_calls_left_today < calls:
        short = f"; today's online quota has {online_calls_left_today} of its {calls} calls left"
    return ModePlan(
        CallMode.ONLINE,
        f"online: {batches} batches fit today's quota{' and the deadline' if deadline else ''} "
        f"(ask for --mode batch to halve the cost, within 24 h){late}{short}",
        requested,
    )


def parse_deadline(text: str | None, tz) -> datetime | None:
    """`2026-12-01` (end of that day) or `2026-12-01T17:00` (naive: in `tz`)."""
    if not text:
        return None
    value = datetime.fromisoformat(text)
    if len(text) == 10:
        value = value.replace(hour=23, minute=59)
    return value if value.tzinfo else value.replace(tzinfo=tz)


def planned_mode(summary: dict | None) -> CallMode:
    """The mode chosen for an upload (kept in its summary as `plan`); online before any choice."""
    return CallMode(((summary or {}).get("plan") or {}).get("mode", CallMode.ONLINE))

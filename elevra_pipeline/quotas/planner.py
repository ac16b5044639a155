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
    min_batches: int = 200,
    online_calls_left_today: int | None = None,
    batch_unavailable: str | None = None,
) -> ModePlan:
    """`auto` picks the Batch API for an upload of at least `min_batches` batches whose deadline (if any)
    is more than 24 hours away; online otherwise. `online_calls_left_today` (the preferred analysis
    model's RPD left) is named in the reason when today's online quota cannot finish the upload."""
    if requested == "online":
        return ModePlan(CallMode.ONLINE, "online, as asked", requested)
    if batch_unavailable:
        return ModePlan(CallMode.ONLINE, f"online: {batch_unavailable}", requested)
    if requested == "batch":
        return ModePlan(CallMode.BATCH, "Batch API, as asked: half the price, results within 24 h", requested)
    calls = 2 * batches  # analysis and structured output
    short = online_calls_left_today is not None and online_calls_left_today < calls
    quota_note = f"; today's online quota has {online_calls_left_today} of its {calls} calls left" if short else ""
    if deadline is not None:
        hours = (deadline - now).total_seconds() / 3600
        if hours < BATCH_TURNAROUND_HOURS:
            return ModePlan(
                CallMode.ONLINE,
                f"online: the deadline is {hours:.0f} h away and a batch job may take 24 h{quota_note}",
                requested,
            )
    if batches < min_batches:
        return ModePlan(
            CallMode.ONLINE,
            f"online: {batches} batches, fewer than {min_batches} (ELEVRA_BATCH_MIN_BATCHES)",
            requested,
        )
    when = (
        "no deadline" if deadline is None else f"the deadline is {(deadline - now).total_seconds() / 3600:.0f} h away"
    )
    return ModePlan(CallMode.BATCH, f"Batch API: {batches} batches and {when}; half the price{quota_note}", requested)


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

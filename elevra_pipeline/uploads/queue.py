"""How much work is ahead of an upload, and when it should be done: from the limits in force (declared x
share, lowered by what Google's 429s taught the ledger) and the answer times measured on recent calls."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import QuotaConfig
from elevra_pipeline.storage.batch_rules import FINISHED, UploadStatus
from elevra_pipeline.storage.repository import Repository

OPEN_UPLOADS = (UploadStatus.QUEUED, UploadStatus.PROCESSING, UploadStatus.WAITING_FOR_MODEL, UploadStatus.BLOCKED)
DONE_BATCHES = FINISHED
UNLIMITED_RPM = 1000  # a model with no declared rpm is assumed to take this many calls per window
SECONDS_PER_CALL = 10.0  # a model call's typical latency, when calls cannot all run at once


def stage_rate(config: QuotaConfig, stage: str, limits_of=None) -> float:
    """Calls per second the stage's whole chain can take (`limits_of(model)`: the limits in force)."""
    limits_of = limits_of or config.allowed
    per_window = sum(limits_of(m).rpm or UNLIMITED_RPM for m in config.chain(stage))
    return per_window / config.window_seconds


def _unfinished(repo: Repository, upload_id: int) -> int:
    return sum(b.status not in DONE_BATCHES for b in repo.batches(upload_id))


def finish_minute(finish: datetime) -> datetime:
    """The minute to promise: `finish` rounded up, so "by 13:22" is never a minute already under way."""
    whole = finish.replace(second=0, microsecond=0)
    return whole if whole == finish else whole + timedelta(minutes=1)


@dataclass(frozen=True)
class QueuePace:
    """How fast the queue moves now: each model stage's calls per second (the limits in force) and its
    first model's recent answer time. Read once, it prices any amount of work (a page of uploads)."""

    stages: tuple[tuple[float, float], ...]  # (calls per second, seconds per call), one per stage

    @classmethod
    def read(cls, repo: Repository, config: QuotaConfig, now: datetime) -> "QueuePace":
        ledger = QuotaLedger.for_config(repo.engine, config)
        limits_of = lambda model: ledger.effective_limits(model, config.allowed(model), now.timestamp())  # noqa: E731
        return cls(
            tuple(
                (
                    stage_rate(config, stage, limits_of),
                    repo.recent_latency_seconds(config.chain(stage)[0]) or SECONDS_PER_CALL,
                )
                for stage in ("analysis", "structure")
            )
        )

    def seconds(self, work: int, concurrency: int = 4) -> float:
        return sum(max(work / rate, latency * -(-work // max(1, concurrency))) for rate, latency in self.stages)


def eta_line(seconds: float, now: datetime, zone: str = "UTC") -> str:
    by = finish_minute(now + timedelta(seconds=seconds))
    return f"about {max(1, round(seconds / 60))} min (by {by.astimezone(ZoneInfo(zone)):%H:%M %Z})"


def queue_snapshot(
    repo: Repository,
    upload,
    config: QuotaConfig,
    concurrency: int = 4,
    now: datetime | None = None,
    zone: str = "UTC",
) -> dict:
    """The work ahead of the upload and when it should be done (`zone`: the team's, for the time)."""
    ahead = [u for u in repo.list_uploads() if u.id < upload.id and u.status in OPEN_UPLOADS]
    batches_ahead = sum(_unfinished(repo, u.id) for u in ahead)
    own = _unfinished(repo, upload.id)
    work = batches_ahead + own
    now = now or datetime.now(timezone.utc)
    seconds = QueuePace.read(repo, config, now).seconds(work, concurrency)
    return {
        "uploads_ahead": len(ahead),
        "batches_ahead": batches_ahead,
        "batches": own,
        "eta_seconds": round(seconds),
        "eta": eta_line(seconds, now, zone),
    }

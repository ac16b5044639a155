"""How much work is ahead of an upload, and when it should be done, from the declared quotas."""

from datetime import datetime, timedelta, timezone

from elevra_pipeline.quotas.limits import QuotaConfig
from elevra_pipeline.storage.batch_rules import FINISHED, UploadStatus
from elevra_pipeline.storage.repository import Repository

OPEN_UPLOADS = (UploadStatus.QUEUED, UploadStatus.PROCESSING, UploadStatus.WAITING_FOR_MODEL)
DONE_BATCHES = FINISHED
UNLIMITED_RPM = 1000  # a model with no declared rpm is assumed to take this many calls per window
SECONDS_PER_CALL = 10.0  # a model call's typical latency, when calls cannot all run at once


def stage_rate(config: QuotaConfig, stage: str) -> float:
    """Calls per second the stage's whole chain can take."""
    per_window = sum(config.limits(m).rpm or UNLIMITED_RPM for m in config.chain(stage))
    return per_window / config.window_seconds


def _unfinished(repo: Repository, upload_id: int) -> int:
    return sum(b.status not in DONE_BATCHES for b in repo.batches(upload_id))


def queue_snapshot(
    repo: Repository, upload, config: QuotaConfig, concurrency: int = 4, now: datetime | None = None
) -> dict:
    ahead = [u for u in repo.list_uploads() if u.id < upload.id and u.status in OPEN_UPLOADS]
    batches_ahead = sum(_unfinished(repo, u.id) for u in ahead)
    own = _unfinished(repo, upload.id)
    work = batches_ahead + own
    quota_bound = sum(work / stage_rate(config, stage) for stage in ("analysis", "structure"))
    latency_bound = 2 * SECONDS_PER_CALL * -(-work // max(1, concurrency))
    seconds = max(quota_bound, latency_bound)
    finish = (now or datetime.now(timezone.utc)) + timedelta(seconds=seconds)
    return {
        "uploads_ahead": len(ahead),
        "batches_ahead": batches_ahead,
        "batches": own,
        "eta_seconds": round(seconds),
        "eta": f"about {max(1, round(seconds / 60))} min (by {finish:%H:%M} UTC)",
    }

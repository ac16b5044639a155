"""Published change sets for other systems: each one POSTed as JSON to `ELEVRA_WEBHOOK_URL`, signed,
and retried with backoff until the receiver takes it (like the e-mails).

The body is the change set (`change_set` names it: the receiver's idempotency key, also sent as the
`Idempotency-Key` header, so a set delivered twice — a sender that died after sending — is the same
set). `X-Elevra-Signature: sha256=<hex>` is the HMAC-SHA256 of the body with `ELEVRA_WEBHOOK_SECRET`.
Any 2xx is received; 408, 429 and 5xx answers and network errors are retried with exponential backoff
(capped at 30 minutes) for a day, then the delivery is `failed` and `status` shows it.
"""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx

from elevra_pipeline.notifications.notifier import backoff_delay, epoch_seconds
from elevra_pipeline.storage.repository import Repository

RETRY_WINDOW_SECONDS = 24 * 3600
BACKOFF_BASE, BACKOFF_CAP = 5.0, 1800.0


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def change_set(upload, changes: list, label: str) -> dict:
    """The JSON a receiver gets: the upload, and each value set, changed, refused, restored or removed."""
    return {
        "change_set": label,
        "upload": {"id": upload.id, "file": upload.original_filename, "status": upload.status},
        "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "changes": [
            {
                "record_type": c.record_type,
                "record_id": c.record_id,
                "field": c.field,
                "old": c.old_value,
                "new": c.new_value,
                "action": c.action,
                "by": c.upload_label,
            }
            for c in changes
        ],
    }


def queue_changes(repo: Repository, upload, url: str | None, changes: list, what: str) -> bool:
    """One delivery for the changes not yet delivered (`what`: 'changes' or 'revert'); False when
    there is no webhook, nothing new, or the set is known."""
    if not url:
        return False
    known = [d for d in repo.deliveries(upload.id) if d.payload.get("kind") == what]
    done_upto = max((d.payload.get("last_change_id", 0) for d in known), default=0)
    new = [c for c in changes if c.id > done_upto]
    if not new:
        return False
    key = f"upload-{upload.id}-{what}-{new[-1].id}"
    payload = {**change_set(upload, new, key), "kind": what, "last_change_id": new[-1].id}
    return repo.add_delivery(upload_id=upload.id, key=key, url=url, payload=payload, status="pending")


@dataclass
class WebhookSender:
    secret: str
    timeout_seconds: float = 10.0
    clock: callable = time.time

    def deliver_due(self, repo: Repository) -> dict[str, int]:
        outcome = {"delivered": 0, "retrying": 0, "failed": 0, "busy": 0}
        for delivery in repo.deliveries(due_at=self.clock()):
            if not repo.claim_delivery(delivery.id, self.clock()):
                outcome["busy"] += 1
                continue
            outcome[self._send(repo, delivery)] += 1
        return outcome

    def _send(self, repo: Repository, delivery) -> str:
        body = json.dumps(delivery.payload, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.key,
            "X-Elevra-Signature": signature(self.secret, body),
        }
        attempts = delivery.attempts + 1
        try:
            answer = httpx.post(delivery.url, content=body, headers=headers, timeout=self.timeout_seconds)
            if answer.is_success:
                repo.update_delivery(
                    delivery.id,
                    status="delivered",
                    attempts=attempts,
                    error=None,
                    delivered_at=datetime.now(timezone.utc),
                )
                return "delivered"
            error, retryable = (
                f"HTTP {answer.status_code}: {answer.text[:300]}",
                answer.status_code in (408, 429) or (answer.status_code >= 500),
            )
        except httpx.HTTPError as e:
            error, retryable = f"{type(e).__name__}: {e}", True
        delay = backoff_delay(attempts, BACKOFF_BASE, BACKOFF_CAP)
        age = self.clock() - epoch_seconds(delivery.created_at)
        retryable = retryable and age + delay <= RETRY_WINDOW_SECONDS
        repo.update_delivery(
            delivery.id,
            status="retrying" if retryable else "failed",
            attempts=attempts,
            error=error[:2000],
            next_attempt_at=self.clock() + delay if retryable else 0.0,
        )
        return "retrying" if retryable else "failed"

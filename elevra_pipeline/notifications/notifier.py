"""Log every e-mail once (idempotency key), deliver it, retry failures later: never block the pipeline."""

import random
import time
from datetime import datetime, timezone
from pathlib import Path

from elevra_pipeline.exceptions import DeliveryError
from elevra_pipeline.notifications.resources import EmailResource, OutgoingEmail
from elevra_pipeline.notifications.templates import render
from elevra_pipeline.settings import Settings
from elevra_pipeline.storage.repository import Repository


class Notifier:
    def __init__(self, repo: Repository, mailer: EmailResource, team_email: str | None = None, max_attempts: int = 5,
                 backoff_base: float = 30.0, clock=time.time):
        self.repo = repo
        self.mailer = mailer
        self.team_email = team_email or Settings.from_env().team_email
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.clock = clock

    def notify(self, upload, kind: str, key: str | None = None, extra: dict | None = None,
               uploader_email: str | None = None) -> bool:
        """Log the e-mail `kind` for `upload`; False when it was logged (and so sent) before.
        `uploader_email` replaces the upload's own uploader (a duplicate goes to whoever sent it again)."""
        idempotency_key = key or f"upload-{upload.id}-{kind}"
        subject, text, html = render(kind, upload, upload.summary_json or {}, extra)
        attachment = upload.workbook_path if kind == "final" and upload.workbook_path else None
        return self.repo.add_notification(
            upload_id=upload.id, kind=kind, idempotency_key=idempotency_key,
            recipients=list(dict.fromkeys(r for r in (uploader_email or upload.uploader_email, self.team_email) if r)),
            subject=subject, text_body=text, html_body=html,
            attachment_path=attachment, status="pending", attempts=0, next_attempt_at=0.0,
            created_at=datetime.now(timezone.utc))

    def notify_failed_run(self, upload, run_id: str, step: str, error: str) -> bool:
        """A failed run: the rejection e-mail when the file itself was unusable, else the failed step and error."""
        if upload.status in ("failed", "rejected") and upload.failure_reason:
            return self.notify(upload, "rejected")
        return self.notify(upload, "run_failed", f"run-{run_id}-failed",
                           {"step": step, "error": error[:1000], "run_id": run_id})

    def deliver_due(self) -> dict[str, int]:
        """Send what is due; returns counts by outcome. Errors are logged on the row, never raised."""
        outcome = {"sent": 0, "retrying": 0, "failed": 0}
        for row in self.repo.due_notifications(self.clock()):
            if not self.repo.claim_notification(row.id, self.clock()):
                continue  # another sender has it
            attempts = row.attempts + 1
            email = OutgoingEmail(to=row.recipients, subject=row.subject, text=row.text_body, html=row.html_body,
                                  idempotency_key=row.idempotency_key,
                                  attachments=[Path(row.attachment_path)] if row.attachment_path else [])
            try:
                provider_id = self.mailer.send(email)
            except (DeliveryError, OSError) as e:
                retryable = getattr(e, "retryable", True) and attempts < self.max_attempts
                delay = max(getattr(e, "retry_after", None) or 0,
                            random.uniform(0.5, 1.0) * self.backoff_base * 2 ** (attempts - 1))
                status = "retrying" if retryable else "failed"
                self.repo.update_notification(row.id, status=status, attempts=attempts, error=str(e)[:2000],
                                              next_attempt_at=self.clock() + delay if retryable else 0.0)
                outcome[status] += 1
                continue
            self.repo.update_notification(row.id, status="sent", attempts=attempts, provider_id=provider_id,
                                          error=None, sent_at=datetime.now(timezone.utc))
            outcome["sent"] += 1
        return outcome

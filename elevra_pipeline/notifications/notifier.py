"""Log every e-mail once (idempotency key), deliver it, retry failures later: never block the pipeline.

The uploader's copy and the team's copy are separate e-mails (keys `K` and `K-team`), so a bad
uploader address cannot silence the team. A failed send is retried with backoff for a day; an e-mail
that finally fails is reported to the team in its own e-mail. One e-mail's error never stops the others.
"""

import hashlib
import json
import random
import time
from datetime import datetime, timezone

from elevra_pipeline.exceptions import DeliveryError
from elevra_pipeline.notifications.headers import address_problem, clean_header
from elevra_pipeline.notifications.mailer import Attachment, Mailer, OutgoingEmail
from elevra_pipeline.notifications.templates import render, render_digest, waiting_batches
from elevra_pipeline.quotas.answering import answered_by_another
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.settings import DEFAULT_TEAM_EMAIL
from elevra_pipeline.storage.batch_rules import (
    COMPLETE,
    WAITING,
    UploadStatus,
    blocked_by_configuration,
    race_of,
    waits_for_the_models_answers,
)
from elevra_pipeline.storage.files import FileStore, ref_name
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.storage.shown_state import upload_state

DAY = 24 * 3600.0
UNDELIVERABLE = "undeliverable"
# The e-mail each finished asset calls for, and the stage whose failed batches it reports.
STAGE_EMAILS = {
    "upload_batches": "queued",
    "batch_analysis": "analysis_complete",
    "structured_output": "structure_complete",
    "result_workbook": "final",
}
MODEL_STAGE_OF = {"batch_analysis": "analysis", "structured_output": "structure"}


def stage_did_work(upload, kind: str) -> bool:
    """'queued' when some race goes to the model; a model stage's e-mail when it processed a batch."""
    summary = upload.summary_json or {}
    if upload.status in (UploadStatus.FAILED, UploadStatus.REJECTED, UploadStatus.CANCELLED, UploadStatus.REVERTED):
        return False
    if kind == "queued":
        return summary.get("queue", {}).get("batches", 0) > 0
    stage = {"analysis_complete": "analysis", "structure_complete": "structure"}.get(kind)
    return stage is None or summary.get("stages", {}).get(stage, {}).get("processed", 0) > 0


# e-mails the team gets at once even with the daily digest on: what it must act on
TEAM_ALERTS = (
    "run_failed",
    "model_unavailable",
    "model_routed",
    "model_answers_rejected",
    "gemini_configuration",
    UNDELIVERABLE,
)


def final_key(upload, summary: dict) -> str:
    """The final e-mail's key names its outcome: a re-run that changes the outcome sends an updated one."""
    b = summary.get("batches", {})
    outcome = [
        upload.status,
        b.get("inserted"),
        b.get("needs_reupload"),
        len(summary.get("elections", [])),
        len(summary.get("candidates", [])),
    ]
    return f"upload-{upload.id}-final-{hashlib.sha1(json.dumps(outcome).encode()).hexdigest()[:10]}"


def epoch_seconds(value: datetime | None) -> float:
    """A stored time as epoch seconds (SQLite gives it back without its UTC zone)."""
    if value is None:
        return time.time()
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()


def backoff_delay(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter, for e-mails and change sets alike."""
    return min(cap, base * 2 ** (attempts - 1)) * random.uniform(0.5, 1.0)


class Notifier:
    def __init__(
        self,
        repo: Repository,
        mailer: Mailer,
        team_email: str | None = DEFAULT_TEAM_EMAIL,
        retry_window: float = DAY,
        backoff_base: float = 30.0,
        backoff_cap: float = 3600.0,
        clock=time.time,
        team_digest: bool = False,
        dagster_url: str | None = None,
        files: FileStore | None = None,
        stage_emails_after: float = 0.0,
    ):
        self.files = files or FileStore({})  # reads attachments by their ref (a path, or s3:// when shared)
        self.team_digest = team_digest  # the team reads uploads in one daily digest, alerts at once
        # seconds: an upload expected to finish sooner hears once, at the end (ELEVRA_STAGE_EMAILS_AFTER_MINUTES)
        self.stage_emails_after = stage_emails_after
        self.dagster_url = dagster_url  # the Dagster UI, linked from each e-mail (ELEVRA_DAGSTER_URL)
        self.repo = repo
        self.mailer = mailer
        self.team_email = team_email
        self.retry_window = retry_window
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.clock = clock

    def notify(
        self, upload, kind: str, key: str | None = None, extra: dict | None = None, uploader_email: str | None = None
    ) -> bool:
        """Log the e-mail `kind` for `upload`, one copy for the uploader and one for the team; False when
        both were logged (and so sent) before. `uploader_email` replaces the upload's own uploader
        (a duplicate goes to whoever sent it again)."""
        idempotency_key = key or f"upload-{upload.id}-{kind}"
        extra = {**(extra or {}), "dagster_url": self.dagster_url}
        if kind == "duplicate":  # says where the upload stands, as every view says it
            extra.setdefault("state", upload_state(upload, self.repo.batches(upload.id)).label)
        updated_to = extra.pop("updated_to", None)  # who had an earlier result e-mail: theirs says "Updated"

        def rendered(address: str) -> tuple[str, str, str]:
            said = extra if updated_to is None else {**extra, "updated": address.casefold() in updated_to}
            return render(kind, upload, upload.summary_json or {}, said)

        attachment = upload.workbook_path if kind in ("final", "awaiting_approval") and upload.workbook_path else None
        uploader = uploader_email or upload.uploader_email
        team = self.team_email if not self.team_digest or kind in TEAM_ALERTS or uploader == self.team_email else None
        copies = [(team, f"{idempotency_key}-team")]
        if uploader and uploader.casefold() != (self.team_email or "").casefold() and not address_problem(uploader):
            copies.insert(0, (uploader, idempotency_key))
        logged = [
            log_email(self.repo, upload.id, kind, copy_key, address, rendered(address), attachment)
            for address, copy_key in copies
            if address
        ]
        return any(logged)

    def long_upload(self, upload) -> bool:
        """Whether the upload was expected, when queued, to take long enough for Queued and stage e-mails."""
        eta = ((upload.summary_json or {}).get("queue") or {}).get("eta_seconds") or 0
        return eta >= self.stage_emails_after

    def notify_stage(self, upload, kind: str) -> bool:
        """The e-mail for a finished stage; the rule the sensors and the command line share. Only a
        stage that did work sends one (a file none of whose races reach the model hears once, at the
        end). The result workbook of an upload whose batches wait for a model says so, not 'done'."""
        if kind != "final":
            return stage_did_work(upload, kind) and self.long_upload(upload) and self.notify(upload, kind)
        summary = upload.summary_json or {}
        if upload.status in WAITING:
            waiting = sorted(b["batch"] for b in waiting_batches(summary))
            digest = hashlib.sha1(json.dumps(waiting).encode()).hexdigest()[:10]
            return self.notify(upload, "waiting_for_model", f"upload-{upload.id}-waiting-{digest}")
        if upload.status == UploadStatus.AWAITING_APPROVAL:
            digest = hashlib.sha1(json.dumps(summary.get("preview", {}), sort_keys=True).encode()).hexdigest()[:10]
            return self.notify(upload, "awaiting_approval", f"upload-{upload.id}-review-{digest}")
        key = final_key(upload, summary)
        earlier = [
            n for n in self.repo.notifications(upload.id) if n.kind == "final" and not n.idempotency_key.startswith(key)
        ]
        updated_to = {address.casefold() for n in earlier for address in n.recipients or []}
        return self.notify(upload, "final", key, {"updated_to": updated_to})

    def after_assets(self, upload, assets: list[str]) -> list[str]:
        """The e-mails for assets of `upload` that just materialized: each stage's e-mail, then one
        e-mail listing every batch that failed in those stages. The sensors and `process` both call
        this; it returns what was newly logged."""
        logged = [
            f"{STAGE_EMAILS[a]} for upload {upload.id}"
            for a in assets
            if a in STAGE_EMAILS and self.notify_stage(self.repo.get_upload_by_id(upload.id), STAGE_EMAILS[a])
        ]
        logged += self.gemini_alerts(upload)
        stages = (self.repo.get_upload_by_id(upload.id).summary_json or {}).get("stages", {})
        failed = {  # a model stage's failures; those of the data are in the final e-mail
            b["batch"]: b for a in assets for b in stages.get(MODEL_STAGE_OF.get(a, ""), {}).get("failed_batches", [])
        }
        if failed:
            digest = hashlib.sha1(json.dumps(sorted(failed)).encode()).hexdigest()[:12]
            if self.notify(
                upload, "batch_failed", f"upload-{upload.id}-batch-failed-{digest}", {"batches": list(failed.values())}
            ):
                logged.append(f"batch_failed ({len(failed)} batches) for upload {upload.id}")
        return logged

    def gemini_alerts(self, upload) -> list[str]:
        """The team (never the uploader) hears once of each model Gemini stopped serving, of each model
        that answered for another (once per pair, whichever process sees it first: the key is stored), of
        the races whose answers kept failing our checks on every model (once per set of races) and of each
        configuration error (key, billing, a rejected request) that holds this upload's batches."""
        if not self.team_email:
            return []
        logged = []
        for model, (since, reason) in QuotaLedger(self.repo.engine).unavailable_models().items():
            extra = {"model": model, "reason": reason}
            key = f"gemini-model-unavailable-{model}-{int(since)}"
            if self.notify(upload, "model_unavailable", key, extra, uploader_email=self.team_email):
                logged.append(f"model_unavailable ({model}) to the team")
        for asked, answered in self.repo.answering_models(upload.id):
            if not answered_by_another(asked, answered):
                continue
            key = f"gemini-model-routed-{hashlib.sha1(f'{asked} {answered}'.encode()).hexdigest()[:16]}"
            extra = {"asked": asked, "answered": answered}
            if self.notify(upload, "model_routed", key, extra, uploader_email=self.team_email):
                logged.append(f"model_routed ({asked} answered by {answered}) to the team")
        batches = self.repo.batches(upload.id)
        rejected = [b for b in batches if waits_for_the_models_answers(b)]
        if rejected:
            digest = hashlib.sha1(json.dumps(sorted(b.batch_key for b in rejected)).encode()).hexdigest()[:10]
            key = f"upload-{upload.id}-model-answers-rejected-{digest}"
            extra = {"batches": [{"race": race_of(b), "reason": b.error_reason or ""} for b in rejected]}
            if self.notify(upload, "model_answers_rejected", key, extra, uploader_email=self.team_email):
                logged.append(f"model_answers_rejected ({len(rejected)} races) for upload {upload.id} to the team")
        blocked = [b for b in batches if blocked_by_configuration(b)]
        if blocked:
            reason = blocked[0].error_reason or ""
            day = datetime.now(timezone.utc).date().isoformat()
            key = f"gemini-configuration-{hashlib.sha1(reason.encode()).hexdigest()[:10]}-{day}"
            extra = {"reason": reason, "batches": len(blocked)}
            if self.notify(upload, "gemini_configuration", key, extra, uploader_email=self.team_email):
                logged.append(f"gemini_configuration for upload {upload.id} to the team")
        return logged

    def notify_failed_run(self, upload, run_id: str, step: str, error: str, superseded_by: str | None = None) -> bool:
        """A failed run: the rejection e-mail when the file itself was unusable; the final (or waiting)
        e-mail with the workbook when the run failed only to mark an upload that needs attention;
        else the failed step and error. Nothing for a run `superseded_by` a newer run of the same
        upload (a retry seconds later): that run's outcome is the one to tell."""
        if superseded_by:
            return False
        if upload.status in (UploadStatus.FAILED, UploadStatus.REJECTED) and upload.failure_reason:
            return self.notify(upload, "rejected")
        needs_attention = (*COMPLETE, *WAITING, UploadStatus.AWAITING_APPROVAL)
        if step == "result_workbook" and upload.workbook_path and upload.status in needs_attention:
            return self.notify_stage(upload, "final")
        return self.notify(
            upload, "run_failed", f"run-{run_id}-failed", {"step": step, "error": error[:1000], "run_id": run_id}
        )

    def _retry_delay(self, attempts: int, error: Exception) -> float:
        backoff = backoff_delay(attempts, self.backoff_base, self.backoff_cap)
        return max(getattr(error, "retry_after", None) or 0.0, backoff)

    def deliver_due(self) -> dict[str, int]:
        """Send what is due; counts by outcome. Errors are logged on the row, never raised."""
        outcome = {"sent": 0, "retrying": 0, "failed": 0, "errors": 0, "busy": 0}
        for row in self.repo.due_notifications(self.clock()):
            try:
                outcome[self._deliver(row)] += 1
            except Exception as e:  # a bug or a broken row must not stop the other e-mails
                outcome["errors"] += 1
                self.repo.update_notification(
                    row.id,
                    status="retrying",
                    error=f"{type(e).__name__}: {e}"[:2000],
                    next_attempt_at=self.clock() + self.backoff_cap,
                )
        outcome["failed_total"] = self.repo.count_notifications("failed")
        return outcome

    def _attachment(self, ref: str) -> Attachment:
        """The workbook as it is now, read from the store (OSError when gone: the delivery is retried)."""
        return Attachment(ref_name(ref), self.files.read_bytes(ref))

    def _deliver(self, row) -> str:
        if not self.repo.claim_notification(row.id, self.clock()):
            return "busy"  # another sender has it
        attempts = row.attempts + 1
        email = OutgoingEmail(
            to=row.recipients,
            subject=row.subject,
            text=row.text_body,
            html=row.html_body,
            idempotency_key=row.idempotency_key,
            attachments=[self._attachment(row.attachment_path)] if row.attachment_path else [],
        )
        try:
            provider_id = self.mailer.send(email)
        except (DeliveryError, OSError) as e:
            delay = self._retry_delay(attempts, e)
            age = self.clock() - epoch_seconds(row.created_at)
            retryable = getattr(e, "retryable", True) and age + delay <= self.retry_window
            self.repo.update_notification(
                row.id,
                status="retrying" if retryable else "failed",
                attempts=attempts,
                error=str(e)[:2000],
                next_attempt_at=self.clock() + delay if retryable else 0.0,
            )
            if not retryable:
                self._alert_team(row, attempts, str(e))
            return "retrying" if retryable else "failed"
        self.repo.update_notification(
            row.id,
            status="sent",
            attempts=attempts,
            provider_id=provider_id,
            error=None,
            sent_at=datetime.now(timezone.utc),
        )
        return "sent"

    def _alert_team(self, row, attempts: int, error: str) -> None:
        """An e-mail given up on is itself news for the team (never for an alert: no loops)."""
        if row.kind == UNDELIVERABLE or not self.team_email:
            return
        upload = self.repo.get_upload_by_id(row.upload_id) if row.upload_id else None
        if upload is None:
            return
        self.notify(
            upload,
            UNDELIVERABLE,
            f"{row.idempotency_key}-undeliverable"[:190],
            {
                "recipient": ", ".join(row.recipients),
                "subject": row.subject,
                "attempts": attempts,
                "error": error[:500],
            },
            uploader_email=self.team_email,
        )


def log_email(repo, upload_id, kind: str, key: str, address: str, content: tuple, attachment=None) -> bool:
    """One e-mail logged once by its idempotency key, to be sent by `deliver_due`; False if known."""
    subject, text, html = content
    return repo.add_notification(
        upload_id=upload_id,
        kind=kind,
        idempotency_key=key[:200],
        recipients=[address],
        subject=clean_header(subject, 998),
        text_body=text,
        html_body=html,
        attachment_path=attachment,
        status="pending",
        attempts=0,
        next_attempt_at=0.0,
        created_at=datetime.now(timezone.utc),
    )


def notify_team_digest(notifier: "Notifier", day: str, uploads: list, lines: list[str]) -> bool:
    """The team's daily digest (ELEVRA_TEAM_DIGEST): once per day (its idempotency key is the day)."""
    if not notifier.team_email:
        return False
    states = [upload_state(u, notifier.repo.batches(u.id)).label for u in uploads]
    content = render_digest(day, states, lines)
    return log_email(notifier.repo, None, "team_digest", f"team-digest-{day}", notifier.team_email, content)

"""Mail through the real `resend` SDK with `RESEND_API_KEY`; otherwise `.eml` files in an outbox.

The outbox is an output a person can open, never a ledger: whether an e-mail went out is decided by
the notifications table alone (its idempotency key), so outboxes shared by several databases lose nothing."""

import base64
import mimetypes
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import resend

from elevra_pipeline.exceptions import DeliveryError
from elevra_pipeline.notifications.headers import address_problem, clean_header

_SDK_LOCK = threading.Lock()  # the resend SDK keeps its key and URL in module globals
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes


@dataclass
class OutgoingEmail:
    to: list[str]
    subject: str
    text: str
    html: str
    idempotency_key: str
    attachments: list[Attachment] = field(default_factory=list)


def _retry_after(headers: dict | None) -> float | None:
    try:
        return float((headers or {}).get("retry-after") or (headers or {}).get("Retry-After"))
    except (TypeError, ValueError):
        return None


DEFAULT_FROM = "Elevra Uploads <uploads@elevracommunity.com>"


@dataclass
class Mailer:
    """`api_key` empty = local capture: one standard `.eml` per e-mail in `outbox_dir`."""

    outbox_dir: str
    api_key: str | None = None
    api_url: str | None = None
    from_address: str = DEFAULT_FROM

    @property
    def uses_resend(self) -> bool:
        return bool(self.api_key)

    def outbox(self) -> Path:
        return Path(self.outbox_dir)

    def send(self, email: OutgoingEmail) -> str:
        """The provider's id for the e-mail; raises DeliveryError. Headers are cleaned, addresses checked."""
        for address in email.to:
            if problem := address_problem(address):
                raise DeliveryError(problem, retryable=False)
        email.subject = clean_header(email.subject, 998)
        return self._send_resend(email) if self.uses_resend else self._write_outbox(email)

    def _send_resend(self, email: OutgoingEmail) -> str:
        params = {
            "from": self.from_address,
            "to": email.to,
            "subject": email.subject,
            "text": email.text,
            "html": email.html,
            "attachments": [
                {"filename": a.filename, "content": base64.b64encode(a.content).decode()} for a in email.attachments
            ],
        }
        url = self.api_url
        with _SDK_LOCK:
            resend.api_key = self.api_key
            resend.api_url = (url or "https://api.resend.com").rstrip("/")
            try:
                sent = resend.Emails.send(params, {"idempotency_key": email.idempotency_key})
            except resend.exceptions.RateLimitError as e:
                raise DeliveryError(f"Resend rate limit: {e}", retry_after=_retry_after(e.headers)) from e
            except resend.exceptions.ResendError as e:
                code = int(str(getattr(e, "code", 500) or 500)) if str(getattr(e, "code", "")).isdigit() else 500
                raise DeliveryError(f"Resend error {code}: {e}", retryable=code >= 500 or code == 409) from e
            except Exception as e:  # network trouble from the HTTP library
                raise DeliveryError(f"cannot reach Resend: {type(e).__name__}: {e}") from e
        return str(sent["id"])

    def _write_outbox(self, email: OutgoingEmail) -> str:
        folder = self.outbox()
        folder.mkdir(parents=True, exist_ok=True)
        safe_key = re.sub(r"[^A-Za-z0-9._-]+", "-", email.idempotency_key)[:150]
        message = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))  # no fold inside subjects
        message["From"], message["To"], message["Subject"] = self.from_address, ", ".join(email.to), email.subject
        message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid(domain="elevracommunity.com")
        message["Idempotency-Key"] = clean_header(email.idempotency_key)
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        for attached in email.attachments:
            name = attached.filename
            kind = XLSX if name.endswith(".xlsx") else (mimetypes.guess_type(name)[0] or "application/octet-stream")
            maintype, subtype = kind.split("/", 1)
            message.add_attachment(attached.content, maintype=maintype, subtype=subtype, filename=name)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        path = folder / f"{stamp}--{safe_key}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(bytes(message))
        tmp.rename(path)
        return f"outbox:{path.name}"

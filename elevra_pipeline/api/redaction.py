"""A last guard on everything the API sends: no server path, database URL, token or stack trace leaves
the service, even inside a reason a lower layer wrote (a run's failure, a library's error). The documents
themselves hold none (the workbook is given as its download URL); this catches what a message carries.

Server paths are the service's own places (its data folders, the temporary folder, the installation, the
home folder) with whatever follows them; URLs with credentials and tracebacks are recognised by their
shape; the database URL by its text. (Tokens are never kept but as digests: nothing could echo one.)"""

import os
import re
import sys
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import make_url

HIDDEN = "…"
_CREDENTIAL_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'/@:]+:[^\s\"'@/]+@[^\s\"'<>]+", re.I)
_TRACEBACK = re.compile(r"Traceback \(most recent call last\):(?:\\.|[^\"\\])*")
_END = r"[^\s\"'<>,;)\]}]*"


def _variants(url: str) -> list[str]:
    try:
        parsed = make_url(url)
    except Exception:  # not a URL: the text itself is hidden
        return [url]
    return [url, parsed.render_as_string(hide_password=True), parsed.render_as_string(hide_password=False)]


@lru_cache(maxsize=64)
def _places(roots: tuple[str, ...]) -> re.Pattern:
    """A root and whatever path follows it (not a longer name that merely starts like it: /tmpfoo)."""
    return re.compile("|".join(re.escape(root) + rf"(?=[/\s\"'<>,;)\]}}]|$){_END}" for root in roots))


class Redactor:
    def __init__(self, places: Iterable[str | Path], secrets: Iterable[str]):
        self._roots = sorted({str(p).rstrip("/") for p in places if p and len(str(p).rstrip("/")) > 1}, key=len)[::-1]
        self._secrets = sorted({s for s in secrets if s and len(s) > 3}, key=len, reverse=True)

    @classmethod
    def for_service(cls, settings) -> "Redactor":
        import elevra_pipeline

        places = [
            settings.upload_dir,
            settings.archive_dir,
            settings.workbook_dir,
            settings.outbox_dir,
            settings.upload_dir.parent,
            tempfile.gettempdir(),
            sys.prefix,
            sys.base_prefix,
            Path(elevra_pipeline.__file__).resolve().parent.parent,
            Path.home(),
            os.getcwd(),
        ]
        return cls(places, _variants(settings.database_url))

    def text(self, text: str) -> str:
        """Each pattern only where a plain search finds what it starts with (most answers hold none)."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, HIDDEN)
        if "://" in text and "@" in text:
            text = _CREDENTIAL_URL.sub(HIDDEN, text)
        if "Traceback" in text:
            text = _TRACEBACK.sub("(the details are in the service's log)", text)
        present = tuple(root for root in self._roots if root in text)
        return _places(present).sub(HIDDEN, text) if present else text

    def value(self, value):
        """A JSON-like value with every string redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


class RedactJson:
    """ASGI middleware: a JSON answer's body is redacted before it is sent (streams are left to their route)."""

    def __init__(self, app, redactor: Redactor):
        self.app, self.redactor = app, redactor

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, chunks = None, []

        async def held(message):
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                if not headers.get(b"content-type", b"").startswith(b"application/json"):
                    start = False
                    return await send(message)
                start = message
                return None
            if start is False:
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return None
            body = self.redactor.text(b"".join(chunks).decode("utf-8")).encode("utf-8")
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, held)

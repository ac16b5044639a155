"""Model output is untrusted: plain text only, http(s) URLs only, bounded lengths."""

import html
import re
from urllib.parse import urlsplit

_TAG = re.compile(r"<[^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def plain_text(value: object, max_length: int = 255) -> str:
    text = html.unescape(_TAG.sub(" ", str(value or "")))
    text = re.sub(r"\s+", " ", _CONTROL.sub(" ", text)).strip()
    return text[:max_length].rstrip()


def safe_url(value: object, max_length: int = 2000) -> str | None:
    text = str(value or "").strip()
    if not text or any(c.isspace() for c in text):
        return None
    if "://" not in text and re.match(r"^[\w.-]+\.[a-z]{2,}(/.*)?$", text, re.I):
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or "<" in text or '"' in text:
        return None
    try:
        parts.port  # raises ValueError on a non-numeric port such as "javascript:alert(1)"
    except ValueError:
        return None
    host = parts.hostname or ""
    if not ("." in host.strip(".") or host == "localhost") or parts.username:
        return None
    return text[:max_length] if len(text) <= max_length else None


def iso_date(value: object) -> str | None:
    text = plain_text(value, 10)
    return text if _DATE.match(text) else None


def name_key(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().casefold()

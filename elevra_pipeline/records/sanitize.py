"""Model output is untrusted: plain text only, http(s) URLs only, bounded lengths.

Entities are decoded *before* markup is stripped, so `&lt;script&gt;` is caught as the tag it spells;
what was removed is returned, so it can be reported rather than silently kept or lost."""

import html
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?(</\1\s*>|$)", re.I | re.S)
_TAG = re.compile(r"</?[a-z!?][^>]*>?", re.I)
_EMPTY_QUOTES = re.compile(r"([\"'“”‘’])\s*[\"'“”‘’]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Cleaned:
    text: str
    removed: list[str] = field(default_factory=list)  # markup taken out, as it read after decoding


def decode_entities(text: str, rounds: int = 3) -> str:
    """`&amp;lt;b&amp;gt;` is decoded all the way down (a few rounds), so double encoding hides nothing."""
    for _ in range(rounds):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return text


def clean_text(value: object, max_length: int = 255) -> Cleaned:
    text = decode_entities(str(value or ""))
    removed = [m.group(0) for m in _SCRIPT.finditer(text)]
    text = _SCRIPT.sub(" ", text)
    removed += [m.group(0) for m in _TAG.finditer(text)]
    text = _TAG.sub(" ", text)
    if removed:  # `Bob "<script>…</script>"` leaves `Bob " "`: the quotes quoted only the markup
        text = _EMPTY_QUOTES.sub(" ", text)
    text = re.sub(r"\s+", " ", _CONTROL.sub(" ", text)).strip()
    return Cleaned(text[:max_length].rstrip(), removed)


def plain_text(value: object, max_length: int = 255) -> str:
    return clean_text(value, max_length).text


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

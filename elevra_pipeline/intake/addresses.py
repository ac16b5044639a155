"""Addresses and one-line texts from uploads are untrusted: no CR/LF or control characters, addresses checked.

Intake checks the uploader's address when it reads the options; notifications use the same checks on
every header they write (`notifications/headers.py`)."""

import re

from email_validator import EmailNotValidError, validate_email

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def clean_header(value: str, max_length: int = 250) -> str:
    """One line: a CR/LF in a file name cannot add a header or break the message."""
    return re.sub(r"\s+", " ", _CONTROL.sub(" ", value or "")).strip()[:max_length]


def address_problem(address: str | None) -> str | None:
    """Why `address` cannot be mailed to (syntax only: no DNS lookups), or None when it can."""
    if not address:
        return "no address"
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as e:
        return f"'{clean_header(address, 120)}' is not a valid e-mail address ({e})"
    return None

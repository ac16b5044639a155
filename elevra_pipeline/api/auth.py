"""Bearer tokens with two roles. A token is only ever kept as its sha256 digest: those given in
`ELEVRA_API_TOKENS` are hashed when the service starts, those made by `elevra-pipeline api-token add`
live in the `api_tokens` table."""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum

from sqlalchemy import select

from elevra_pipeline.api.tables import ApiToken
from elevra_pipeline.settings import SettingsError
from elevra_pipeline.storage.repository import Repository


class Role(StrEnum):
    ADMIN = "admin"  # uploads, reads and takes admin actions
    VIEWER = "viewer"  # reads only

    def allows(self, needed: "Role") -> bool:
        return self == Role.ADMIN or needed == Role.VIEWER


@dataclass(frozen=True)
class Actor:
    """Who made a request: recorded with every action."""

    name: str
    role: Role


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def configured_tokens(raw: str | None) -> dict[str, Actor]:
    """`ELEVRA_API_TOKENS`: `{"<token>": "admin" | "viewer"}`, as digest -> actor (named by the digest's
    start, so the log never holds a usable token)."""
    if not (raw or "").strip():
        return {}
    try:
        tokens = json.loads(raw)
    except ValueError as e:
        raise SettingsError(f"ELEVRA_API_TOKENS is not valid JSON ({e})") from None
    if not isinstance(tokens, dict):
        raise SettingsError('ELEVRA_API_TOKENS must be a JSON object: {"<token>": "admin" | "viewer"}')
    book = {}
    for token, role in tokens.items():
        if role not in tuple(Role):
            raise SettingsError(f"ELEVRA_API_TOKENS: role {role!r} is not one of {', '.join(Role)}")
        if len(token) < 16:
            raise SettingsError("ELEVRA_API_TOKENS: a token must have at least 16 characters")
        book[digest(token)] = Actor(f"token-{digest(token)[:8]}", Role(role))
    return book


class TokenBook:
    """Finds who a bearer token belongs to: the configured tokens, then the `api_tokens` table."""

    def __init__(self, repo: Repository, configured: dict[str, Actor]):
        self.repo, self.configured = repo, configured

    def configured_actor(self, token: str) -> Actor | None:
        """The holder of a configured token (no database), else None."""
        return self.configured.get(digest(token))

    def actor(self, token: str) -> Actor | None:
        hashed = digest(token)
        if hashed in self.configured:
            return self.configured[hashed]
        with self.repo.unit_of_work() as s:
            row = s.scalar(select(ApiToken).where(ApiToken.token_sha256 == hashed, ApiToken.revoked_at.is_(None)))
            return Actor(row.name, Role(row.role)) if row else None

    def add(self, name: str, role: Role) -> str:
        """A new token for `name`; only its digest is stored, so it is shown this once."""
        token = secrets.token_urlsafe(32)
        with self.repo.unit_of_work() as s:
            s.add(ApiToken(name=name, token_sha256=digest(token), role=role))
        return token

    def revoke(self, name: str) -> bool:
        with self.repo.unit_of_work() as s:
            row = s.scalar(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
            if row is not None:
                row.revoked_at = datetime.now(timezone.utc)
            return row is not None

    def names(self) -> list[tuple[str, str, bool]]:
        """(name, role, revoked) of each stored token."""
        with self.repo.unit_of_work() as s:
            return [
                (t.name, t.role, t.revoked_at is not None) for t in s.scalars(select(ApiToken).order_by(ApiToken.id))
            ]

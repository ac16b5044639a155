"""The request's actor: a bearer token of the needed role, or 401 (none, unknown) / 403 (a viewer's
token for an admin action)."""

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from elevra_pipeline.api.auth import Actor, Role
from elevra_pipeline.api.services import ApiServices

bearer = HTTPBearer(auto_error=False, description="a token from ELEVRA_API_TOKENS or `elevra-pipeline api-token add`")


async def services(request: Request) -> ApiServices:
    return request.app.state.services


def _actor(needed: Role):
    async def actor(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        api: ApiServices = Depends(services),
    ) -> Actor:
        """On the event loop (no thread for a configured token); a stored token is looked up in a thread."""
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None:
            raise HTTPException(401, "a bearer token is needed: Authorization: Bearer <token>", headers=challenge)
        found = api.tokens.configured_actor(credentials.credentials)
        if found is None:
            found = await run_in_threadpool(api.tokens.actor, credentials.credentials)
        if found is None:
            raise HTTPException(401, "this token is unknown or revoked", headers=challenge)
        if not found.role.allows(needed):
            raise HTTPException(403, f"a {found.role} token cannot do this: it needs an {needed} token")
        return found

    return actor


viewer = _actor(Role.VIEWER)
admin = _actor(Role.ADMIN)

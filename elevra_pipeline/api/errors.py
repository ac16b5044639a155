"""What the API answers when a request is wrong or the service fails: never a stack trace, a server path,
a database URL or a token. Every answer carries a request id (`X-Request-ID`, or the proxy's own when it
sends a sane one); an unexpected error is a JSON 500 naming that id, with the traceback in the server's
log under it. A credential in the address (`?token=…`) is refused before anything reads it: tokens go in
the `Authorization` header only (the access log masks one anyway, `api.logs`)."""

import logging
import re
import uuid
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from elevra_pipeline.api.logs import CREDENTIAL_PARAMS

log = logging.getLogger("elevra_pipeline.api")
HEADER = "x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id(request: Request) -> str:
    return request.scope.get("state", {}).get("request_id", "-")


class RequestIds:
    """ASGI middleware: each request gets its id (in `scope["state"]`), each answer the header; a request
    with a credential in its address is refused here, before any route or dependency sees it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = dict(scope["headers"]).get(HEADER.encode(), b"").decode("latin-1")
        rid = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid

        async def with_id(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((HEADER.encode(), rid.encode()))
            await send(message)

        query = scope.get("query_string", b"").decode("latin-1")
        if any(name.lower() in CREDENTIAL_PARAMS for name, _ in parse_qsl(query, keep_blank_values=True)):
            refused = JSONResponse(
                {
                    "detail": "a credential in the address is refused: send the token in the Authorization header "
                    "(Authorization: Bearer <token>)",
                    "request_id": rid,
                },
                status_code=400,
            )
            return await refused(scope, receive, with_id)
        return await self.app(scope, receive, with_id)


async def unexpected(request: Request, error: Exception) -> JSONResponse:
    """The last resort: the traceback goes to the server's log under the request id, the client gets the id."""
    rid = request_id(request)
    log.error("request %s %s failed (request id %s)", request.method, request.url.path, rid, exc_info=error)
    body = {
        "detail": "the service could not answer this request; it is logged under this request id",
        "request_id": rid,
    }
    return JSONResponse(body, status_code=500, headers={HEADER: rid})


def install(app: FastAPI) -> None:
    app.add_exception_handler(Exception, unexpected)
    app.add_middleware(RequestIds)

"""`elevra-pipeline serve`: the API and the upload page on uvicorn; `elevra-pipeline api-token`: the
stored tokens (their digests) for deployments that do not put them in `ELEVRA_API_TOKENS`."""

import secrets

import uvicorn

from elevra_pipeline.api.app import create_app
from elevra_pipeline.api.auth import Actor, Role, digest
from elevra_pipeline.api.logs import logging_config
from elevra_pipeline.api.services import ApiServices


def session_token(services: ApiServices) -> str | None:
    """Without any token configured or stored, one admin token for this process alone (e.g. `make run`
    on a laptop), so the page can be used at once; None when tokens exist."""
    if services.tokens.configured or services.tokens.names():
        return None
    token = secrets.token_urlsafe(24)
    services.tokens.configured[digest(token)] = Actor("session-admin", Role.ADMIN)
    return token


def serve(host: str, port: int) -> int:
    services = ApiServices.from_env()
    page = f"http://{host}:{port}/"
    if token := session_token(services):
        print(
            "No API token is set (ELEVRA_API_TOKENS, or `elevra-pipeline api-token add NAME`): this session's "
            f"admin token is {token}\nUpload page: {page}#token={token}",
            flush=True,
        )
    else:
        print(f"Upload page: {page} (sign in with your API token)  |  OpenAPI docs: {page}docs", flush=True)
    app = create_app(services)
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="info", log_config=logging_config())
    return 0


def api_token(action: str, name: str | None, role: str) -> int:
    tokens = ApiServices.from_env().tokens
    if action == "list":
        for each, kind, revoked in tokens.names():
            print(f"{each:30} {kind:7} {'revoked' if revoked else 'active'}")
        return 0
    if not name:
        print("error: name the token's holder, e.g. `api-token add ann --role admin`")
        return 1
    if action == "revoke":
        found = tokens.revoke(name)
        print(f"token of {name} revoked" if found else f"error: no active token named {name}")
        return 0 if found else 1
    if name in {each for each, _, _ in tokens.names()}:
        print(f"error: a token named {name} exists (revoked or not): choose another name")
        return 1
    print(tokens.add(name, Role(role)))
    print(f"(the {role} token of {name}: shown this once; only its sha256 digest is stored)")
    return 0

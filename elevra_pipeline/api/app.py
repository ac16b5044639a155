"""The ASGI application: the API's routes, the upload page, CORS for Elevra's admin app."""

from importlib.resources import files

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from elevra_pipeline.api import errors, routes_admin, routes_uploads
from elevra_pipeline.api.auth import Actor
from elevra_pipeline.api.redaction import RedactJson, Redactor
from elevra_pipeline.api.security import viewer
from elevra_pipeline.api.services import ApiServices
from elevra_pipeline.api.shared_reads import SharedReads

PAGE = files("elevra_pipeline.api") / "page"
DESCRIPTION = """Upload candidate spreadsheets and follow them through Elevra's pipeline.

Send `Authorization: Bearer <token>`: a **viewer** token reads, an **admin** token also uploads and takes
admin actions. Every action is recorded with who took it (`GET /uploads/{upload_id}/actions`)."""


def create_app(services: ApiServices) -> FastAPI:
    app = FastAPI(title="Elevra pipeline API", version="1", description=DESCRIPTION)
    app.state.services = services
    if services.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=services.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        )
    app.state.redactor = Redactor.for_service(services.settings)
    app.state.shared_reads = SharedReads()
    app.add_middleware(RedactJson, redactor=app.state.redactor)
    errors.install(app)  # outermost: a request id on every answer, a JSON 500, no credential in an address
    app.include_router(routes_uploads.router)
    app.include_router(routes_admin.router)
    app.mount("/static", StaticFiles(directory=str(PAGE)), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return (PAGE / "index.html").read_text(encoding="utf-8")

    @app.get("/me", tags=["session"], summary="Who the token belongs to, and its role")
    def me(actor: Actor = Depends(viewer)) -> dict:
        return {"name": actor.name, "role": actor.role}

    @app.get("/healthz", tags=["session"], summary="The service answers and reaches its database")
    def healthz() -> dict:
        services.repo.control("pause_all")
        return {"ok": True}

    return app

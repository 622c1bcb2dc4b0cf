"""The one ASGI application: Graph-compatible routes, the vendor API, the admin API, OAuth and the portal."""

from __future__ import annotations

from fastapi import FastAPI

import ramparts
from ramparts.api import admin, analyzed_emails, hunting, ices, oauth, quarantine, remediation, risk, safe_links
from ramparts.api.errors import install_error_handlers
from ramparts.services import Services


def create_app(services: Services) -> FastAPI:
    app = FastAPI(title="ramparts", version=ramparts.__version__)
    app.state.services = services
    install_error_handlers(app)
    app.include_router(admin.router)
    app.include_router(oauth.router)
    app.include_router(hunting.router)
    app.include_router(analyzed_emails.router)
    app.include_router(remediation.router)
    app.include_router(quarantine.router)
    app.include_router(risk.router)
    app.include_router(safe_links.router)
    app.include_router(ices.router)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": ramparts.__version__}

    return app

"""The one ASGI application: Graph-compatible routes, the vendor API, the admin API, OAuth and the portal."""

from __future__ import annotations

from fastapi import FastAPI

import ramparts
from ramparts.api.errors import install_error_handlers
from ramparts.services import Services


def create_app(services: Services) -> FastAPI:
    app = FastAPI(title="ramparts", version=ramparts.__version__)
    app.state.services = services
    install_error_handlers(app)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": ramparts.__version__}

    return app

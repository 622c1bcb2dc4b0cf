"""Helpers shared by the identity and API tests: a settable clock, services in a temporary data dir,
tenants, apps and tokens."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from ramparts.config import load_settings
from ramparts.identity.apps import register_app
from ramparts.identity.scopes import AppKind
from ramparts.services import Services, open_services
from ramparts.tenants import add_tenant

START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def make_services(data_dir: Path, clock: FakeClock, **settings: Any) -> Services:
    return open_services(load_settings(data_dir, **settings), clock=clock)


def add_tenants(services: Services, *names: str) -> dict[str, str]:
    """Tenants named `names` (with domain NAME.example); returns name -> id."""
    ids: dict[str, str] = {}
    with services.sessions.begin() as session:
        for name in names:
            ids[name] = add_tenant(session, name, [f"{name}.example"]).id
    return ids


def add_app(
    services: Services,
    *,
    scopes: Sequence[str],
    kind: AppKind = "tenant_app",
    tenant_id: str | None = None,
    vendor_id: str | None = None,
    name: str = "test-app",
) -> tuple[str, str]:
    """Register an app; returns (client_id, client_secret)."""
    with services.sessions.begin() as session:
        app, secret = register_app(
            session, name=name, kind=kind, scopes=scopes, tenant_id=tenant_id, vendor_id=vendor_id
        )
        return app.client_id, secret


async def token_for(client: httpx.AsyncClient, client_id: str, secret: str, scope: str = "") -> str:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope:
        form["scope"] = scope
    response = await client.post("/oauth2/token", data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def serve_in_thread(app: Any, port: int) -> Iterator[uvicorn.Server]:
    """A real uvicorn server for `app` on 127.0.0.1:port, running its lifespan, stopped afterwards."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:  # poll until the socket listens
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=20)

"""The OAuth2 token endpoint: client-credentials grant (RFC 6749 section 4.4) for registered apps.

    POST /oauth2/token
    POST /{tenant}/oauth2/v2.0/token      Entra's path, where MSAL and azure-identity post

Client authentication by form fields (client_secret_post) or HTTP Basic (client_secret_basic).
`scope` is optional; `<resource>/.default` (e.g. https://graph.microsoft.com/.default) grants every
scope the app is registered with, and plain scope names grant just those. The {tenant} segment is
accepted and ignored: the app's own registration says which tenant it acts for.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ramparts.api.auth import services_of, signing_key
from ramparts.errors import AuthError
from ramparts.identity.apps import verify_client
from ramparts.identity.local_admin import ensure_local_admin
from ramparts.identity.tokens import issue_token
from ramparts.services import Services


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At server start, leave working admin credentials in data_dir for the command line."""
    services: Services = app.state.services

    def ensure() -> None:
        with services.sessions() as session:
            ensure_local_admin(session, services.settings.data_dir)

    await run_in_threadpool(ensure)
    yield


router = APIRouter(tags=["oauth"], lifespan=_lifespan)

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error answer."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> JSONResponse:
        headers = dict(_NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="ramparts"'
        return JSONResponse(
            {"error": self.error, "error_description": self.description}, status_code=self.status, headers=headers
        )


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "client authentication failed", 401) from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "client authentication failed", 401)
    return unquote_plus(client_id), unquote_plus(secret)


def _credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    basic = _basic_credentials(request.headers.get("authorization", ""))
    posted = (form.get("client_id", ""), form.get("client_secret", ""))
    if basic is not None:
        if posted[1]:
            raise OAuthError("invalid_request", "use one client authentication method, not two")
        if posted[0] and posted[0] != basic[0]:
            raise OAuthError("invalid_request", "client_id differs from the Basic credentials")
        return basic
    if not posted[0]:
        raise OAuthError("invalid_request", "client_id is required")
    if not posted[1]:
        raise OAuthError("invalid_client", "client authentication failed", 401)
    return posted


def granted_scopes(requested: str, registered: list[str]) -> list[str]:
    """The scopes a token gets for a `scope` parameter, or OAuthError("invalid_scope")."""
    items = requested.split()
    if not items or any(item.endswith("/.default") or item == ".default" for item in items):
        return sorted(registered)
    names = {item.rsplit("/", 1)[-1] for item in items}
    missing = sorted(names - set(registered))
    if missing:
        raise OAuthError("invalid_scope", f"the app is not registered for {missing[0]}")
    return sorted(names)


async def _token(request: Request) -> JSONResponse:
    try:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
        raw_form = await request.form()
        form = {key: value for key, value in raw_form.items() if isinstance(value, str)}
        grant_type = form.get("grant_type", "")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            raise OAuthError("unsupported_grant_type", "only the client_credentials grant is supported")
        client_id, secret = _credentials(request, form)
        services = services_of(request)
        body = await run_in_threadpool(_issue, services, client_id, secret, form.get("scope", ""))
    except OAuthError as exc:
        return exc.response()
    return JSONResponse(body, headers=_NO_STORE)


def _issue(services: Services, client_id: str, secret: str, scope: str) -> dict[str, Any]:
    now = services.clock()
    with services.sessions() as session:
        try:
            app = verify_client(session, client_id, secret, now=now)
        except AuthError as exc:
            raise OAuthError("invalid_client", "client authentication failed", 401) from exc
        scopes = granted_scopes(scope, list(app.scopes))
        token, expires_in = issue_token(
            app, key=signing_key(services), now=now, lifetime=services.settings.token_lifetime_seconds, scopes=scopes
        )
    return {"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in}


router.add_api_route("/oauth2/token", _token, methods=["POST"], summary="Client-credentials token", name="oauth2_token")
router.add_api_route(
    "/{tenant}/oauth2/v2.0/token",
    _token,
    methods=["POST"],
    summary="Client-credentials token (Entra's path)",
    name="oauth2_token_entra",
)

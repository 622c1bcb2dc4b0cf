"""FastAPI dependencies that turn `Authorization: Bearer <token>` into a Principal and check its scopes.

    principal                  -> Principal (401 when the token is missing, invalid or its app revoked)
    require_scopes(*scopes)    -> dependency: every scope needed, else 403 naming the missing one
    require_any_scope(*scopes) -> dependency: one of the scopes is enough

The signing key and the clock come from request.app.state.services. A revoked app's tokens stop
working within REVOCATION_TTL: each request checks the app's revoked_at, cached that long per app.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Awaitable, Callable

from fastapi import Request
from joserfc.jwk import ECKey
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from ramparts.errors import AuthError, Forbidden
from ramparts.identity.keys import load_signing_key
from ramparts.identity.models import AppRegistration
from ramparts.identity.scopes import ADMIN
from ramparts.identity.tokens import INVALID_TOKEN, Principal, VerifiedTokens
from ramparts.services import Services

REVOCATION_TTL = dt.timedelta(seconds=5)
_KEY = "identity.signing_key"
_ACTIVE = "identity.active_apps"
_lock = threading.Lock()


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def signing_key(services: Services) -> ECKey:
    """The token signing key, loaded (or made) once per process."""
    return verified_tokens(services).key


def verified_tokens(services: Services) -> VerifiedTokens:
    """The process's cache of verified tokens, with the signing key (loaded or made once)."""
    found = services.extras.get(_KEY)
    if found is None:
        with _lock:
            found = services.extras.get(_KEY)
            if found is None:
                with services.sessions() as session:
                    found = services.extras[_KEY] = VerifiedTokens(load_signing_key(session))
    assert isinstance(found, VerifiedTokens)
    return found


class ActiveApps:
    """Whether an app is still allowed (not revoked, not deleted), remembered for REVOCATION_TTL."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[dt.datetime, bool]] = {}
        self._lock = threading.Lock()

    def known(self, client_id: str, now: dt.datetime) -> bool | None:
        """Whether the app is active, when that was checked less than REVOCATION_TTL ago; else None."""
        with self._lock:
            cached = self._seen.get(client_id)
        if cached is not None and now - cached[0] < REVOCATION_TTL:
            return cached[1]
        return None

    def is_active(self, services: Services, client_id: str, now: dt.datetime) -> bool:
        cached = self.known(client_id, now)
        if cached is not None:
            return cached
        with services.sessions() as session:
            revoked = session.execute(
                select(AppRegistration.revoked_at).where(AppRegistration.client_id == client_id)
            ).first()
        active = revoked is not None and revoked[0] is None
        with self._lock:
            self._seen[client_id] = (now, active)
        return active

    def forget(self, client_id: str) -> None:
        """Drop what is known of an app (call after revoking it in this process)."""
        with self._lock:
            self._seen.pop(client_id, None)


def active_apps(services: Services) -> ActiveApps:
    cache = services.extras.get(_ACTIVE)
    if cache is None:
        with _lock:
            cache = services.extras.setdefault(_ACTIVE, ActiveApps())
    assert isinstance(cache, ActiveApps)
    return cache


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(INVALID_TOKEN)
    return token.strip()


def principal(request: Request) -> Principal:
    """The caller behind the request's bearer token (may query the database: call it from a thread)."""
    services = services_of(request)
    now = services.clock()
    found = verified_tokens(services).verify(bearer_token(request), now)
    if not active_apps(services).is_active(services, found.client_id, now):
        raise AuthError(INVALID_TOKEN)
    return found


async def principal_async(request: Request) -> Principal:
    """principal() without a thread hop when everything it needs is in memory (the token was verified
    before and the app's status is fresh), as it is for a client's repeated calls."""
    services = services_of(request)
    tokens = services.extras.get(_KEY)
    if isinstance(tokens, VerifiedTokens):
        now = services.clock()
        found = tokens.verify(bearer_token(request), now)
        active = active_apps(services).known(found.client_id, now)
        if active is not None:
            if not active:
                raise AuthError(INVALID_TOKEN)
            return found
    return await run_in_threadpool(principal, request)


def _check(found: Principal, needed: tuple[str, ...], *, any_of: bool) -> Principal:
    if any_of:
        if not any(found.has(scope) for scope in needed):
            raise Forbidden(f"missing permission: this API requires one of {', '.join(needed)}")
        return found
    for scope in needed:
        if not found.has(scope):
            raise Forbidden(f"missing permission {scope}; this API requires {', '.join(needed)}")
    return found


def require_scopes(*scopes: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency giving the Principal when its token holds every one of `scopes`."""

    async def dependency(request: Request) -> Principal:
        return _check(await principal_async(request), scopes, any_of=False)

    return dependency


def require_any_scope(*scopes: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency giving the Principal when its token holds at least one of `scopes`."""

    async def dependency(request: Request) -> Principal:
        return _check(await principal_async(request), scopes, any_of=True)

    return dependency


def require_tenant_or_admin(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency for routes that act within one tenant: the local administrator (Ramparts.Admin), or an
    app bound to a tenant holding `scope`. An app with no tenant (a vendor's) never sees across tenants."""
    scoped = require_any_scope(ADMIN, scope)

    async def dependency(request: Request) -> Principal:
        caller = await scoped(request)
        if caller.kind != "admin" and not caller.tenant_id:
            raise Forbidden(f"{scope} is for a tenant's apps; this app has no tenant")
        return caller

    return dependency

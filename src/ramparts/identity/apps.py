"""Registering OAuth2 client-credentials apps, rotating and revoking their secrets, checking them.

Secrets are 256-bit random strings shown once; only argon2id hashes are stored. Every failure of
verify_client raises the same AuthError("invalid_client"), after the same amount of hashing work.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Iterable, Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ramparts.errors import AuthError, InvalidInput, NotFound
from ramparts.identity.audit import record
from ramparts.identity.models import AppRegistration
from ramparts.identity.scopes import ADMIN, ALL_SCOPES, APP_KINDS, TENANT_APP_ONLY, AppKind
from ramparts.store.base import utcnow

ROTATION_GRACE = dt.timedelta(hours=24)
"""How long the secret replaced by rotate_secret keeps working."""

INVALID_CLIENT = "invalid_client"

# Secrets carry 256 bits of entropy, so argon2's job is to make stored hashes useless, not to slow down
# guessing of a weak password: OWASP's minimum argon2id profile (19 MiB, 2 passes) is enough.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(32))


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _check_scopes(kind: str, scopes: Iterable[str]) -> list[str]:
    cleaned = sorted({s.strip() for s in scopes if s.strip()})
    unknown = [s for s in cleaned if s not in ALL_SCOPES]
    if unknown:
        raise InvalidInput(f"unknown scope {unknown[0]!r}; known: {', '.join(sorted(ALL_SCOPES))}", field="scopes")
    if ADMIN in cleaned and kind != "admin":
        raise InvalidInput(f"only admin apps may hold {ADMIN}", field="scopes")
    tenant_only = sorted(TENANT_APP_ONLY.intersection(cleaned))
    if tenant_only and kind != "tenant_app":
        raise InvalidInput(f"only a tenant's apps may hold {tenant_only[0]}", field="scopes")
    return cleaned


def register_app(
    session: Session,
    *,
    name: str,
    kind: AppKind,
    scopes: Sequence[str],
    tenant_id: str | None = None,
    vendor_id: str | None = None,
    actor: str = "system",
) -> tuple[AppRegistration, str]:
    """Add an app; returns it and its plaintext secret, which is not kept anywhere."""
    if kind not in APP_KINDS:
        raise InvalidInput(f"app kind must be one of {', '.join(APP_KINDS)}", field="kind")
    if kind == "tenant_app" and not tenant_id:
        raise InvalidInput("a tenant app needs a tenant", field="tenant")
    if kind != "tenant_app" and tenant_id:
        raise InvalidInput(f"a {kind} app serves many tenants and takes no tenant", field="tenant")
    if kind == "vendor" and not vendor_id:
        raise InvalidInput("a vendor app needs a vendor id", field="vendor")
    if not name.strip():
        raise InvalidInput("an app needs a name", field="name")
    secret = _new_secret()
    app = AppRegistration(
        name=name.strip(),
        kind=kind,
        tenant_id=tenant_id,
        vendor_id=vendor_id,
        scopes=_check_scopes(kind, scopes),
        secret_hash=_hasher.hash(secret),
        created_at=utcnow(),
    )
    session.add(app)
    session.flush()
    record(
        session,
        actor=actor,
        action="app.add",
        target=app.client_id,
        tenant_id=tenant_id or "",
        details={"name": app.name, "kind": kind, "scopes": app.scopes, "vendor_id": vendor_id or ""},
    )
    return app, secret


def find_app(session: Session, client_id: str) -> AppRegistration:
    app = session.get(AppRegistration, client_id)
    if app is None:
        raise NotFound(f"no app with client id {client_id!r}")
    return app


def list_apps(session: Session, *, tenant_id: str | None = None) -> list[AppRegistration]:
    query = select(AppRegistration).order_by(AppRegistration.created_at, AppRegistration.client_id)
    if tenant_id is not None:
        query = query.where(AppRegistration.tenant_id == tenant_id)
    return list(session.scalars(query))


def rotate_secret(
    session: Session,
    client_id: str,
    *,
    now: dt.datetime | None = None,
    grace: dt.timedelta = ROTATION_GRACE,
    actor: str = "system",
) -> str:
    """Give the app a new secret; the old one keeps working for `grace`. Returns the new plaintext."""
    app = find_app(session, client_id)
    if app.revoked_at is not None:
        raise InvalidInput("a revoked app cannot get a new secret", field="client_id")
    now = now or utcnow()
    secret = _new_secret()
    app.previous_secret_hash = app.secret_hash
    app.previous_secret_expires_at = now + grace
    app.secret_hash = _hasher.hash(secret)
    record(
        session,
        actor=actor,
        action="app.rotate",
        target=client_id,
        tenant_id=app.tenant_id or "",
        details={"previous_secret_expires_at": app.previous_secret_expires_at.isoformat()},
    )
    return secret


def revoke_app(session: Session, client_id: str, *, now: dt.datetime | None = None, actor: str = "system") -> None:
    """Stop the app: its secrets stop working at once, its tokens at their next check."""
    app = find_app(session, client_id)
    if app.revoked_at is None:
        app.revoked_at = now or utcnow()
    record(session, actor=actor, action="app.revoke", target=client_id, tenant_id=app.tenant_id or "")


def _matches(hashed: str, secret: str) -> bool:
    try:
        return _hasher.verify(hashed, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def verify_client(session: Session, client_id: str, secret: str, *, now: dt.datetime | None = None) -> AppRegistration:
    """The app these credentials belong to; any failure raises the same AuthError("invalid_client")."""
    now = now or utcnow()
    app: AppRegistration | None = None
    try:
        uuid.UUID(client_id)
    except (ValueError, AttributeError, TypeError):
        pass
    else:
        app = session.get(AppRegistration, client_id)
    if app is None:
        _matches(_DUMMY_HASH, secret)  # the same work as for a known app with a wrong secret
        _matches(_DUMMY_HASH, secret)
        raise AuthError(INVALID_CLIENT)
    ok = _matches(app.secret_hash, secret)
    in_grace = bool(
        app.previous_secret_hash and app.previous_secret_expires_at and now < app.previous_secret_expires_at
    )
    if not ok:  # a second hash either way, so that timing does not tell whether a previous secret exists
        previous_ok = _matches(
            app.previous_secret_hash if in_grace and app.previous_secret_hash else _DUMMY_HASH, secret
        )
        ok = previous_ok and in_grace
    if not ok or app.revoked_at is not None:
        raise AuthError(INVALID_CLIENT)
    return app

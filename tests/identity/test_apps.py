from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ramparts.errors import AuthError, InvalidInput, NotFound
from ramparts.identity import (
    ADMIN,
    THREAT_HUNTING_READ,
    VERDICT_SUBMIT,
    register_app,
    revoke_app,
    rotate_secret,
    verify_client,
)
from ramparts.identity.apps import INVALID_CLIENT, list_apps
from ramparts.identity.models import AppRegistration
from ramparts.services import Services
from ramparts.store.models import AuditEntry
from tests.identity.support import START, add_tenants


def _tenant(services: Services) -> str:
    return add_tenants(services, "contoso")["contoso"]


def test_register_stores_only_a_hash_and_verifies(services: Services, session: Session) -> None:
    tenant_id = _tenant(services)
    app, secret = register_app(
        session, name="siem", kind="tenant_app", scopes=[THREAT_HUNTING_READ], tenant_id=tenant_id
    )
    session.commit()
    stored = session.scalars(select(AppRegistration)).one()
    assert secret not in stored.secret_hash
    assert stored.secret_hash.startswith("$argon2id$")
    assert len(secret) >= 40
    assert verify_client(session, app.client_id, secret).client_id == app.client_id
    assert stored.scopes == [THREAT_HUNTING_READ]
    assert [a.client_id for a in list_apps(session, tenant_id=tenant_id)] == [app.client_id]


def test_every_failure_is_the_same_invalid_client(services: Services, session: Session) -> None:
    app, secret = register_app(session, name="v", kind="vendor", scopes=[VERDICT_SUBMIT], vendor_id="acme")
    other, _ = register_app(session, name="w", kind="vendor", scopes=[VERDICT_SUBMIT], vendor_id="acme")
    revoked, revoked_secret = register_app(session, name="r", kind="vendor", scopes=[VERDICT_SUBMIT], vendor_id="x")
    revoke_app(session, revoked.client_id)
    session.commit()
    attempts = [
        (app.client_id, secret + "x"),  # wrong secret
        (other.client_id, secret),  # another app's secret
        ("00000000-0000-0000-0000-000000000000", secret),  # unknown client
        ("not-a-uuid", secret),  # malformed client id
        (app.client_id, ""),  # empty secret
        (revoked.client_id, revoked_secret),  # revoked
    ]
    messages = set()
    for client_id, attempt in attempts:
        with pytest.raises(AuthError) as caught:
            verify_client(session, client_id, attempt)
        messages.add(str(caught.value))
    assert messages == {INVALID_CLIENT}


def test_rotation_keeps_the_old_secret_for_the_grace_period(services: Services, session: Session) -> None:
    app, old = register_app(session, name="v", kind="vendor", scopes=[VERDICT_SUBMIT], vendor_id="acme")
    new = rotate_secret(session, app.client_id, now=START, grace=dt.timedelta(hours=1))
    session.commit()
    assert new != old
    assert verify_client(session, app.client_id, new, now=START).client_id == app.client_id
    assert verify_client(session, app.client_id, old, now=START + dt.timedelta(minutes=59)).client_id == app.client_id
    with pytest.raises(AuthError):
        verify_client(session, app.client_id, old, now=START + dt.timedelta(hours=1))
    assert verify_client(session, app.client_id, new, now=START + dt.timedelta(days=9)).client_id == app.client_id


def test_admin_actions_are_audited(services: Services, session: Session) -> None:
    tenant_id = _tenant(services)
    app, _ = register_app(
        session, name="siem", kind="tenant_app", scopes=[THREAT_HUNTING_READ], tenant_id=tenant_id, actor="alice"
    )
    rotate_secret(session, app.client_id, actor="alice")
    revoke_app(session, app.client_id, actor="bob")
    session.commit()
    rows = session.scalars(select(AuditEntry).where(AuditEntry.target == app.client_id).order_by(AuditEntry.id)).all()
    assert [(r.actor, r.action, r.tenant_id) for r in rows] == [
        ("alice", "app.add", tenant_id),
        ("alice", "app.rotate", tenant_id),
        ("bob", "app.revoke", tenant_id),
    ]
    assert rows[0].details["scopes"] == [THREAT_HUNTING_READ]
    assert all("secret" not in str(r.details).lower() or "expires" in str(r.details) for r in rows)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "tenant_app", "scopes": [THREAT_HUNTING_READ]}, "tenant"),  # tenant app without tenant
        ({"kind": "vendor", "scopes": [VERDICT_SUBMIT]}, "vendor"),  # vendor app without vendor
        ({"kind": "vendor", "scopes": [ADMIN], "vendor_id": "acme"}, "scopes"),  # admin scope for a vendor
        ({"kind": "vendor", "scopes": ["Mail.Send"], "vendor_id": "acme"}, "scopes"),  # unknown scope
        ({"kind": "robot", "scopes": [VERDICT_SUBMIT]}, "kind"),
    ],
)
def test_register_refuses_inconsistent_apps(session: Session, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        register_app(session, name="x", **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_rotating_unknown_or_revoked_apps_fails(session: Session) -> None:
    with pytest.raises(NotFound):
        rotate_secret(session, "00000000-0000-0000-0000-000000000000")
    app, _ = register_app(session, name="v", kind="vendor", scopes=[VERDICT_SUBMIT], vendor_id="acme")
    revoke_app(session, app.client_id)
    with pytest.raises(InvalidInput):
        rotate_secret(session, app.client_id)

"""Managing a tenant's allow and block lists (Defender's Tenant Allow/Block List): senders, domains, URLs.

Entries are read by detection (detection.builtin.lists), by ZAP's allow check and by the time-of-click
check; a running server sees a change within its tenant directory's refresh (5 s). Every change is audited.
An entry for a value already listed changes its action (a value is allowed or blocked, not both).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ramparts.errors import InvalidInput, NotFound
from ramparts.identity.audit import record
from ramparts.store.models import ListEntry
from ramparts.tenants import find_tenant

KINDS = ("sender", "domain", "url")
ACTIONS = ("allow", "block")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOST = re.compile(r"^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)+$")


def normalized(kind: str, value: str) -> str:
    """The entry as stored: lower case, no scheme for URLs; InvalidInput naming what is wrong."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}", field="kind")
    text = value.strip()
    if not text or len(text) > 2048 or any(c.isspace() for c in text):
        raise InvalidInput(f"{value!r} is not a {kind} entry", field="value")
    if kind == "sender":
        text = text.lower()
        if not _ADDRESS.match(text):
            raise InvalidInput(f"{value!r} is not an email address", field="value")
        return text
    if kind == "domain":
        text = text.lower().rstrip(".")
        if not _HOST.match(text):
            raise InvalidInput(f"{value!r} is not a domain name", field="value")
        return text
    bare = text.split("://", 1)[-1]
    host, slash, path = bare.partition("/")
    host = host.lower().rstrip(".")
    if not _HOST.match(host):
        raise InvalidInput(f"{value!r} is not a URL or host", field="value")
    return host + slash + path


def _entry(entry: ListEntry) -> dict[str, Any]:
    return {"kind": entry.kind, "action": entry.action, "value": entry.value, "created": entry.created_at.isoformat()}


def list_entries(session: Session, tenant_key: str) -> list[dict[str, Any]]:
    tenant = find_tenant(session, tenant_key)
    found = session.scalars(
        select(ListEntry).where(ListEntry.tenant_id == tenant.id).order_by(ListEntry.kind, ListEntry.value)
    )
    return [_entry(e) for e in found]


def set_entry(session: Session, tenant_key: str, kind: str, value: str, action: str, *, actor: str) -> dict[str, Any]:
    """Allow or block a sender, domain or URL for the tenant (idempotent)."""
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action {action!r}; expected allow or block", field="action")
    tenant = find_tenant(session, tenant_key)
    stored = normalized(kind, value)
    entry = session.scalar(
        select(ListEntry).where(ListEntry.tenant_id == tenant.id, ListEntry.kind == kind, ListEntry.value == stored)
    )
    if entry is None:
        entry = ListEntry(tenant_id=tenant.id, kind=kind, action=action, value=stored)
        session.add(entry)
    elif entry.action == action:
        return _entry(entry)
    else:
        entry.action = action
    session.flush()
    record(session, actor=actor, action=f"lists.{action}", target=f"{kind}:{stored}", tenant_id=tenant.id)
    return _entry(entry)


def remove_entry(session: Session, tenant_key: str, kind: str, value: str, *, actor: str) -> None:
    tenant = find_tenant(session, tenant_key)
    stored = normalized(kind, value)
    entry = session.scalar(
        select(ListEntry).where(ListEntry.tenant_id == tenant.id, ListEntry.kind == kind, ListEntry.value == stored)
    )
    if entry is None:
        raise NotFound(f"{kind} {stored!r} is not on the lists of tenant {tenant.name}")
    session.delete(entry)
    record(session, actor=actor, action="lists.remove", target=f"{kind}:{stored}", tenant_id=tenant.id)

"""The audit log: one row per administrative action, written in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ramparts.store.models import AuditEntry


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str = "",
    tenant_id: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit row; committed (or rolled back) together with the action it describes."""
    entry = AuditEntry(actor=actor, action=action, target=target, tenant_id=tenant_id or "", details=details or {})
    session.add(entry)
    return entry

"""Bulk remediation requests (Graph remediate, portal take-action) and their status."""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from ramparts.api.auth import require_any_scope, services_of
from ramparts.errors import NotFound
from ramparts.identity.audit import record
from ramparts.identity.scopes import ADMIN, ANALYZED_MESSAGE_READ_WRITE
from ramparts.identity.tokens import Principal
from ramparts.services import Services
from ramparts.store.base import utcnow
from ramparts.store.models import Remediation

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/remediations", tags=["admin"])
Caller = Annotated[Principal, Depends(require_any_scope(ADMIN, ANALYZED_MESSAGE_READ_WRITE))]

GRAPH_TO_ACTION = {
    "moveToJunk": "moveToJunk",
    "moveToInbox": "moveToInbox",
    "moveToDeletedItems": "moveToDeletedItems",
    "softDelete": "softDelete",
    "hardDelete": "hardDelete",
    "moveToQuarantine": "quarantine",
}


def _run(
    services: Services, remediation_id: str, tenant_id: str, action: str, actor: str, items: list[tuple[str, str]]
) -> None:
    try:
        results, status = _remediate_all(services, tenant_id, action, actor, items), "completed"
    except Exception as exc:  # a background job must end in a recorded state, never silently
        log.exception("remediation %s failed", remediation_id)
        results, status = [{"error": f"{type(exc).__name__}: {exc}"}], "failed"
    with services.sessions.begin() as session:
        remediation = session.get(Remediation, remediation_id)
        assert remediation is not None
        remediation.items = results
        remediation.status = status
        remediation.finished_at = utcnow()


def _remediate_all(
    services: Services, tenant_id: str, action: str, actor: str, items: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    from ramparts.delivery.zap import remediate_copy

    results: list[dict[str, Any]] = []
    for nmid, recipient in items:
        try:
            outcome = remediate_copy(
                services,
                network_message_id=nmid,
                recipient=recipient,
                action=GRAPH_TO_ACTION[action],
                trigger="AdminAction",
                actor=actor,
                tenant_id=tenant_id,
            )
            result = str(getattr(outcome, "action_result", outcome))
        except NotFound:
            result = "NotFound"
        results.append({"networkMessageId": nmid, "recipientEmailAddress": recipient, "result": result})
    services.writer.flush()
    return results


def start_remediation(
    services: Services,
    *,
    tenant_id: str,
    actor: str,
    action: str,
    title: str,
    description: str,
    severity: str,
    items: list[tuple[str, str]],
) -> str:
    """Record the request (audited) and run it in the background; returns its id for the status URL."""
    with services.sessions.begin() as session:
        remediation = Remediation(
            tenant_id=tenant_id,
            action=action,
            title=title,
            description=description,
            severity=severity,
            requested_by=actor,
            items=[{"networkMessageId": n, "recipientEmailAddress": r, "result": "pending"} for n, r in items],
        )
        session.add(remediation)
        session.flush()
        record(
            session,
            actor=actor,
            action="remediation.start",
            target=remediation.id,
            tenant_id=tenant_id,
            details={"action": action, "count": len(items), "title": title},
        )
        remediation_id = remediation.id
    threading.Thread(
        target=_run,
        args=(services, remediation_id, tenant_id, action, actor, items),
        daemon=True,
        name=f"remediation-{remediation_id}",
    ).start()
    return remediation_id


@router.get("/{remediation_id}")
def remediation_status(remediation_id: str, request: Request, caller: Caller) -> dict[str, Any]:
    with services_of(request).sessions() as session:
        remediation = session.get(Remediation, remediation_id)
        if remediation is None or (caller.tenant_id and remediation.tenant_id != caller.tenant_id):
            raise NotFound(f"no remediation {remediation_id!r}")
        return {
            "id": remediation.id,
            "action": remediation.action,
            "displayName": remediation.title,
            "status": remediation.status,
            "createdDateTime": remediation.created_at.isoformat(),
            "finishedDateTime": remediation.finished_at.isoformat() if remediation.finished_at else None,
            "requestedBy": remediation.requested_by,
            "items": remediation.items,
        }

"""The quarantine routes: search, details, preview, release, delete, report.

A tenant's app with Ramparts.Quarantine.ReadWrite sees and acts on that tenant's records only; the local
administrator (Ramparts.Admin) sees every tenant's and may narrow the search with ?tenant=. Identities
hold a backslash: send it as %5C.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ramparts import quarantine
from ramparts.api.auth import require_tenant_or_admin, services_of
from ramparts.identity.scopes import QUARANTINE_READ_WRITE
from ramparts.identity.tokens import Principal
from ramparts.tenants import find_tenant

router = APIRouter(prefix="/api/quarantine", tags=["quarantine"])
Admin = Annotated[Principal, Depends(require_tenant_or_admin(QUARANTINE_READ_WRITE))]


def _actor(caller: Principal) -> str:
    """Who the audit log and ReleasedBy name: the local administrator, or the tenant's app by its client id."""
    return "admin" if caller.kind == "admin" else caller.client_id


def _tenant_scope(request: Request, caller: Principal, tenant: str | None) -> str | None:
    if caller.tenant_id:
        return caller.tenant_id
    if not tenant:
        return None
    with services_of(request).sessions() as session:
        return find_tenant(session, tenant).id


@router.get("")
def search(
    request: Request,
    caller: Admin,
    tenant: str | None = None,
    quarantine_type: Annotated[tuple[str, ...], Query(alias="type")] = (),
    policy_type: Annotated[tuple[str, ...], Query()] = (),
    release_status: Annotated[tuple[str, ...], Query()] = (),
    recipient: str = "",
    sender: str = "",
    subject: str = "",
    message_id: str = "",
    network_message_id: str = "",
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    reported: bool | None = None,
    engine: str = "",
    threat: str = "",
    page: int = 1,
    page_size: int = 100,
) -> dict[str, Any]:
    services = services_of(request)
    query = quarantine.QuarantineQuery(
        tenant_id=_tenant_scope(request, caller, tenant),
        quarantine_types=quarantine_type,
        policy_types=policy_type,
        release_statuses=release_status,
        recipient=recipient,
        sender=sender,
        subject=subject,
        message_id=message_id,
        network_message_id=network_message_id,
        start=start,
        end=end,
        reported=reported,
        engine=engine,
        threat=threat,
        page=page,
        page_size=page_size,
    )
    with services.sessions() as session:
        found = quarantine.search(session, query, services.clock())
    return {"value": found, "page": page, "pageSize": page_size}


class BulkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identities: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=quarantine.MAX_BULK
    )


@router.post("/bulk/{action}")
def bulk(action: str, body: BulkRequest, request: Request, caller: Admin) -> dict[str, Any]:
    """release, delete or report up to 100 records; each gets its own result."""
    results = quarantine.bulk(services_of(request), action, body.identities, caller.tenant_id, _actor(caller))
    return {"value": results}


@router.get("/{identity}")
def details(identity: str, request: Request, caller: Admin) -> dict[str, Any]:
    return quarantine.details(services_of(request), identity, caller.tenant_id)


@router.get("/{identity}/preview")
def preview(identity: str, request: Request, caller: Admin) -> dict[str, Any]:
    return quarantine.preview(services_of(request), identity, caller.tenant_id, _actor(caller))


@router.post("/{identity}/release")
def release(identity: str, request: Request, caller: Admin) -> dict[str, Any]:
    return quarantine.release(services_of(request), identity, caller.tenant_id, _actor(caller))


@router.post("/{identity}/delete", status_code=204)
def delete(identity: str, request: Request, caller: Admin) -> None:
    quarantine.delete(services_of(request), identity, caller.tenant_id, _actor(caller))


@router.post("/{identity}/report")
def report(identity: str, request: Request, caller: Admin) -> dict[str, Any]:
    return quarantine.report(services_of(request), identity, caller.tenant_id, _actor(caller))

"""Human-risk routes: the most attacked people of a tenant (Attack Factor).

A tenant's app with Ramparts.Risk.Read reads its own tenant; the local administrator names the tenant.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from ramparts.api.auth import require_any_scope, services_of
from ramparts.errors import Forbidden, InvalidInput
from ramparts.identity.scopes import ADMIN, RISK_READ
from ramparts.identity.tokens import Principal
from ramparts.risk.report import most_attacked
from ramparts.tenants import find_tenant

router = APIRouter(prefix="/api/risk", tags=["risk"])
_scoped = require_any_scope(ADMIN, RISK_READ)


async def risk_reader(request: Request) -> Principal:
    caller = await _scoped(request)
    if caller.kind != "admin" and not caller.tenant_id:
        raise Forbidden("risk scores are open to a tenant's apps and to the administrator only")
    return caller


Reader = Annotated[Principal, Depends(risk_reader)]


@router.get("/attacked")
def attacked(
    request: Request,
    caller: Reader,
    tenant: str | None = None,
    top: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """People by Attack Factor, most attacked first, with each family's share."""
    services = services_of(request)
    tenant_id = caller.tenant_id
    if not tenant_id:
        if not tenant:
            raise InvalidInput("name the tenant whose people to score (?tenant=)", field="tenant")
        with services.sessions() as session:
            tenant_id = find_tenant(session, tenant).id
    settings = services.settings
    return most_attacked(
        services.telemetry, tenant_id, services.clock(), top=top, time_budget_s=settings.hunting_time_budget_seconds
    )

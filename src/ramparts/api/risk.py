"""Human-risk routes: the most attacked people of a tenant (Attack Factor) and the riskiest clickers (HRS).

A tenant's app with Ramparts.Risk.Read reads its own tenant; the local administrator names the tenant.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from ramparts.api.auth import require_any_scope, services_of
from ramparts.errors import Forbidden, InvalidInput
from ramparts.identity.scopes import ADMIN, RISK_READ
from ramparts.identity.tokens import Principal
from ramparts.risk.report import most_attacked, riskiest_clickers
from ramparts.tenants import find_tenant

router = APIRouter(prefix="/api/risk", tags=["risk"])
_scoped = require_any_scope(ADMIN, RISK_READ)


async def risk_reader(request: Request) -> Principal:
    caller = await _scoped(request)
    if caller.kind != "admin" and not caller.tenant_id:
        raise Forbidden("risk scores are open to a tenant's apps and to the administrator only")
    return caller


Reader = Annotated[Principal, Depends(risk_reader)]


def _tenant_of(request: Request, caller: Principal, tenant: str | None) -> str:
    if caller.tenant_id:
        return caller.tenant_id
    if not tenant:
        raise InvalidInput("name the tenant whose people to score (?tenant=)", field="tenant")
    with services_of(request).sessions() as session:
        return find_tenant(session, tenant).id


@router.get("/attacked")
def attacked(
    request: Request,
    caller: Reader,
    tenant: str | None = None,
    top: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """People by Attack Factor, most attacked first, with each family's share."""
    services = services_of(request)
    budget = services.settings.hunting_time_budget_seconds
    tenant_id = _tenant_of(request, caller, tenant)
    return most_attacked(services.telemetry, tenant_id, services.clock(), top=top, time_budget_s=budget)


@router.get("/behaviour")
def behaviour(
    request: Request,
    caller: Reader,
    tenant: str | None = None,
    top: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """People by human risk score from their clicks on checked links, riskiest first."""
    services = services_of(request)
    budget = services.settings.hunting_time_budget_seconds
    tenant_id = _tenant_of(request, caller, tenant)
    return riskiest_clickers(services.telemetry, tenant_id, services.clock(), top=top, time_budget_s=budget)

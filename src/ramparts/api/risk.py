"""Human-risk routes: the most attacked people of a tenant (Attack Factor) and the riskiest clickers (HRS).

A tenant's app with Ramparts.Risk.Read reads its own tenant; the local administrator names the tenant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from ramparts.api.auth import require_tenant_or_admin, services_of
from ramparts.errors import InvalidInput
from ramparts.identity.scopes import RISK_READ
from ramparts.identity.tokens import Principal
from ramparts.risk.report import most_attacked, riskiest_clickers
from ramparts.tenants import find_tenant

router = APIRouter(prefix="/api/risk", tags=["risk"])
Reader = Annotated[Principal, Depends(require_tenant_or_admin(RISK_READ))]
Top = Annotated[int, Query(ge=1, le=1000)]


def _report(request: Request, caller: Principal, tenant: str | None, top: int, build: Callable[..., Any]) -> Any:
    services = services_of(request)
    tenant_id = caller.tenant_id
    if not tenant_id:
        if not tenant:
            raise InvalidInput("name the tenant whose people to score (?tenant=)", field="tenant")
        with services.sessions() as session:
            tenant_id = find_tenant(session, tenant).id
    budget = services.settings.hunting_time_budget_seconds
    return build(services.telemetry, tenant_id, services.clock(), top=top, time_budget_s=budget)


@router.get("/attacked")
def attacked(request: Request, caller: Reader, tenant: str | None = None, top: Top = 50) -> dict[str, Any]:
    """People by Attack Factor, most attacked first, with each family's share."""
    return dict(_report(request, caller, tenant, top, most_attacked))


@router.get("/behaviour")
def behaviour(request: Request, caller: Reader, tenant: str | None = None, top: Top = 50) -> dict[str, Any]:
    """People by human risk score from their clicks on checked links, riskiest first."""
    return dict(_report(request, caller, tenant, top, riskiest_clickers))

"""The admin API's core routes: tenants and read-only SQL on the telemetry store (Ramparts.Admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ramparts.api.auth import require_scopes, services_of
from ramparts.identity.scopes import ADMIN
from ramparts.identity.tokens import Principal
from ramparts.telemetry.readonly import check_read_only, rows_as_dicts
from ramparts.tenant_lists import list_entries, remove_entry, set_entry
from ramparts.tenants import list_tenants

router = APIRouter(prefix="/api", tags=["admin"])
Admin = Annotated[Principal, Depends(require_scopes(ADMIN))]


class SqlQuery(BaseModel):
    query: str = Field(min_length=1, max_length=100_000)


class SqlResult(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]


@router.post("/sql", response_model=SqlResult)
async def run_sql(body: SqlQuery, request: Request, caller: Admin) -> SqlResult:
    """Read-only SQL over every tenant's telemetry: for the operator of the deployment only."""
    check_read_only(body.query)
    services = services_of(request)
    cap = services.settings.hunting_row_cap
    columns, rows = await run_in_threadpool(services.telemetry.query, body.query, (), cap)
    return SqlResult(columns=columns, rows=rows_as_dicts(columns, rows))


class ListEntryBody(BaseModel):
    kind: str = Field(description="sender, domain or url")
    value: str = Field(min_length=1, max_length=2048)
    action: str = Field(description="allow or block")


@router.get("/tenants/{tenant}/lists")
def tenant_lists(tenant: str, request: Request, caller: Admin) -> dict[str, Any]:
    """The tenant's allow and block entries (senders, domains, URLs)."""
    with services_of(request).sessions() as session:
        return {"value": list_entries(session, tenant)}


@router.post("/tenants/{tenant}/lists")
def set_tenant_list_entry(tenant: str, body: ListEntryBody, request: Request, caller: Admin) -> dict[str, Any]:
    """Allow or block a sender, domain or URL; an entry for a listed value changes its action. Audited."""
    with services_of(request).sessions.begin() as session:
        return set_entry(session, tenant, body.kind, body.value, body.action, actor=caller.client_id)


@router.delete("/tenants/{tenant}/lists", status_code=204)
def remove_tenant_list_entry(tenant: str, kind: str, value: str, request: Request, caller: Admin) -> None:
    """Take an entry off the lists (?kind=&value=). Audited."""
    with services_of(request).sessions.begin() as session:
        remove_entry(session, tenant, kind, value, actor=caller.client_id)


@router.get("/tenants")
def tenants(request: Request, caller: Admin) -> list[dict[str, object]]:
    with services_of(request).sessions() as session:
        return list_tenants(session)

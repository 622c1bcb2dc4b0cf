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


@router.get("/tenants")
def tenants(request: Request, caller: Admin) -> list[dict[str, object]]:
    with services_of(request).sessions() as session:
        return list_tenants(session)

"""Hunting over HTTP: Graph's runHuntingQuery, and the portal's query, schema and saved-query routes.

    POST /{v1.0|beta}/security/runHuntingQuery                         (also microsoft.graph.security.runHuntingQuery)
    POST /api/hunting/query
    GET  /api/hunting/schema
    GET  /api/hunting/saved-queries      POST /api/hunting/saved-queries      DELETE /api/hunting/saved-queries/{id}

A tenant app sees its own tenant's rows only; an admin app sees every tenant's rows, or one tenant's
when it names one. Queries count against a per-tenant sliding-window rate limit.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ramparts.api.auth import require_any_scope, require_scopes, services_of
from ramparts.errors import Forbidden
from ramparts.hunting_service import (
    SlidingWindowLimiter,
    graph_type,
    json_rows,
    parse_timespan,
    run_on_store,
    shared_limiter,
)
from ramparts.identity.scopes import ADMIN, THREAT_HUNTING_READ
from ramparts.identity.tokens import Principal
from ramparts.saved_queries import SavedQuery, delete_saved, list_saved, save_query
from ramparts.services import Services
from ramparts.telemetry.schema import TABLES
from ramparts.tenants import find_tenant

if TYPE_CHECKING:
    from ramparts.hunting import QueryResult

router = APIRouter()

HuntingReader = Annotated[Principal, Depends(require_any_scope(THREAT_HUNTING_READ, ADMIN))]
GraphHunter = Annotated[Principal, Depends(require_scopes(THREAT_HUNTING_READ))]

_LIMITER = "hunting.limiter"


class RunHuntingQueryBody(BaseModel):
    """Graph's body: `Query` and `Timespan`, also accepted in lower case as the SDKs send them."""

    model_config = ConfigDict(extra="ignore")

    query: str = Field(validation_alias=AliasChoices("Query", "query"), min_length=1)
    timespan: str | None = Field(default=None, validation_alias=AliasChoices("Timespan", "timespan"))


class HuntingQueryBody(BaseModel):
    query: str = Field(min_length=1)
    timespan: str | None = Field(default=None, description="Graph's Timespan forms; default the last 30 days")
    tenant: str | None = Field(default=None, description="Tenant name or id; admins only, default every tenant")


class SavedQueryBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(min_length=1)
    description: str = ""
    tenant: str | None = Field(default=None, description="Admins: the tenant to save it for; none = shared")


def _limiter(services: Services) -> SlidingWindowLimiter:
    rate = services.settings.hunting_rate_per_minute
    return shared_limiter(services.extras, _LIMITER, lambda: SlidingWindowLimiter(rate))


def _tenant_scope(services: Services, caller: Principal, requested: str | None) -> str | None:
    """The tenant whose rows the caller may see: its own; or, for admins, the named one or all (None)."""
    if caller.tenant_id is not None:
        if requested and requested != caller.tenant_id:
            with services.sessions() as session:
                if find_tenant(session, requested).id != caller.tenant_id:
                    raise Forbidden("an app can only query its own tenant")
        return caller.tenant_id
    if not caller.has(ADMIN):
        raise Forbidden("hunting needs a tenant app or an admin app")
    if not requested:
        return None
    with services.sessions() as session:
        return find_tenant(session, requested).id


def _run(services: Services, caller: Principal, text: str, timespan: str | None, tenant: str | None) -> QueryResult:
    now = services.clock()
    window = parse_timespan(timespan, now)
    tenant_id = _tenant_scope(services, caller, tenant)
    _limiter(services).hit(tenant_id or f"app:{caller.client_id}", now)
    settings = services.settings
    return run_on_store(
        services.telemetry,
        text,
        now=now,
        tenant_id=tenant_id,
        timespan=window,
        row_cap=settings.hunting_row_cap,
        time_budget_s=settings.hunting_time_budget_seconds,
    )


def _graph_run_hunting_query(version: str) -> Any:
    async def run_hunting_query(request: Request, body: RunHuntingQueryBody, caller: GraphHunter) -> JSONResponse:
        services = services_of(request)
        result = await run_in_threadpool(_run, services, caller, body.query, body.timespan, None)
        context = (
            f"{str(request.base_url).rstrip('/')}/{version}/$metadata#microsoft.graph.security.huntingQueryResults"
        )
        return JSONResponse(
            {
                "@odata.context": context,
                "schema": [{"name": name, "type": graph_type(kind)} for name, kind in result.columns],
                "results": json_rows(result),
            }
        )

    return run_hunting_query


for _version in ("v1.0", "beta"):
    for _name in ("runHuntingQuery", "microsoft.graph.security.runHuntingQuery"):
        router.add_api_route(
            f"/{_version}/security/{_name}",
            _graph_run_hunting_query(_version),
            methods=["POST"],
            tags=["graph"],
            name=f"{_version}_{_name}",
            summary="Run an advanced hunting query (Microsoft Graph security API)",
            response_class=JSONResponse,
        )


@router.post("/api/hunting/query", tags=["hunting"])
async def hunting_query(request: Request, body: HuntingQueryBody, caller: HuntingReader) -> dict[str, Any]:
    """Run KQL for the portal and the command line: columns with KQL types, rows, render hint."""
    services = services_of(request)
    started = time.perf_counter()
    result = await run_in_threadpool(_run, services, caller, body.query, body.timespan, body.tenant)
    return {
        "columns": [{"name": name, "type": kind} for name, kind in result.columns],
        "rows": json_rows(result),
        "render": result.render,
        "truncated": result.truncated,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }


@router.get("/api/hunting/schema", tags=["hunting"])
def hunting_schema(caller: HuntingReader) -> dict[str, Any]:
    """The hunting tables with their columns, KQL types and descriptions."""
    return {
        "tables": [
            {
                "name": table.name,
                "description": table.description,
                "columns": [
                    {"name": c.name, "type": c.type, "graphType": graph_type(c.type), "description": c.description}
                    for c in table.columns
                ],
            }
            for table in TABLES.values()
        ]
    }


def _saved_json(saved: SavedQuery) -> dict[str, Any]:
    return {
        "id": saved.id,
        "name": saved.name,
        "query": saved.query,
        "description": saved.description,
        "tenant_id": saved.tenant_id,
        "created_by": saved.created_by,
        "created_at": saved.created_at.isoformat(),
        "updated_at": saved.updated_at.isoformat(),
    }


def _owner(services: Services, caller: Principal, tenant: str | None) -> str | None:
    """Whose saved queries the caller works on: its tenant's; for admins, the named tenant's or the shared."""
    if caller.tenant_id is not None:
        return _tenant_scope(services, caller, tenant)
    if not caller.has(ADMIN):
        raise Forbidden("saved queries need a tenant app or an admin app")
    if not tenant:
        return None
    with services.sessions() as session:
        return find_tenant(session, tenant).id


@router.get("/api/hunting/saved-queries", tags=["hunting"])
def get_saved_queries(
    request: Request, caller: HuntingReader, tenant: Annotated[str | None, Query()] = None
) -> dict[str, Any]:
    services = services_of(request)
    owner = _owner(services, caller, tenant)
    with services.sessions() as session:
        return {"value": [_saved_json(s) for s in list_saved(session, owner)]}


@router.post("/api/hunting/saved-queries", tags=["hunting"], status_code=201)
def post_saved_query(request: Request, body: SavedQueryBody, caller: HuntingReader) -> dict[str, Any]:
    services = services_of(request)
    owner = _owner(services, caller, body.tenant)
    with services.sessions() as session:
        saved = save_query(
            session,
            tenant_id=owner,
            name=body.name,
            query=body.query,
            description=body.description,
            created_by=caller.client_id,
            now=services.clock(),
        )
        session.commit()
        return _saved_json(saved)


@router.delete("/api/hunting/saved-queries/{query_id}", tags=["hunting"], status_code=204)
def delete_saved_query(
    request: Request, query_id: str, caller: HuntingReader, tenant: Annotated[str | None, Query()] = None
) -> None:
    services = services_of(request)
    owner = _owner(services, caller, tenant)
    with services.sessions() as session:
        delete_saved(session, owner, query_id)
        session.commit()

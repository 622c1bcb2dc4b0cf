"""The vendor (ICES) API: vendors submit verdicts on delivered mail and follow the mail they may judge.

    POST /ices/v1/verdicts                one verdict          -> 202 {id, status, ...} + Location
    POST /ices/v1/verdicts:batch          up to 1,000          -> 202 {value: [{id, status, ...}]}
    POST /ices/v1/verdicts/batch          (the same, for clients that dislike ':')
    GET  /ices/v1/verdicts/{id}           pending, or what the verdict did (only its submitter sees it)

A submission is stored and answered (202, status "pending", or the stored status of a replay); the
applier (vendors.applier) applies it in the background, and the status URL reports the outcome.
    GET  /ices/v1/messages?since=&$top=   recent copies of the tenants that approved the vendor
    GET  /ices/v1/ping                    authenticated no-op (benchmarks, health checks)

Every route needs a vendor app's token with Ices.Verdict.Submit (401 for a missing, expired, forged
or revoked token; 403 without the scope, for a non-vendor app, or when the vendor is suspended).
Request bodies over MAX_BODY bytes are refused with 413 before they are read in full.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from ramparts.api.auth import require_scopes, services_of
from ramparts.errors import InvalidInput, NotFound
from ramparts.identity.scopes import VERDICT_SUBMIT
from ramparts.identity.tokens import Principal
from ramparts.vendors.applier import background_applier
from ramparts.vendors.intake import (
    Accepted,
    VendorCaller,
    VerdictBatch,
    VerdictSubmission,
    accept,
    vendor_caller,
    verdict_status,
)
from ramparts.vendors.listing import MAX_PAGE, list_messages

MAX_BODY = 5 * 1024 * 1024
PREFIX = "/ices/v1"


class _LimitedRequest(Request):
    """A request whose body may not exceed MAX_BODY bytes (declared or streamed)."""

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            declared = self.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BODY:
                raise HTTPException(413, f"request body over {MAX_BODY} bytes")
            chunks: list[bytes] = []
            size = 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > MAX_BODY:
                    raise HTTPException(413, f"request body over {MAX_BODY} bytes")
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body


class _LimitedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            return await original(_LimitedRequest(request.scope, request.receive))

        return handler


router = APIRouter(prefix=PREFIX, tags=["ices"], route_class=_LimitedRoute)
Submitter = Annotated[Principal, Depends(require_scopes(VERDICT_SUBMIT))]


async def _caller(request: Request, principal: Principal) -> VendorCaller:
    return await run_in_threadpool(vendor_caller, services_of(request), principal)


@router.post("/verdicts", status_code=202, summary="Submit one verdict")
async def submit_one(
    body: VerdictSubmission, request: Request, response: Response, principal: Submitter
) -> dict[str, Any]:
    (outcome,) = await _accept(request, principal, [body])
    if outcome.status == "notFound":
        raise NotFound("message not found")
    response.headers["Location"] = f"{PREFIX}/verdicts/{outcome.id}"
    return {**outcome.as_json(), "location": f"{PREFIX}/verdicts/{outcome.id}"}


async def _accept(request: Request, principal: Principal, items: list[VerdictSubmission]) -> list[Accepted]:
    services = services_of(request)

    def run() -> list[Accepted]:
        answers = accept(services, vendor_caller(services, principal), items)
        if any(a.status == "pending" for a in answers):
            background_applier(services).wake()
        return answers

    return await run_in_threadpool(run)


async def submit_batch(body: VerdictBatch, request: Request, principal: Submitter) -> dict[str, Any]:
    """Up to 1,000 verdicts in one transaction; each answers on its own (pending, or notFound)."""
    outcomes = await _accept(request, principal, body.verdicts)
    value = []
    for outcome in outcomes:
        item = outcome.as_json()
        if outcome.id:
            item["location"] = f"{PREFIX}/verdicts/{outcome.id}"
        value.append(item)
    return {"value": value}


for _path, _name in (("/verdicts:batch", "submit_batch"), ("/verdicts/batch", "submit_batch_slash")):
    router.add_api_route(
        _path, submit_batch, methods=["POST"], status_code=202, name=_name, summary="Submit up to 1,000 verdicts"
    )


@router.get("/verdicts/{verdict_id}", summary="What a verdict did")
async def get_verdict(verdict_id: str, request: Request, principal: Submitter) -> dict[str, Any]:
    caller = await _caller(request, principal)
    result: dict[str, Any] = await run_in_threadpool(verdict_status, services_of(request), caller, verdict_id)
    return result


@router.get("/messages", summary="Recent message copies of the tenants that approved the vendor")
async def get_messages(
    request: Request,
    principal: Submitter,
    since: Annotated[dt.datetime | None, Query(description="ISO 8601; default: 48 hours ago")] = None,
    top: Annotated[int, Query(alias="$top", ge=1, le=MAX_PAGE)] = 200,
    skiptoken: Annotated[str, Query(alias="$skiptoken", max_length=1000)] = "",
) -> dict[str, Any]:
    services = services_of(request)
    caller = await _caller(request, principal)
    start = since or services.clock() - dt.timedelta(hours=48)
    if start.tzinfo is None:
        raise InvalidInput("since needs a time zone (e.g. 2026-03-01T00:00:00Z)", field="since")
    items, token = await run_in_threadpool(
        list_messages, services, caller, since=start, top=top, skiptoken=skiptoken.strip()
    )
    body: dict[str, Any] = {"value": items}
    if token:
        query = urlencode({"since": start.isoformat().replace("+00:00", "Z"), "$top": top, "$skiptoken": token})
        body["@odata.nextLink"] = f"{str(request.base_url).rstrip('/')}{PREFIX}/messages?{query}"
    return body


@router.get("/feedback", summary="False positives admins found among the vendor's verdicts")
async def get_feedback(
    request: Request,
    principal: Submitter,
    since: Annotated[dt.datetime | None, Query(description="ISO 8601; default: 7 days ago")] = None,
    top: Annotated[int, Query(alias="$top", ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Copies the vendor judged worse than Clean that an admin released from quarantine or reported clean,
    oldest first; poll again with since = the last item's `at`."""
    from ramparts.vendors.feedback import feedback_for

    services = services_of(request)
    caller = await _caller(request, principal)
    start = since or services.clock() - dt.timedelta(days=7)
    if start.tzinfo is None:
        raise InvalidInput("since needs a time zone (e.g. 2026-03-01T00:00:00Z)", field="since")

    def read() -> list[dict[str, Any]]:
        with services.sessions() as session:
            return feedback_for(session, caller.vendor_id, start, top)

    return {"value": await run_in_threadpool(read)}


@router.get("/ping", summary="Authenticated no-op")
async def ping(principal: Submitter) -> dict[str, str]:
    """Checks the token and its scope, nothing else: the baseline the benchmark compares against."""
    return {"status": "ok", "clientId": principal.client_id}

"""runHuntingQuery (Graph shape) and the portal's hunting routes, in-process, on a real DuckDB store."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ramparts.api.app import create_app
from ramparts.identity import ADMIN, THREAT_HUNTING_READ
from ramparts.services import Services
from tests.identity.support import FakeClock, add_app, add_tenants, bearer, make_services, token_for

pytestmark = pytest.mark.anyio

GRAPH_PATHS = [
    "/v1.0/security/runHuntingQuery",
    "/v1.0/security/microsoft.graph.security.runHuntingQuery",
    "/beta/security/runHuntingQuery",
    "/beta/security/microsoft.graph.security.runHuntingQuery",
]
RUN = GRAPH_PATHS[0]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings() -> dict[str, Any]:
    return {"hunting_rate_per_minute": 1000}


@pytest.fixture
def services(tmp_path: Path, clock: FakeClock, settings: dict[str, Any]) -> Iterator[Services]:
    opened = make_services(tmp_path / "data", clock, **settings)
    yield opened
    opened.close()


@pytest.fixture
def tenants(services: Services) -> dict[str, str]:
    ids = add_tenants(services, "contoso", "fabrikam")
    now = services.clock()

    def row(tenant: str, n: int, age: dt.timedelta) -> dict[str, Any]:
        return {
            "Timestamp": now - age,
            "NetworkMessageId": f"{tenant}-{n}",
            "RecipientEmailAddress": f"user{n}@{tenant}.example",
            "SenderFromAddress": "news@sender.example",
            "Subject": f"{tenant} message {n}",
            "EmailSize": 1000 + n,
            "TenantId": ids[tenant],
        }

    rows = [
        row("contoso", 1, dt.timedelta(hours=1)),
        row("contoso", 2, dt.timedelta(days=10)),
        row("contoso", 3, dt.timedelta(days=40)),
        row("fabrikam", 1, dt.timedelta(hours=2)),
        row("fabrikam", 2, dt.timedelta(hours=3)),
    ]
    services.writer.add({"EmailEvents": rows})
    services.writer.flush()
    return ids


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://ramparts.test") as opened:
        yield opened


async def _tenant_token(client: httpx.AsyncClient, services: Services, tenant_id: str) -> dict[str, str]:
    return bearer(await token_for(client, *add_app(services, scopes=[THREAT_HUNTING_READ], tenant_id=tenant_id)))


async def _admin_token(client: httpx.AsyncClient, services: Services) -> dict[str, str]:
    return bearer(await token_for(client, *add_app(services, scopes=[ADMIN, THREAT_HUNTING_READ], kind="admin")))


@pytest.mark.parametrize("path", GRAPH_PATHS)
async def test_graph_shape(client: httpx.AsyncClient, services: Services, tenants: dict[str, str], path: str) -> None:
    headers = await _tenant_token(client, services, tenants["contoso"])
    query = "EmailEvents | project Timestamp, Subject, EmailSize | order by Timestamp desc | take 5"
    response = await client.post(path, json={"Query": query}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    version = path.split("/")[1]
    assert body["@odata.context"] == (
        f"http://ramparts.test/{version}/$metadata#microsoft.graph.security.huntingQueryResults"
    )
    assert body["schema"] == [
        {"name": "Timestamp", "type": "DateTime"},
        {"name": "Subject", "type": "String"},
        {"name": "EmailSize", "type": "Int64"},
    ]
    assert [r["Subject"] for r in body["results"]] == ["contoso message 1", "contoso message 2"]
    first = body["results"][0]
    assert first["EmailSize"] == 1001
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", first["Timestamp"])
    assert dt.datetime.fromisoformat(first["Timestamp"]) == services.clock() - dt.timedelta(hours=1)


async def test_lower_case_body_as_the_sdk_sends_it(
    client: httpx.AsyncClient, services: Services, tenants: dict[str, str]
) -> None:
    headers = await _tenant_token(client, services, tenants["contoso"])
    response = await client.post(RUN, json={"query": "EmailEvents | count", "timespan": "P60D"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["results"] == [{"Count": 3}]
    assert response.json()["schema"] == [{"name": "Count", "type": "Int64"}]


async def test_a_tenant_never_sees_another_tenants_rows(
    client: httpx.AsyncClient, services: Services, tenants: dict[str, str]
) -> None:
    for name, other in (("contoso", "fabrikam"), ("fabrikam", "contoso")):
        headers = await _tenant_token(client, services, tenants[name])
        everything = await client.post(
            RUN, json={"Query": "EmailEvents | summarize n = count() by TenantId", "Timespan": "P90D"}, headers=headers
        )
        assert everything.status_code == 200, everything.text
        assert {r["TenantId"] for r in everything.json()["results"]} == {tenants[name]}
        asked = await client.post(
            RUN,
            json={"Query": f"EmailEvents | where TenantId == '{tenants[other]}' or Subject has '{other}'"},
            headers=headers,
        )
        assert asked.status_code == 200
        assert asked.json()["results"] == []
        portal = await client.post(
            "/api/hunting/query", json={"query": "EmailEvents", "tenant": other}, headers=headers
        )
        assert portal.status_code == 403


async def test_admin_sees_every_tenant_or_the_one_named(
    client: httpx.AsyncClient, services: Services, tenants: dict[str, str]
) -> None:
    headers = await _admin_token(client, services)
    body = {"query": "EmailEvents | summarize n = count() by TenantId | order by n desc"}
    everything = await client.post("/api/hunting/query", json=body, headers=headers)
    assert everything.status_code == 200, everything.text
    assert {(r["TenantId"], r["n"]) for r in everything.json()["rows"]} == {
        (tenants["contoso"], 2),
        (tenants["fabrikam"], 2),
    }
    one = await client.post("/api/hunting/query", json={**body, "tenant": "fabrikam"}, headers=headers)
    assert [r["TenantId"] for r in one.json()["rows"]] == [tenants["fabrikam"]]


@pytest.mark.parametrize(
    ("timespan", "expected"),
    [
        (None, {"contoso-1", "contoso-2"}),  # default: the last 30 days
        ("P5D", {"contoso-1"}),
        ("PT30M", set()),
        ("P60D", {"contoso-1", "contoso-2", "contoso-3"}),
        ("2026-01-01T00:00:00Z/2026-01-30T00:00:00Z", {"contoso-3"}),  # start/end (now is 2026-03-01)
        ("P20D/2026-02-25T00:00:00Z", {"contoso-2"}),  # duration before an end
        ("2026-02-15T00:00:00Z/P30D", {"contoso-1", "contoso-2"}),  # start and duration
        ("2026-02-25T00:00:00Z", {"contoso-1"}),  # start until now
    ],
)
async def test_timespan_forms(
    client: httpx.AsyncClient, services: Services, tenants: dict[str, str], timespan: str | None, expected: set[str]
) -> None:
    headers = await _tenant_token(client, services, tenants["contoso"])
    body: dict[str, str] = {"Query": "EmailEvents | project NetworkMessageId"}
    if timespan is not None:
        body["Timespan"] = timespan
    response = await client.post(RUN, json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert {r["NetworkMessageId"] for r in response.json()["results"]} == expected


@pytest.mark.parametrize("timespan", ["P1M", "yesterday", "P", "2026-02-01T00:00:00Z/2026-01-01T00:00:00Z", "P1D/P2D"])
async def test_bad_timespans_are_400(
    client: httpx.AsyncClient, services: Services, tenants: dict[str, str], timespan: str
) -> None:
    headers = await _tenant_token(client, services, tenants["contoso"])
    response = await client.post(RUN, json={"Query": "EmailEvents", "Timespan": timespan}, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "badRequest"


async def test_kql_errors_are_400_with_line_and_column(
    client: httpx.AsyncClient, services: Services, tenants: dict[str, str]
) -> None:
    headers = await _tenant_token(client, services, tenants["contoso"])
    response = await client.post(RUN, json={"Query": "EmailEvents\n| whre Subject has 'x'"}, headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert re.search(r"\(line 2, column \d+\)$", error["message"]), error["message"]
    assert error["line"] == 2


async def test_missing_query_is_400(client: httpx.AsyncClient, services: Services, tenants: dict[str, str]) -> None:
    headers = await _tenant_token(client, services, tenants["contoso"])
    response = await client.post(RUN, json={"Timespan": "P1D"}, headers=headers)
    assert response.status_code == 400


@pytest.mark.parametrize("settings", [{"hunting_rate_per_minute": 3}])
async def test_rate_limit_per_tenant_with_retry_after(
    client: httpx.AsyncClient, services: Services, clock: FakeClock, tenants: dict[str, str]
) -> None:
    contoso = await _tenant_token(client, services, tenants["contoso"])
    fabrikam = await _tenant_token(client, services, tenants["fabrikam"])
    body = {"Query": "EmailEvents | count"}
    for _ in range(2):
        assert (await client.post(RUN, json=body, headers=contoso)).status_code == 200
    clock.advance(seconds=20)
    assert (await client.post(RUN, json=body, headers=contoso)).status_code == 200
    refused = await client.post(RUN, json=body, headers=contoso)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "40"
    assert refused.json()["error"]["code"] == "tooManyRequests"
    # the portal route counts against the same tenant budget; another tenant has its own
    assert (await client.post("/api/hunting/query", json={"query": "EmailEvents"}, headers=contoso)).status_code == 429
    assert (await client.post(RUN, json=body, headers=fabrikam)).status_code == 200
    clock.advance(seconds=40)  # the two first calls leave the window
    assert (await client.post(RUN, json=body, headers=contoso)).status_code == 200
    assert (await client.post(RUN, json=body, headers=contoso)).status_code == 200
    assert (await client.post(RUN, json=body, headers=contoso)).status_code == 429


@pytest.mark.parametrize("settings", [{"hunting_row_cap": 2}])
async def test_row_cap_truncates(client: httpx.AsyncClient, services: Services, tenants: dict[str, str]) -> None:
    headers = await _admin_token(client, services)
    graph = await client.post(RUN, json={"Query": "EmailEvents", "Timespan": "P90D"}, headers=headers)
    assert graph.status_code == 200
    assert len(graph.json()["results"]) == 2
    portal = await client.post("/api/hunting/query", json={"query": "EmailEvents", "timespan": "P90D"}, headers=headers)
    assert len(portal.json()["rows"]) == 2
    assert portal.json()["truncated"] is True
    small = await client.post("/api/hunting/query", json={"query": "EmailEvents | take 1"}, headers=headers)
    assert small.json()["truncated"] is False


async def test_portal_query_shape(client: httpx.AsyncClient, services: Services, tenants: dict[str, str]) -> None:
    headers = await _tenant_token(client, services, tenants["contoso"])
    response = await client.post(
        "/api/hunting/query",
        json={"query": "EmailEvents | summarize n = count() by bin(Timestamp, 1d) | render timechart"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == [{"name": "Timestamp", "type": "datetime"}, {"name": "n", "type": "long"}]
    assert body["render"] == "timechart"
    assert body["truncated"] is False
    assert sum(r["n"] for r in body["rows"]) == 2
    assert isinstance(body["elapsed_ms"], float)


async def test_schema_lists_tables_columns_and_types(
    client: httpx.AsyncClient, services: Services, tenants: dict[str, str]
) -> None:
    headers = await _tenant_token(client, services, tenants["contoso"])
    body = (await client.get("/api/hunting/schema", headers=headers)).json()
    tables = {t["name"]: t for t in body["tables"]}
    assert set(tables) == {
        "EmailEvents",
        "EmailPostDeliveryEvents",
        "EmailUrlInfo",
        "EmailAttachmentInfo",
        "UrlClickEvents",
    }
    timestamp = tables["EmailEvents"]["columns"][0]
    assert (timestamp["name"], timestamp["type"], timestamp["graphType"]) == ("Timestamp", "datetime", "DateTime")
    assert timestamp["description"]


async def test_saved_queries_per_tenant(client: httpx.AsyncClient, services: Services, tenants: dict[str, str]) -> None:
    contoso = await _tenant_token(client, services, tenants["contoso"])
    fabrikam = await _tenant_token(client, services, tenants["fabrikam"])
    admin = await _admin_token(client, services)
    saved = await client.post(
        "/api/hunting/saved-queries",
        json={"name": "phish", "query": "EmailEvents | where ThreatTypes has 'Phish'", "description": "d"},
        headers=contoso,
    )
    assert saved.status_code == 201, saved.text
    shared = await client.post(
        "/api/hunting/saved-queries", json={"name": "all mail", "query": "EmailEvents"}, headers=admin
    )
    assert shared.status_code == 201
    assert shared.json()["tenant_id"] is None
    replaced = await client.post(
        "/api/hunting/saved-queries", json={"name": "phish", "query": "EmailEvents | take 1"}, headers=contoso
    )
    assert replaced.json()["id"] == saved.json()["id"]

    listed = (await client.get("/api/hunting/saved-queries", headers=contoso)).json()["value"]
    assert [(q["name"], q["query"]) for q in listed] == [("all mail", "EmailEvents"), ("phish", "EmailEvents | take 1")]
    assert [q["name"] for q in (await client.get("/api/hunting/saved-queries", headers=fabrikam)).json()["value"]] == [
        "all mail"
    ]
    # another tenant cannot delete it, nor can a tenant delete the shared one
    qid = saved.json()["id"]
    assert (await client.delete(f"/api/hunting/saved-queries/{qid}", headers=fabrikam)).status_code == 404
    shared_id = shared.json()["id"]
    assert (await client.delete(f"/api/hunting/saved-queries/{shared_id}", headers=contoso)).status_code == 404
    assert (await client.delete(f"/api/hunting/saved-queries/{qid}", headers=contoso)).status_code == 204
    assert (await client.delete(f"/api/hunting/saved-queries/{shared_id}", headers=admin)).status_code == 204
    assert (await client.get("/api/hunting/saved-queries", headers=contoso)).json()["value"] == []

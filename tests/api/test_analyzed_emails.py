"""Graph-compatible analyzedEmails: list with $filter/$top/paging, get, tenant isolation, remediate."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from ramparts.api.app import create_app
from ramparts.identity.scopes import ANALYZED_MESSAGE_READ, ANALYZED_MESSAGE_READ_WRITE, THREAT_HUNTING_READ
from ramparts.services import Services, utc_clock
from tests.identity.support import add_app, add_tenants, bearer, make_services, token_for

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    opened = make_services(tmp_path / "data", utc_clock)  # type: ignore[arg-type]
    yield opened
    opened.close()


def seed(services: Services) -> dict[str, str]:
    ids = add_tenants(services, "contoso", "fabrikam")
    events = []
    for i in range(7):
        tenant = "fabrikam" if i == 6 else "contoso"
        phish = i in (1, 4)
        moved = {2: ("Moved to junk folder", "Junk folder"), 3: ("Soft delete", "Deleted items")}.get(i)
        latest = moved or (("Blocked", "Quarantine") if phish else ("Delivered", "Inbox/folder"))
        events.append(
            {
                "Timestamp": NOW - dt.timedelta(minutes=i),
                "NetworkMessageId": f"nmid-{i}",
                "InternetMessageId": f"<m{i}@partner.example>",
                "SenderFromAddress": "it-support@c0ntoso.com" if phish else "adele@partner.example",
                "SenderFromDomain": "c0ntoso.com" if phish else "partner.example",
                "SenderDisplayName": "IT Desk" if phish else "Adele Vance",
                "SenderMailFromAddress": "bounce@partner.example",
                "SenderIPv4": "203.0.113.7",
                "RecipientEmailAddress": f"user{i}@{tenant}.example",
                "RecipientDomain": f"{tenant}.example",
                "Subject": "Verify your password" if phish else f"Report {i}",
                "EmailDirection": "Inbound",
                "DeliveryAction": "Blocked" if phish else "Delivered",
                "DeliveryLocation": "Quarantine" if phish else "Inbox/folder",
                "LatestDeliveryAction": latest[0],
                "LatestDeliveryLocation": latest[1],
                "ThreatTypes": "Phish, Spam" if phish else "",
                "OriginalThreatTypes": "Phish, Spam" if phish else "",
                "DetectionMethods": '{"Phish":["Impersonation domain"]}' if phish else "",
                "ConfidenceLevel": '{"Phish":"High","Spam":"5"}' if phish else "",
                "AuthenticationDetails": '{"SPF":"fail","DKIM":"none","DMARC":"fail","CompAuth":"fail"}',
                "BulkComplaintLevel": 1,
                "EmailSize": 2048 + i,
                "EmailClusterId": 42,
                "ReportId": f"r{i}",
                "TenantId": ids[tenant],
            }
        )
    urls = [
        {
            "Timestamp": NOW,
            "NetworkMessageId": "nmid-1",
            "Url": "http://login.c0ntoso.com/owa",
            "UrlDomain": "login.c0ntoso.com",
            "UrlLocation": "Body",
            "ReportId": "u1",
            "TenantId": ids["contoso"],
        }
    ]
    files = [
        {
            "Timestamp": NOW,
            "NetworkMessageId": "nmid-0",
            "RecipientEmailAddress": "user0@contoso.example",
            "FileName": "report.pdf",
            "FileType": "pdf",
            "SHA256": "ab" * 32,
            "FileSize": 900,
            "ThreatTypes": "",
            "ReportId": "f0",
            "TenantId": ids["contoso"],
        }
    ]
    services.writer.add({"EmailEvents": events, "EmailUrlInfo": urls, "EmailAttachmentInfo": files})
    services.writer.flush()
    return ids


async def _client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def call(services: Services, scopes: list[str], tenant: str, method: str, path: str, **kw: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        client_id, secret = add_app(services, scopes=scopes, tenant_id=tenant)
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            token = await token_for(client, client_id, secret)
            return await client.request(method, path, headers=bearer(token), **kw)

    return anyio.run(run)


def test_list_is_newest_first_and_confined_to_the_tenant(services: Services) -> None:
    ids = seed(services)
    response = call(
        services, [ANALYZED_MESSAGE_READ], ids["contoso"], "GET", "/v1.0/security/collaboration/analyzedEmails"
    )
    assert response.status_code == 200
    body = response.json()
    assert [e["networkMessageId"] for e in body["value"]] == [f"nmid-{i}" for i in range(6)]
    first, phish = body["value"][0], body["value"][1]
    assert first["attachments"][0]["fileName"] == "report.pdf" and first["attachments"][0]["sha256"] == "ab" * 32
    assert phish["threatTypes"] == ["phish", "spam"]
    assert phish["latestDelivery"] == {
        "action": "blocked",
        "location": "quarantine",
        "originalThreats": "Phish, Spam",
        "latestThreats": "Phish, Spam",
    }
    assert phish["urls"] == [{"url": "http://login.c0ntoso.com/owa", "threatType": "none", "detectionMethod": ""}]
    assert phish["senderDetail"]["fromAddress"] == "it-support@c0ntoso.com"
    assert phish["authenticationDetails"]["dmarc"] == "fail"
    assert phish["phishConfidenceLevel"] == "High" and phish["bulkComplaintLevel"] == "1"
    assert phish["detectionMethods"] == ["Impersonation domain"]
    assert phish["directionality"] == "inbound"
    moved = body["value"][2]["latestDelivery"]
    assert (moved["action"], moved["location"]) == ("deliveredToJunk", "junkFolder")
    assert body["value"][2]["originalDelivery"]["action"] == "delivered"
    deleted = body["value"][3]["latestDelivery"]
    assert (deleted["action"], deleted["location"]) == ("unknown", "deletedFolder")


@pytest.mark.parametrize(
    ("odata", "expected"),
    [
        ("networkMessageId eq 'nmid-3'", ["nmid-3"]),
        ("networkMessageId eq 'nmid-3' and recipientEmailAddress eq 'USER3@contoso.example'", ["nmid-3"]),
        ("threatTypes/any(t: t eq 'phish')", ["nmid-1", "nmid-4"]),
        ("latestDelivery/location eq 'quarantine'", ["nmid-1", "nmid-4"]),
        ("latestDelivery/action eq 'deliveredToJunk'", ["nmid-2"]),
        ("latestDelivery/action eq 'unknown'", ["nmid-3"]),
        ("latestDelivery/action in ('blocked', 'deliveredToJunk')", ["nmid-1", "nmid-2", "nmid-4"]),
        ("latestDelivery/action ne 'delivered'", ["nmid-1", "nmid-2", "nmid-3", "nmid-4"]),
        ("latestDelivery/action eq 'replaced'", []),
        ("originalDelivery/action eq 'delivered'", ["nmid-0", "nmid-2", "nmid-3", "nmid-5"]),
        ("contains(subject, 'password') or senderDetail/domainName eq 'nobody.example'", ["nmid-1", "nmid-4"]),
        ("startswith(subject, 'Report') and not (networkMessageId in ('nmid-0', 'nmid-2'))", ["nmid-3", "nmid-5"]),
        ("networkMessageId eq 'nmid-6'", []),
    ],
)
def test_filters(services: Services, odata: str, expected: list[str]) -> None:
    ids = seed(services)
    response = call(
        services,
        [ANALYZED_MESSAGE_READ],
        ids["contoso"],
        "GET",
        "/v1.0/security/collaboration/analyzedEmails",
        params={"$filter": odata},
    )
    assert response.status_code == 200, response.text
    assert [e["networkMessageId"] for e in response.json()["value"]] == expected


def test_bad_filters_name_the_problem(services: Services) -> None:
    ids = seed(services)
    for odata, words in [
        ("colour eq 'blue'", "cannot filter on 'colour'"),
        ("subject eq", "invalid $filter"),
        ("latestDelivery/action gt 'blocked'", "only eq, ne and in"),
    ]:
        response = call(
            services,
            [ANALYZED_MESSAGE_READ],
            ids["contoso"],
            "GET",
            "/v1.0/security/collaboration/analyzedEmails",
            params={"$filter": odata},
        )
        assert response.status_code == 400
        assert words in response.json()["error"]["message"]


def test_paging_with_next_link_and_count(services: Services) -> None:
    ids = seed(services)

    async def run() -> list[list[str]]:
        client_id, secret = add_app(services, scopes=[ANALYZED_MESSAGE_READ], tenant_id=ids["contoso"])
        transport = httpx.ASGITransport(app=create_app(services))
        pages: list[list[str]] = []
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            headers = bearer(await token_for(client, client_id, secret))
            url: str | None = "/v1.0/security/collaboration/analyzedEmails?$top=4&$count=true"
            while url:
                body = (await client.get(url, headers=headers)).json()
                if not pages:
                    assert body["@odata.count"] == 6
                pages.append([e["networkMessageId"] for e in body["value"]])
                url = body.get("@odata.nextLink")
        return pages

    assert anyio.run(run) == [["nmid-0", "nmid-1", "nmid-2", "nmid-3"], ["nmid-4", "nmid-5"]]


def test_get_by_id_and_isolation(services: Services) -> None:
    ids = seed(services)
    own = call(
        services, [ANALYZED_MESSAGE_READ], ids["contoso"], "GET", "/v1.0/security/collaboration/analyzedEmails/r1"
    )
    assert own.status_code == 200 and own.json()["networkMessageId"] == "nmid-1"
    other = call(
        services, [ANALYZED_MESSAGE_READ], ids["fabrikam"], "GET", "/v1.0/security/collaboration/analyzedEmails/r1"
    )
    assert other.status_code == 404


def test_scopes_are_enforced(services: Services) -> None:
    ids = seed(services)
    wrong = call(services, [THREAT_HUNTING_READ], ids["contoso"], "GET", "/v1.0/security/collaboration/analyzedEmails")
    assert wrong.status_code == 403 and "SecurityAnalyzedMessage" in wrong.json()["error"]["message"]
    body = {
        "action": "moveToJunk",
        "analyzedEmails": [{"networkMessageId": "nmid-0", "recipientEmailAddress": "user0@contoso.example"}],
    }
    read_only = call(
        services,
        [ANALYZED_MESSAGE_READ],
        ids["contoso"],
        "POST",
        "/v1.0/security/collaboration/analyzedEmails/remediate",
        json=body,
    )
    assert read_only.status_code == 403
    unauthenticated = anyio.run(_anonymous, services)
    assert unauthenticated == 401


async def _anonymous(services: Services) -> int:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return (await client.get("/v1.0/security/collaboration/analyzedEmails")).status_code


def test_remediate_answers_202_with_a_status_location(services: Services) -> None:
    ids = seed(services)
    body = {
        "displayName": "move phish",
        "severity": "high",
        "action": "moveToJunk",
        "analyzedEmails": [{"networkMessageId": "nmid-0", "recipientEmailAddress": "user0@contoso.example"}],
    }
    response = call(
        services,
        [ANALYZED_MESSAGE_READ_WRITE],
        ids["contoso"],
        "POST",
        "/v1.0/security/collaboration/analyzedEmails/microsoft.graph.security.remediate",
        json=body,
    )
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    assert "/api/remediations/" in location
    deadline = time.monotonic() + 10
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = call(
            services, [ANALYZED_MESSAGE_READ_WRITE], ids["contoso"], "GET", location.replace("http://testserver", "")
        ).json()
        if status["status"] == "completed":
            break
        time.sleep(0.05)
    assert status["status"] == "completed"
    assert status["items"][0]["networkMessageId"] == "nmid-0"
    bad = call(
        services,
        [ANALYZED_MESSAGE_READ_WRITE],
        ids["contoso"],
        "POST",
        "/v1.0/security/collaboration/analyzedEmails/remediate",
        json={**body, "action": "explode"},
    )
    assert bad.status_code == 400 and "action" in bad.json()["error"]["message"]

"""Attack Factor from the hunting tables: which rows count as attacks, exposure from post-delivery removals,
tenant confinement; and the /api/risk/attacked route's permissions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from ramparts.api.app import create_app
from ramparts.identity.scopes import ADMIN, RISK_READ, THREAT_HUNTING_READ
from ramparts.risk.report import most_attacked
from ramparts.services import Services
from tests.identity.support import FakeClock, add_app, add_tenants, bearer, make_services, token_for

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


def event(
    tenant_id: str, nmid: str, recipient: str, threats: str, action: str = "Blocked", **extra: Any
) -> dict[str, Any]:
    return {
        "Timestamp": NOW - dt.timedelta(hours=1),
        "NetworkMessageId": nmid,
        "RecipientEmailAddress": recipient,
        "EmailDirection": "Inbound",
        "ThreatTypes": threats,
        "DeliveryAction": action,
        "DetectionMethods": extra.pop("methods", ""),
        "ReportId": f"{nmid}-{recipient}",
        "TenantId": tenant_id,
        **extra,
    }


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Services, dict[str, str]]]:
    services = make_services(tmp_path / "data", FakeClock(NOW))
    ids = add_tenants(services, "contoso", "fabrikam")
    c, f = ids["contoso"], ids["fabrikam"]
    events = [
        event(c, "m1", "ceo@contoso.example", "Phish", methods='{"Phish":["Impersonation user"]}'),
        event(c, "m2", "ceo@contoso.example", "Phish", methods='{"Phish":["Spoof intra-org"]}'),
        event(c, "m3", "Clerk@contoso.example", "Malware"),
        event(c, "m4", "clerk@contoso.example", "", action="Delivered"),  # clean, later removed by a vendor
        event(c, "m5", "intern@contoso.example", "Spam"),  # spam is no attack
        event(c, "m6", "intern@contoso.example", "Phish", EmailDirection="Outbound"),
        event(c, "m7", "old@contoso.example", "Phish", Timestamp=NOW - dt.timedelta(days=90)),
        event(f, "m8", "ceo@fabrikam.example", "Malware"),
    ]
    removals = [
        {
            "Timestamp": NOW - dt.timedelta(minutes=30),
            "NetworkMessageId": "m4",
            "RecipientEmailAddress": "clerk@contoso.example",
            "ActionType": "Third-party remediation",
            "ActionResult": "Success",
            "ThreatTypes": "Phish",
            "ReportId": "p4",
            "TenantId": c,
        }
    ]
    services.writer.add({"EmailEvents": events, "EmailPostDeliveryEvents": removals})
    services.writer.flush()
    yield services, ids
    services.close()


def test_attacks_are_inbound_phish_and_malware_of_the_last_sixty_days(seeded: tuple[Services, dict[str, str]]) -> None:
    services, ids = seeded
    report = most_attacked(services.telemetry, ids["contoso"], NOW)
    people = {p["person"]: p for p in report["people"]}
    assert set(people) == {"ceo@contoso.example", "clerk@contoso.example"}
    ceo, clerk = people["ceo@contoso.example"], people["clerk@contoso.example"]
    assert ceo["byFamily"] == {"impersonation": pytest.approx(6.0, rel=0.01)}
    # one blocked malware (1.5) and one clean delivery a vendor removed later (phish 1, doubled)
    assert clerk["byFamily"] == {"malware": pytest.approx(1.5, rel=0.01), "phish": pytest.approx(2.0, rel=0.01)}
    assert (clerk["threats"], clerk["exposed"]) == (2, 1)
    assert report["people"][0]["person"] == "ceo@contoso.example"
    assert report["reference"] == 6.0 and report["people"][0]["attackFactor"] == 10.0
    fabrikam = most_attacked(services.telemetry, ids["fabrikam"], NOW)
    assert [p["person"] for p in fabrikam["people"]] == ["ceo@fabrikam.example"]


def _get(services: Services, path: str, token: str | None, **params: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(path, params=params, headers=bearer(token) if token else {})

    return anyio.run(run)


def _token(services: Services, scopes: list[str], tenant_id: str | None = None, kind: str = "tenant_app") -> str:
    client_id, secret = add_app(services, scopes=scopes, tenant_id=tenant_id, kind=kind)  # type: ignore[arg-type]

    async def run() -> str:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await token_for(client, client_id, secret)

    return anyio.run(run)


def test_the_route_scores_the_callers_tenant_only(seeded: tuple[Services, dict[str, str]]) -> None:
    services, ids = seeded
    fabrikam = _token(services, [RISK_READ], ids["fabrikam"])
    answer = _get(services, "/api/risk/attacked", fabrikam, tenant="contoso")
    assert answer.status_code == 200, answer.text
    assert [p["person"] for p in answer.json()["people"]] == ["ceo@fabrikam.example"]
    admin = _token(services, [ADMIN], kind="admin")
    assert _get(services, "/api/risk/attacked", admin).status_code == 400
    contoso = _get(services, "/api/risk/attacked", admin, tenant="contoso", top=1).json()
    assert [p["person"] for p in contoso["people"]] == ["ceo@contoso.example"]
    assert contoso["peopleAttacked"] == 2
    behaviour = _get(services, "/api/risk/behaviour", fabrikam)
    assert behaviour.status_code == 200 and behaviour.json()["hasClickData"] is False
    hunter = _token(services, [THREAT_HUNTING_READ], ids["contoso"])
    assert _get(services, "/api/risk/attacked", hunter).status_code == 403
    assert _get(services, "/api/risk/behaviour", hunter).status_code == 403
    assert _get(services, "/api/risk/attacked", None).status_code == 401

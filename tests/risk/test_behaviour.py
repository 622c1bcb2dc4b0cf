"""Human risk score from clicks: points per kind of click, decay, clamp and bands; and from the tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ramparts.risk.behaviour import Clicks, band, score
from ramparts.risk.report import riskiest_clickers
from ramparts.services import Services
from tests.identity.support import FakeClock, add_tenants, make_services

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
TODAY = dt.datetime(2026, 6, 15, tzinfo=dt.UTC)


def test_each_kind_of_click_has_its_points_and_clean_clicks_none() -> None:
    people = score(
        [
            Clicks("careful@x", TODAY, 3, blocked=False),
            Clicks("blocked@x", TODAY, 1, blocked=True),
            Clicks("fooled@x", TODAY, 1, blocked=False, malicious=True),
            Clicks("through@x", TODAY, 1, blocked=True, clicked_through=True),
        ],
        NOW,
    )
    scores = {p.person: p.score for p in people}
    assert scores == {"careful@x": 0.0, "blocked@x": 2.0, "fooled@x": 4.0, "through@x": 6.0}
    assert [p.person for p in people] == ["through@x", "fooled@x", "blocked@x", "careful@x"]
    fooled = next(p for p in people if p.person == "fooled@x")
    assert (fooled.risky_clicks, fooled.blocked_clicks, fooled.clicks) == (1, 0, 1)


def test_points_halve_in_ninety_days_are_dropped_after_a_year_and_cap_at_ten() -> None:
    old = TODAY - dt.timedelta(days=90)
    assert score([Clicks("a@x", old, 1, blocked=False, malicious=True)], NOW)[0].score == pytest.approx(2.0, abs=0.01)
    assert score([Clicks("a@x", TODAY - dt.timedelta(days=400), 5, blocked=True)], NOW) == []
    capped = score([Clicks("a@x", TODAY, 9, blocked=False, malicious=True)], NOW)[0]
    assert (capped.score, capped.band) == (10.0, "very high")
    assert [band(v) for v in (0.0, 1.99, 2.0, 5.0, 7.9, 8.0)] == ["very low", "very low", "low", "medium", "high",
                                                                  "very high"]  # fmt: skip


def click(tenant_id: str, person: str, action: str, nmid: str, **extra: Any) -> dict[str, Any]:
    return {
        "Timestamp": NOW - dt.timedelta(hours=2),
        "Url": "http://x.example/",
        "ActionType": action,
        "AccountUpn": person,
        "Workload": "Email",
        "NetworkMessageId": nmid,
        "IsClickedThrough": False,
        "ReportId": f"{person}-{nmid}-{action}",
        "TenantId": tenant_id,
        **extra,
    }


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Services, dict[str, str]]]:
    services = make_services(tmp_path / "data", FakeClock(NOW))
    ids = add_tenants(services, "contoso", "fabrikam")
    c = ids["contoso"]
    events = [
        {"Timestamp": NOW - dt.timedelta(hours=3), "NetworkMessageId": "bad", "ThreatTypes": "Phish",
         "RecipientEmailAddress": "ann@contoso.example", "ReportId": "e1", "TenantId": c},
        {"Timestamp": NOW - dt.timedelta(hours=3), "NetworkMessageId": "good", "ThreatTypes": "",
         "RecipientEmailAddress": "bob@contoso.example", "ReportId": "e2", "TenantId": c},
        {"Timestamp": NOW - dt.timedelta(hours=3), "NetworkMessageId": "later", "ThreatTypes": "",
         "RecipientEmailAddress": "cat@contoso.example", "ReportId": "e3", "TenantId": c},
    ]  # fmt: skip
    zapped = [{"Timestamp": NOW - dt.timedelta(hours=1), "NetworkMessageId": "later", "ThreatTypes": "Phish",
               "ActionType": "Phish ZAP", "RecipientEmailAddress": "cat@contoso.example", "ReportId": "p1",
               "TenantId": c}]  # fmt: skip
    clicks = [
        click(c, "Ann@contoso.example", "ClickBlocked", "bad"),
        click(c, "bob@contoso.example", "ClickAllowed", "good"),
        click(c, "cat@contoso.example", "ClickAllowed", "later"),
    ]
    services.writer.add({"EmailEvents": events, "EmailPostDeliveryEvents": zapped, "UrlClickEvents": clicks})
    services.writer.flush()
    yield services, ids
    services.close()


def test_clicks_on_mail_found_bad_later_count_and_tenants_without_clicks_have_no_score(
    seeded: tuple[Services, dict[str, str]],
) -> None:
    services, ids = seeded
    report = riskiest_clickers(services.telemetry, ids["contoso"], NOW)
    assert report["hasClickData"] is True
    scores = {p["person"]: (p["humanRiskScore"], p["band"]) for p in report["people"]}
    assert scores == {
        "cat@contoso.example": (pytest.approx(4.0, abs=0.01), "medium"),
        "ann@contoso.example": (pytest.approx(2.0, abs=0.01), "low"),
        "bob@contoso.example": (0.0, "very low"),
    }
    empty = riskiest_clickers(services.telemetry, ids["fabrikam"], NOW)
    assert (empty["hasClickData"], empty["people"]) == (False, [])

"""Human-risk reports of a tenant from its hunting tables: the most attacked people and the riskiest
clickers (one KQL query each, so any telemetry engine that runs KQL serves them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ramparts.domain.times import iso_utc
from ramparts.hunting_service import run_on_store
from ramparts.risk import behaviour
from ramparts.risk.attack_factor import Attack, AttackScore, score
from ramparts.telemetry.store import TelemetryStore

LOOKBACK = dt.timedelta(days=60)
"""Past four half-lives an attack weighs under 1/16 of its points."""

ATTACKS_KQL = """
let Removed = EmailPostDeliveryEvents
    | where ActionType in ("Phish ZAP", "Malware ZAP", "Third-party remediation") and ActionResult == "Success"
    | where ThreatTypes has_any ("Phish", "Malware")
    | project Key = strcat(NetworkMessageId, "|", tolower(RecipientEmailAddress));
EmailEvents
| where EmailDirection == "Inbound"
| extend Key = strcat(NetworkMessageId, "|", tolower(RecipientEmailAddress))
| extend Exposed = DeliveryAction == "Delivered" and Key in (Removed)
| where ThreatTypes has_any ("Phish", "Malware") or Exposed
| extend Family = case(
    DetectionMethods contains "Impersonation" or DetectionMethods contains "Spoof intra-org", "impersonation",
    ThreatTypes has "Malware", "malware",
    "phish")
| summarize Attacks = count() by Person = tolower(RecipientEmailAddress), Family, Day = bin(Timestamp, 1d), Exposed
"""


def attacks_of(store: TelemetryStore, tenant_id: str, now: dt.datetime, time_budget_s: float) -> list[Attack]:
    result = run_on_store(
        store,
        ATTACKS_KQL,
        now=now,
        tenant_id=tenant_id,
        timespan=(now - LOOKBACK, now),
        row_cap=1_000_000,
        time_budget_s=time_budget_s,
    )
    return [
        Attack(
            person=str(row["Person"]),
            family=str(row["Family"]),
            day=_aware(row["Day"]),
            count=int(row["Attacks"]),
            exposed=bool(row["Exposed"]),
        )
        for row in result.rows
    ]


def _aware(value: object) -> dt.datetime:
    """Hunting results give datetimes as ISO 8601 text ending in Z."""
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def most_attacked(
    store: TelemetryStore, tenant_id: str, now: dt.datetime, *, top: int = 50, time_budget_s: float = 30.0
) -> dict[str, Any]:
    """The tenant's people by attack index, with the reference and the very-attacked threshold."""
    scores = score(attacks_of(store, tenant_id, now, time_budget_s), now)
    return {
        "tenantId": tenant_id,
        "computedAt": iso_utc(now),
        "reference": scores.reference,
        "veryAttackedThreshold": scores.vap_threshold,
        "people": [_person(p) for p in scores.people[:top]],
        "peopleAttacked": len(scores.people),
    }


def _person(person: AttackScore) -> dict[str, Any]:
    return {
        "person": person.person,
        "attackFactor": person.attack_factor,
        "attackIndex": person.attack_index,
        "veryAttacked": person.very_attacked,
        "byFamily": person.by_family,
        "threats": person.threats,
        "exposed": person.exposed,
        "lastAttack": person.last_attack.date().isoformat() if person.last_attack else None,
    }


CLICKS_KQL = """
let MaliciousMail = union
    (EmailEvents | where ThreatTypes has_any ("Phish", "Malware") | project NetworkMessageId),
    (EmailPostDeliveryEvents | where ThreatTypes has_any ("Phish", "Malware") | project NetworkMessageId);
UrlClickEvents
| where Workload == "Email"
| extend Blocked = ActionType startswith "ClickBlocked", Malicious = NetworkMessageId in (MaliciousMail)
| summarize Clicks = count()
    by Person = tolower(AccountUpn), Day = bin(Timestamp, 1d), Blocked, IsClickedThrough, Malicious
"""


def clicks_of(store: TelemetryStore, tenant_id: str, now: dt.datetime, time_budget_s: float) -> list[behaviour.Clicks]:
    result = run_on_store(
        store,
        CLICKS_KQL,
        now=now,
        tenant_id=tenant_id,
        timespan=(now - dt.timedelta(days=behaviour.LOOKBACK_DAYS), now),
        row_cap=1_000_000,
        time_budget_s=time_budget_s,
    )
    return [
        behaviour.Clicks(
            person=str(row["Person"]),
            day=_aware(row["Day"]),
            count=int(row["Clicks"]),
            blocked=bool(row["Blocked"]),
            clicked_through=bool(row["IsClickedThrough"]),
            malicious=bool(row["Malicious"]),
        )
        for row in result.rows
    ]


def riskiest_clickers(
    store: TelemetryStore, tenant_id: str, now: dt.datetime, *, top: int = 50, time_budget_s: float = 30.0
) -> dict[str, Any]:
    """People by human risk score (clicks on real phishing); hasClickData is false when nothing was logged,
    and then there is no score at all rather than a misleading 0."""
    clicks = clicks_of(store, tenant_id, now, time_budget_s)
    people = behaviour.score(clicks, now)
    return {
        "tenantId": tenant_id,
        "computedAt": iso_utc(now),
        "hasClickData": bool(clicks),
        "people": [
            {
                "person": p.person,
                "humanRiskScore": p.score,
                "band": p.band,
                "clicks": p.clicks,
                "blockedClicks": p.blocked_clicks,
                "riskyClicks": p.risky_clicks,
                "contributions": p.contributions,
            }
            for p in people[:top]
        ],
        "peopleWhoClicked": len(people),
    }

"""Vendor feedback: a vendor hears of the copies it flagged that an admin released or reported clean,
through GET /ices/v1/feedback; other vendors and revoked tenants hear nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ramparts import quarantine
from ramparts.domain.verdicts import Verdict
from ramparts.quarantine import QuarantineQuery
from ramparts.vendors import registry
from tests.vendors.support import World, make_world, submission

ALICE, BOB, CAROL = "alice@contoso.example", "bob@contoso.example", "carol@contoso.example"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = make_world(tmp_path)
    yield made
    made.services.close()


def _identity(world: World, recipient: str) -> str:
    with world.services.sessions() as session:
        (found,) = quarantine.search(session, QuarantineQuery(recipient=recipient), world.clock.now)
    return str(found["Identity"])


def _feedback(world: World, vendor: str, **params: Any) -> list[dict[str, Any]]:
    answer = world.call("GET", "/ices/v1/feedback", world.token(vendor), params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["value"])


def test_a_vendor_hears_of_its_false_positives_only(world: World) -> None:
    nmid = world.deliver("Invoice overdue", ALICE, BOB, CAROL, verdict=Verdict.PHISH)
    world.add_vendor("Acme", "contoso")
    world.add_vendor("Quiet", "contoso")
    batch = {"verdicts": [submission(nmid, "Phishing", "acme-77")]}
    assert world.call("POST", "/ices/v1/verdicts:batch", world.token("Acme"), json=batch).status_code == 202
    world.settle()
    assert _feedback(world, "Acme") == []

    world.clock.advance(minutes=1)
    quarantine.release(world.services, _identity(world, ALICE), None, "admin@contoso")
    world.clock.advance(minutes=1)
    quarantine.report(world.services, _identity(world, BOB), None, "admin@contoso")
    items = _feedback(world, "Acme")
    assert [(i["feedback"], i["recipient"], i["vendorVerdictId"], i["vendorVerdict"]) for i in items] == [
        ("releasedFromQuarantine", ALICE, "acme-77", "Phishing"),
        ("reportedClean", BOB, "acme-77", "Phishing"),
    ]
    assert items[0]["networkMessageId"] == nmid and items[0]["quarantineType"] == "Phish"
    assert _feedback(world, "Acme", since=items[0]["at"]) == items[1:]
    assert _feedback(world, "Acme", since=items[1]["at"]) == []
    assert _feedback(world, "Quiet") == []  # it judged nothing

    with world.services.sessions.begin() as session:
        registry.revoke_approval(session, "Acme", "contoso")
    assert _feedback(world, "Acme") == []


def test_since_needs_a_time_zone(world: World) -> None:
    world.add_vendor("Acme", "contoso")
    answer = world.call("GET", "/ices/v1/feedback", world.token("Acme"), params={"since": "2026-01-01T00:00:00"})
    assert answer.status_code == 400 and "time zone" in answer.text

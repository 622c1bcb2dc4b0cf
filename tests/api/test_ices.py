"""The vendor verdict API in-process: validation, idempotency, tenant isolation and token checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ramparts.identity.apps import register_app, revoke_app
from ramparts.identity.scopes import ANALYZED_MESSAGE_READ, VERDICT_SUBMIT
from ramparts.store.models import AuditEntry, VerdictRecord
from ramparts.vendors import registry
from tests.vendors.support import World, make_world, submission

ALICE = "alice@contoso.example"
FRANK = "alice@fabrikam.example"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = make_world(tmp_path)
    made.add_vendor("Acme", "contoso")
    yield made
    made.services.close()


def _counts(world: World) -> tuple[int, int]:
    with world.services.sessions() as session:
        verdicts = session.scalar(
            select(func.count()).select_from(VerdictRecord).where(VerdictRecord.source_kind == "vendor")
        )
    events = world.sql('SELECT count(*) FROM "EmailPostDeliveryEvents"')[0][0]
    return int(verdicts or 0), int(events)


def test_submit_one_answers_202_with_a_status_url(world: World) -> None:
    nmid = world.deliver("Hello", ALICE)
    token = world.token("Acme")
    details = {
        "threatNames": ["CredPhish.Generic"],
        "urls": ["http://login.c0ntoso.example/"],
        "attachments": [{"fileName": "a.html", "sha256": "ab" * 32}],
        "explanation": "lookalike login page",
    }
    response = world.call(
        "POST", "/ices/v1/verdicts", token, json=submission(nmid, "highConfidencePhish", threatDetails=details)
    )
    assert response.status_code == 202
    body = response.json()
    assert response.headers["location"] == f"/ices/v1/verdicts/{body['id']}"
    assert body["status"] == "pending" and body["replayed"] is False
    accepted = world.call("GET", response.headers["location"], token).json()
    assert accepted["status"] in ("pending", "completed") and accepted["verdict"] == "High confidence phishing"
    world.settle()
    status = world.call("GET", response.headers["location"], token).json()
    assert status["status"] == "completed" and status["changedOutcome"] is True
    assert status["verdict"] == "High confidence phishing"
    assert status["threatDetails"]["explanation"] == "lookalike login page"
    assert status["results"][0]["action"] == "quarantine"
    with world.services.sessions() as session:
        record = session.scalar(select(VerdictRecord).where(VerdictRecord.id == body["id"]))
    assert record is not None and record.source == world.vendors["Acme"].vendor_id
    assert record.threat_names == ["CredPhish.Generic"] and record.confidence == pytest.approx(0.97)


@pytest.mark.parametrize(
    ("change", "target", "reason"),
    [
        ({"verdict": "Dangerous"}, "verdict", "allowed: Malware, High confidence phishing"),
        ({"confidence": 1.5}, "confidence", "less than or equal to 1"),
        ({"vendorVerdictId": ""}, "vendorVerdictId", "at least 1 character"),
        ({"networkMessageId": None}, "", "internetMessageId and recipient"),
        ({"threatDetails": {"attachments": [{"sha256": "nothex"}]}}, "threatDetails.attachments.0.sha256", "pattern"),
        ({"color": "red"}, "color", "Extra inputs"),
    ],
)
def test_validation_errors_name_the_field_and_the_reason(
    world: World, change: dict[str, object], target: str, reason: str
) -> None:
    body = {**submission("nmid-x"), **change}
    response = world.call("POST", "/ices/v1/verdicts", world.token("Acme"), json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["details"][0]["target"] == target
    assert reason in error["message"]


def test_batch_item_fields_are_named_by_position_and_the_size_is_capped(world: World) -> None:
    token = world.token("Acme")
    bad = [submission("a"), submission("b", confidence=-1)]
    response = world.call("POST", "/ices/v1/verdicts:batch", token, json={"verdicts": bad})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["target"] == "verdicts.1.confidence"
    many = [submission(f"n{i}", vendor_id=f"v{i}") for i in range(1001)]
    response = world.call("POST", "/ices/v1/verdicts/batch", token, json={"verdicts": many})
    assert response.status_code == 400
    assert "at most 1000" in response.json()["error"]["message"]


def test_a_replayed_batch_changes_nothing(world: World) -> None:
    first = world.deliver("One", ALICE)
    second = world.deliver("Two", "bob@contoso.example")
    token = world.token("Acme")
    batch = {"verdicts": [submission(first, "Phishing", "x-1"), submission(second, "Spam", "x-2")]}
    answer = world.call("POST", "/ices/v1/verdicts:batch", token, json=batch)
    assert [o["status"] for o in world.outcomes(token, answer)] == ["completed", "completed"]
    before = _counts(world)
    assert before == (2, 2)
    again = world.call("POST", "/ices/v1/verdicts:batch", token, json=batch)
    assert again.status_code == 202
    assert [v["id"] for v in again.json()["value"]] == [v["id"] for v in answer.json()["value"]]
    assert all(v["replayed"] and v["status"] == "completed" for v in again.json()["value"])
    assert world.settle() == 0
    assert _counts(world) == before
    single = world.call("POST", "/ices/v1/verdicts", token, json=submission(first, "Phishing", "x-1"))
    assert single.status_code == 202 and single.json()["replayed"] is True
    assert world.settle() == 0
    assert _counts(world) == before


def test_a_verdict_named_two_ways_acts_once(world: World) -> None:
    nmid = world.deliver("Twice", ALICE, message_id="<twice@partner.example>")
    token = world.token("Acme")
    by_nmid = submission(nmid, "Phishing", "t-1", recipient=ALICE)
    by_imid = {**submission("", "Phishing", "t-1", recipient=ALICE), "internetMessageId": "<twice@partner.example>"}
    del by_imid["networkMessageId"]
    answer = world.call("POST", "/ices/v1/verdicts:batch", token, json={"verdicts": [by_nmid, by_imid]})
    first, second = world.outcomes(token, answer)
    assert first["changedOutcome"] is True and first["replayed"] is False
    assert second["changedOutcome"] is True and second["replayed"] is True
    assert _counts(world) == (1, 1)


def test_internet_message_id_and_recipient_name_a_copy(world: World) -> None:
    nmid = world.deliver("By message id", ALICE, "bob@contoso.example", message_id="<abc@partner.example>")
    body = {"vendorVerdictId": "i-1", "internetMessageId": "<abc@partner.example>", "recipient": "Bob@contoso.example"}
    response = world.call(
        "POST", "/ices/v1/verdicts", world.token("Acme"), json={**body, "verdict": "Phishing", "confidence": 0.8}
    )
    (status,) = world.outcomes(world.token("Acme"), response)
    assert status["networkMessageId"] == nmid and status["internetMessageId"] == "<abc@partner.example>"
    rows = world.sql('SELECT "NetworkMessageId", "RecipientEmailAddress" FROM "EmailPostDeliveryEvents"')
    assert rows == [(nmid, "bob@contoso.example")]


def test_a_vendor_cannot_see_or_act_on_a_tenant_that_did_not_approve_it(world: World) -> None:
    theirs = world.deliver("Fabrikam mail", FRANK)
    ours = world.deliver("Contoso mail", ALICE)
    token = world.token("Acme")
    response = world.call("POST", "/ices/v1/verdicts", token, json=submission(theirs, "Malware"))
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "message not found"
    unknown = world.call("POST", "/ices/v1/verdicts", token, json=submission("no-such-message", "Malware"))
    assert unknown.json() == response.json()
    batch = world.call(
        "POST",
        "/ices/v1/verdicts:batch",
        token,
        json={"verdicts": [submission(theirs, "Malware", "a"), submission(ours, "Malware", "b")]},
    )
    assert [v["status"] for v in batch.json()["value"]] == ["notFound", "pending"]
    assert [v["status"] for v in world.outcomes(token, batch)] == ["notFound", "completed"]
    by_message_id = {
        "vendorVerdictId": "c",
        "internetMessageId": "<x>",
        "recipient": FRANK,
        "verdict": "Spam",
        "confidence": 1,
    }
    assert world.call("POST", "/ices/v1/verdicts", token, json=by_message_id).status_code == 404
    listed = world.call("GET", "/ices/v1/messages", token).json()["value"]
    assert [m["networkMessageId"] for m in listed] == [ours]
    assert world.sql('SELECT "RecipientEmailAddress" FROM "EmailPostDeliveryEvents"') == [(ALICE,)]
    other = world.add_vendor("Other", "fabrikam")
    assert other.vendor_id
    other_token = world.token("Other")
    mine = batch.json()["value"][1]["location"]
    assert world.call("GET", mine, other_token).status_code == 404
    assert world.call("GET", mine, token).status_code == 200


def test_revoked_approval_hides_the_tenant_again(world: World) -> None:
    nmid = world.deliver("Soon hidden", ALICE)
    with world.services.sessions.begin() as session:
        registry.revoke_approval(session, "Acme", "contoso", actor="admin")
    response = world.call("POST", "/ices/v1/verdicts", world.token("Acme"), json=submission(nmid))
    assert response.status_code == 404


def test_a_suspended_vendor_is_refused_with_a_clear_error(world: World) -> None:
    nmid = world.deliver("Suspended", ALICE)
    token = world.token("Acme")
    with world.services.sessions.begin() as session:
        registry.suspend(session, "Acme", actor="admin")
    response = world.call("POST", "/ices/v1/verdicts", token, json=submission(nmid))
    assert response.status_code == 403
    assert "suspended" in response.json()["error"]["message"]
    assert world.settle() == 0
    assert _counts(world) == (0, 0)
    with world.services.sessions.begin() as session:
        registry.reactivate(session, "Acme", actor="admin")
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("vendor.%"))).all()
    assert world.call("POST", "/ices/v1/verdicts", token, json=submission(nmid)).status_code == 202
    assert {"vendor.add", "vendor.approve", "vendor.suspend", "vendor.reactivate"} <= set(actions)


def test_tokens_expired_forged_revoked_or_missing_get_401(world: World) -> None:
    token = world.token("Acme")
    assert world.call("GET", "/ices/v1/ping", token).status_code == 200
    assert world.call("GET", "/ices/v1/ping").status_code == 401
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert world.call("GET", "/ices/v1/ping", forged).status_code == 401
    world.clock.advance(seconds=world.services.settings.token_lifetime_seconds + 1)
    assert world.call("GET", "/ices/v1/ping", token).status_code == 401
    fresh = world.token("Acme")
    with world.services.sessions.begin() as session:
        revoke_app(session, world.vendors["Acme"].client_id)
    world.clock.advance(seconds=10)  # past the revocation cache
    response = world.call("POST", "/ices/v1/verdicts", fresh, json=submission("n"))
    assert response.status_code == 401


def test_missing_scope_or_not_a_vendor_gets_403(world: World) -> None:
    with world.services.sessions.begin() as session:
        app, secret = register_app(
            session,
            name="reader",
            kind="tenant_app",
            scopes=[ANALYZED_MESSAGE_READ],
            tenant_id=world.tenants["contoso"],
        )
        tenant_app, tenant_secret = register_app(
            session, name="submitter", kind="tenant_app", scopes=[VERDICT_SUBMIT], tenant_id=world.tenants["contoso"]
        )
    world.vendors["reader"] = registry.Credentials("", app.client_id, secret)
    world.vendors["submitter"] = registry.Credentials("", tenant_app.client_id, tenant_secret)
    response = world.call("POST", "/ices/v1/verdicts", world.token("reader"), json=submission("n"))
    assert response.status_code == 403 and "Ices.Verdict.Submit" in response.json()["error"]["message"]
    response = world.call("POST", "/ices/v1/verdicts", world.token("submitter"), json=submission("n"))
    assert response.status_code == 403 and "vendor" in response.json()["error"]["message"]


def test_oversized_requests_are_refused(world: World) -> None:
    token = world.token("Acme")
    big = b'{"verdicts": [' + b" " * (5 * 1024 * 1024 + 10) + b"]}"
    response = world.call(
        "POST", "/ices/v1/verdicts:batch", token, content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413

    async def chunks():  # no Content-Length: the limit applies while streaming
        for _ in range(6):
            yield b" " * (1024 * 1024)

    response = world.call(
        "POST", "/ices/v1/verdicts", token, content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_messages_are_listed_oldest_first_and_paged(world: World) -> None:
    start = world.clock.now
    sent = []
    for i in range(5):
        sent.append(world.deliver(f"Page {i}", ALICE))
        world.clock.advance(minutes=1)
    token = world.token("Acme")
    since = (start - dt.timedelta(seconds=1)).isoformat()
    page = world.call("GET", "/ices/v1/messages", token, params={"since": since, "$top": 2}).json()
    seen = [m["networkMessageId"] for m in page["value"]]
    while "@odata.nextLink" in page:
        page = world.call("GET", page["@odata.nextLink"], token).json()
        seen += [m["networkMessageId"] for m in page["value"]]
    assert seen == sent
    first = world.call("GET", "/ices/v1/messages", token, params={"since": since, "$top": 1}).json()["value"][0]
    assert first["subject"] == "Page 0" and first["sender"] == "adele@partner.example"
    assert first["urls"] and first["urls"][0].startswith("http://partner.example/")
    assert first["latestDeliveryLocation"] == "Inbox/folder"

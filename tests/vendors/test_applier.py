"""Accepted verdicts are applied in the background; what a stopped process left pending is applied by
the next one, and a vendor that lost its approval in between acts on nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from ramparts.delivery.zap import use_mailbox
from ramparts.store.models import MessageCopy
from ramparts.vendors import registry
from ramparts.vendors.applier import applier
from ramparts.vendors.intake import VerdictSubmission, accept, load_caller
from ramparts.vendors.models import VerdictIntake
from tests.identity.support import make_services
from tests.vendors.support import World, submission

ALICE = "alice@contoso.example"


def _accept(world: World, *bodies: dict[str, object]) -> list[str]:
    """Accept as the API does, but without waking the applier (as if the process died right after)."""
    credentials = world.vendors["Acme"]
    with world.services.sessions() as session:
        caller = load_caller(session, credentials.vendor_id, credentials.client_id)
    answers = accept(world.services, caller, [VerdictSubmission.model_validate(b) for b in bodies])
    assert all(a.status == "pending" for a in answers)
    return [a.id for a in answers]


def _statuses(services: object, ids: list[str]) -> list[str]:
    from ramparts.services import Services

    assert isinstance(services, Services)
    with services.sessions() as session:
        found = {r.id: r.status for r in session.scalars(select(VerdictIntake).where(VerdictIntake.id.in_(ids)))}
    return [found[i] for i in ids]


def test_verdicts_left_pending_are_applied_by_the_next_process(world: World, tmp_path: Path) -> None:
    world.add_vendor("Acme", "contoso")
    nmid = world.deliver("Left behind", ALICE)
    ids = _accept(world, submission(nmid, "Phishing", "p-1"))
    world.services.close()  # stopped before the applier ran

    services = make_services(tmp_path / "data", world.clock)
    use_mailbox(services, world.mailbox)
    try:
        assert _statuses(services, ids) == ["pending"]
        assert applier(services).drain() == 1
        assert _statuses(services, ids) == ["completed"]
        with services.sessions() as session:
            copy = session.get(MessageCopy, (nmid, ALICE))
        assert copy is not None and copy.latest_location == "Quarantine"
        assert world.mailbox.locate(ALICE, nmid) is None
        assert applier(services).drain() == 0
    finally:
        services.close()
    world.services = make_services(tmp_path / "data", world.clock)  # for the fixture's close()


def test_a_vendor_whose_approval_is_revoked_before_apply_acts_on_nothing(world: World) -> None:
    world.add_vendor("Acme", "contoso")
    nmid = world.deliver("Revoked in between", ALICE)
    ids = _accept(world, submission(nmid, "Phishing", "r-1"))
    with world.services.sessions.begin() as session:
        registry.revoke_approval(session, "Acme", "contoso", actor="admin")
    assert world.settle() == 1
    assert _statuses(world.services, ids) == ["notFound"]
    stored = world.mailbox.locate(ALICE, nmid)
    assert stored is not None and stored.folder.name == "INBOX"


def test_a_copy_named_twice_in_one_batch_is_acted_on_from_where_the_first_verdict_left_it(world: World) -> None:
    world.add_vendor("Acme", "contoso")
    nmid = world.deliver("Named twice", ALICE, message_id="<twice@partner.example>")
    ids = _accept(
        world,
        submission(nmid, "Spam", "t-1", recipient=ALICE),
        {
            "vendorVerdictId": "t-2",
            "internetMessageId": "<twice@partner.example>",
            "recipient": ALICE,
            "verdict": "Phishing",
            "confidence": 0.9,
        },
    )
    assert world.settle() == 2
    with world.services.sessions() as session:
        outcomes = {
            r.id: r.outcome["results"][0]
            for r in session.scalars(select(VerdictIntake).where(VerdictIntake.id.in_(ids)))
        }
        copy = session.get(MessageCopy, (nmid, ALICE))
    first, second = outcomes[ids[0]], outcomes[ids[1]]
    assert (first["sourceLocation"], first["deliveryLocation"]) == ("Inbox/folder", "Junk folder")
    assert (second["sourceLocation"], second["deliveryLocation"]) == ("Junk folder", "Quarantine")
    assert copy is not None and (copy.verdict, copy.latest_location) == ("Phishing", "Quarantine")

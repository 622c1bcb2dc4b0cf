from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from ramparts.errors import InvalidInput, NotFound
from ramparts.store.db import open_control_plane
from ramparts.store.models import AuditEntry
from ramparts.tenants import MailboxSpec, add_tenant, find_tenant, list_tenants


def test_add_and_list_tenants_with_audit(tmp_path: Path) -> None:
    sessions = open_control_plane(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    with sessions.begin() as session:
        add_tenant(
            session,
            "contoso",
            ["Contoso.com", "contoso.net."],
            mailboxes=[MailboxSpec.parse("megan@contoso.com:Megan Bowen:Strict")],
        )
    with sessions() as session:
        listed = list_tenants(session)
        assert listed[0]["name"] == "contoso"
        assert listed[0]["accepted_domains"] == ["contoso.com", "contoso.net"]
        assert listed[0]["mailboxes"] == 1
        actions = session.scalars(select(AuditEntry.action)).all()
        assert "tenant.add" in actions and "mailbox.add" in actions
        assert find_tenant(session, "contoso").name == "contoso"
        with pytest.raises(NotFound):
            find_tenant(session, "nobody")
    sessions.kw["bind"].dispose()


@pytest.mark.parametrize(
    ("name", "domains", "users", "field"),
    [
        ("bad name", ["x.com"], [], "name"),
        ("t2", ["localhost"], [], "domain"),
        ("t2", [], [], "domain"),
        ("t2", ["contoso.com"], [], "domain"),
        ("t2", ["t2.com"], ["someone@elsewhere.com"], "user"),
        ("contoso", ["new.com"], [], "name"),
    ],
)
def test_bad_input_names_the_field(tmp_path: Path, name: str, domains: list[str], users: list[str], field: str) -> None:
    sessions = open_control_plane(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    with sessions.begin() as session:
        add_tenant(session, "contoso", ["contoso.com"])
    with pytest.raises(InvalidInput) as caught, sessions.begin() as session:
        add_tenant(session, name, domains, mailboxes=[MailboxSpec.parse(u) for u in users])
    assert caught.value.field == field
    sessions.kw["bind"].dispose()

"""Creating and listing tenants, their accepted domains and mailboxes (control plane, with audit)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ramparts.errors import InvalidInput, NotFound
from ramparts.identity.audit import record
from ramparts.policy.presets import PRESETS
from ramparts.store.models import AcceptedDomain, Mailbox, Tenant


@dataclass(frozen=True, slots=True)
class MailboxSpec:
    address: str
    display_name: str = ""
    policy: str = ""
    priority_account: bool = False

    @classmethod
    def parse(cls, text: str) -> MailboxSpec:
        """ADDRESS[:Display Name[:Policy]] as given on the command line."""
        address, _, rest = text.partition(":")
        display, _, policy = rest.partition(":")
        return cls(address.strip().lower(), display.strip(), policy.strip())


def _check_domain(domain: str) -> str:
    cleaned = domain.strip().lower().rstrip(".")
    labels = cleaned.split(".")
    if len(labels) < 2 or any(not label or len(label) > 63 for label in labels) or len(cleaned) > 253:
        raise InvalidInput(f"{domain!r} is not a domain name", field="domain")
    return cleaned


def find_tenant(session: Session, key: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where((Tenant.name == key) | (Tenant.id == key)))
    if tenant is None:
        raise NotFound(f"no tenant named {key!r}")
    return tenant


def add_tenant(
    session: Session,
    name: str,
    domains: Sequence[str],
    *,
    display_name: str = "",
    default_policy: str = "Standard",
    mailboxes: Sequence[MailboxSpec] = (),
    actor: str = "cli",
) -> Tenant:
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise InvalidInput("tenant name must be letters, digits, - or _", field="name")
    if default_policy not in PRESETS:
        raise InvalidInput(f"default policy must be one of {', '.join(PRESETS)}", field="policy")
    if session.scalar(select(Tenant).where(Tenant.name == name)) is not None:
        raise InvalidInput(f"tenant {name!r} already exists", field="name")
    cleaned = [_check_domain(d) for d in domains]
    if not cleaned:
        raise InvalidInput("a tenant needs at least one accepted domain", field="domain")
    taken = session.scalars(select(AcceptedDomain.domain).where(AcceptedDomain.domain.in_(cleaned))).all()
    if taken:
        raise InvalidInput(f"domain {taken[0]} is already accepted by another tenant", field="domain")
    tenant = Tenant(name=name, display_name=display_name or name, default_policy=default_policy)
    session.add(tenant)
    session.flush()
    session.add_all(AcceptedDomain(domain=d, tenant_id=tenant.id) for d in cleaned)
    for spec in mailboxes:
        add_mailbox(session, tenant, spec, actor=actor)
    record(
        session,
        actor=actor,
        tenant_id=tenant.id,
        action="tenant.add",
        target=name,
        details={"domains": cleaned, "default_policy": default_policy},
    )
    return tenant


def add_mailbox(session: Session, tenant: Tenant, spec: MailboxSpec, *, actor: str = "cli") -> Mailbox:
    domain = spec.address.rpartition("@")[2]
    owned = session.scalars(select(AcceptedDomain.domain).where(AcceptedDomain.tenant_id == tenant.id)).all()
    if "@" not in spec.address or domain not in owned:
        raise InvalidInput(f"{spec.address!r} is not in an accepted domain of {tenant.name}", field="user")
    if spec.policy and spec.policy not in PRESETS:
        raise InvalidInput(f"policy must be one of {', '.join(PRESETS)}", field="user")
    mailbox = Mailbox(
        tenant_id=tenant.id,
        address=spec.address,
        display_name=spec.display_name,
        policy=spec.policy,
        priority_account=spec.priority_account,
    )
    session.add(mailbox)
    record(session, actor=actor, tenant_id=tenant.id, action="mailbox.add", target=spec.address)
    return mailbox


def list_tenants(session: Session) -> list[dict[str, object]]:
    tenants = session.scalars(select(Tenant).order_by(Tenant.name)).all()
    domains = session.scalars(select(AcceptedDomain)).all()
    mailboxes = session.scalars(select(Mailbox)).all()
    return [
        {
            "id": t.id,
            "name": t.name,
            "display_name": t.display_name,
            "default_policy": t.default_policy,
            "accepted_domains": sorted(d.domain for d in domains if d.tenant_id == t.id),
            "mailboxes": sum(1 for m in mailboxes if m.tenant_id == t.id),
        }
        for t in tenants
    ]

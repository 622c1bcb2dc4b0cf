"""What the pipeline needs to know about tenants, read from the control plane and cached briefly."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ramparts.detection.engine import TenantContext
from ramparts.policy.presets import ThreatPolicy, custom_policy
from ramparts.policy.select import ScopedPolicy, choose_policy
from ramparts.store.models import AcceptedDomain, CustomPolicy, ListEntry, Mailbox, Tenant


@dataclass(frozen=True, slots=True)
class MailboxInfo:
    id: str
    address: str
    display_name: str
    policy: str
    priority_account: bool


@dataclass(frozen=True, slots=True)
class TenantInfo:
    id: str
    name: str
    default_policy: str
    context: TenantContext
    mailboxes: dict[str, MailboxInfo] = field(default_factory=dict)
    custom: tuple[ScopedPolicy, ...] = ()

    def policy_for(self, recipient: str) -> ThreatPolicy:
        mailbox = self.mailboxes.get(recipient.lower())
        return choose_policy(
            recipient,
            mailbox_policy=mailbox.policy if mailbox else "",
            tenant_default=self.default_policy,
            custom=self.custom,
        )

    def is_internal(self, address: str) -> bool:
        return address.rpartition("@")[2].lower() in self.context.accepted_domains


@dataclass
class _Snapshot:
    loaded_at: float
    by_domain: dict[str, TenantInfo]
    by_name: dict[str, TenantInfo]


class TenantDirectory:
    """Tenants by accepted domain and by name; reloaded when older than ttl seconds or when told."""

    def __init__(
        self, sessions: sessionmaker[Session], *, ttl: float = 5.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self.monotonic = monotonic
        self._snapshot: _Snapshot | None = None

    def invalidate(self) -> None:
        self._snapshot = None

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is None or self.monotonic() - snapshot.loaded_at > self.ttl:
            snapshot = self._snapshot = self._load()
        return snapshot

    def for_address(self, address: str) -> TenantInfo | None:
        return self._current().by_domain.get(address.rpartition("@")[2].lower())

    def by_name_or_id(self, key: str) -> TenantInfo | None:
        return self._current().by_name.get(key)

    def all(self) -> list[TenantInfo]:
        return sorted({t.id: t for t in self._current().by_name.values()}.values(), key=lambda t: t.name)

    def _load(self) -> _Snapshot:
        with self.sessions() as session:
            tenants = session.scalars(select(Tenant)).all()
            domains = session.scalars(select(AcceptedDomain)).all()
            mailboxes = session.scalars(select(Mailbox)).all()
            entries = session.scalars(select(ListEntry)).all()
            policies = session.scalars(select(CustomPolicy)).all()
        by_domain: dict[str, TenantInfo] = {}
        by_name: dict[str, TenantInfo] = {}
        for tenant in tenants:
            own_domains = tuple(sorted(d.domain.lower() for d in domains if d.tenant_id == tenant.id))
            own_boxes = {
                m.address.lower(): MailboxInfo(m.id, m.address.lower(), m.display_name, m.policy, m.priority_account)
                for m in mailboxes
                if m.tenant_id == tenant.id
            }
            own_entries = [e for e in entries if e.tenant_id == tenant.id]

            def pick(kind: str, action: str, own: list[ListEntry] = own_entries) -> tuple[str, ...]:
                return tuple(e.value.lower() for e in own if e.kind == kind and e.action == action)

            context = TenantContext(
                tenant_id=tenant.id,
                accepted_domains=own_domains,
                users=tuple((m.display_name, m.address) for m in own_boxes.values() if m.display_name),
                allowed_senders=pick("sender", "allow"),
                blocked_senders=pick("sender", "block"),
                allowed_domains=pick("domain", "allow"),
                blocked_domains=pick("domain", "block"),
                allowed_urls=pick("url", "allow"),
                blocked_urls=pick("url", "block"),
            )
            custom = tuple(
                ScopedPolicy(
                    custom_policy(p.name, p.id, dict(p.settings)),
                    p.priority,
                    frozenset(str(r).lower() for r in p.recipients),
                    frozenset(str(d).lower() for d in p.recipient_domains),
                )
                for p in policies
                if p.tenant_id == tenant.id
            )
            info = TenantInfo(tenant.id, tenant.name, tenant.default_policy, context, own_boxes, custom)
            by_name[tenant.name] = info
            by_name[tenant.id] = info
            for domain in own_domains:
                by_domain[domain] = info
        return _Snapshot(self.monotonic(), by_domain, by_name)

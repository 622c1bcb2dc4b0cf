"""Which policy applies to a recipient: the mailbox's own assignment, then custom policies, then the tenant's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ramparts.policy.presets import DEFAULT, PRESETS, ThreatPolicy


@dataclass(frozen=True, slots=True)
class ScopedPolicy:
    """A custom policy with the recipients and domains it applies to."""

    policy: ThreatPolicy
    priority: int
    recipients: frozenset[str]
    domains: frozenset[str]

    def applies_to(self, recipient: str) -> bool:
        address = recipient.lower()
        return address in self.recipients or address.rpartition("@")[2] in self.domains


def choose_policy(
    recipient: str,
    *,
    mailbox_policy: str,
    tenant_default: str,
    custom: Sequence[ScopedPolicy] = (),
) -> ThreatPolicy:
    """Defender's order: Strict, then Standard, then custom policies by priority, then the default.

    A mailbox assigned to a preset or a named custom policy gets it; otherwise the first custom policy
    (lowest priority number) scoped to the recipient or its domain; otherwise the tenant's default.
    """
    by_name = {scoped.policy.name: scoped.policy for scoped in custom}
    if mailbox_policy in PRESETS:
        return PRESETS[mailbox_policy]
    if mailbox_policy in by_name:
        return by_name[mailbox_policy]
    for scoped in sorted(custom, key=lambda s: s.priority):
        if scoped.applies_to(recipient):
            return scoped.policy
    if tenant_default in PRESETS:
        return PRESETS[tenant_default]
    return by_name.get(tenant_default, DEFAULT)

from __future__ import annotations

from ramparts.policy.presets import DEFAULT, STANDARD, STRICT, custom_policy
from ramparts.policy.select import ScopedPolicy, choose_policy

FINANCE = ScopedPolicy(
    custom_policy("Finance", "g1", {"spam_action": "Quarantine"}), 1, frozenset(), frozenset({"contoso.com"})
)
VIP = ScopedPolicy(custom_policy("VIP", "g2", {"bulk_threshold": 3}), 0, frozenset({"ceo@contoso.com"}), frozenset())


def test_mailbox_preset_wins_over_custom_scope() -> None:
    assert choose_policy("ceo@contoso.com", mailbox_policy="Strict", tenant_default="Standard", custom=[VIP]) is STRICT


def test_custom_policies_by_priority() -> None:
    chosen = choose_policy("ceo@contoso.com", mailbox_policy="", tenant_default="Standard", custom=[FINANCE, VIP])
    assert chosen.name == "VIP"
    other = choose_policy("bob@contoso.com", mailbox_policy="", tenant_default="Standard", custom=[FINANCE, VIP])
    assert other.name == "Finance"


def test_tenant_default_then_builtin_default() -> None:
    assert choose_policy("x@other.com", mailbox_policy="", tenant_default="Standard", custom=[FINANCE]) is STANDARD
    assert choose_policy("x@other.com", mailbox_policy="", tenant_default="", custom=[]) is DEFAULT
    named = choose_policy("x@other.com", mailbox_policy="Finance", tenant_default="", custom=[FINANCE])
    assert named.name == "Finance"

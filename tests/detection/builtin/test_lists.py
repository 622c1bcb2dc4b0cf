from __future__ import annotations

import dataclasses

from ramparts.detection.builtin.findings import Technology
from ramparts.detection.builtin.lists import check_lists, domain_matches, url_matches
from ramparts.domain.enums import EmailActionPolicy
from ramparts.domain.verdicts import Verdict
from tests.detection.builtin.support import CONTOSO, envelope, mail, parse


def message_from(sender: str, body: str = "See https://portal.partner.example/docs/1 please.\n") -> object:
    return parse(mail(sender, body=body).as_bytes())


def test_matching_rules() -> None:
    assert domain_matches("mail.partner.example", "partner.example")
    assert domain_matches("partner.example", "*.partner.example")
    assert not domain_matches("notpartner.example", "partner.example")
    assert url_matches("https://evil.example/login?x=1", "evil.example", ["evil.example"]) == "evil.example"
    assert url_matches("https://a.evil.example/x", "a.evil.example", ["*.evil.example"]) == "*.evil.example"
    assert url_matches("https://evil.example/login/now", "evil.example", ["evil.example/login"]) == "evil.example/login"
    assert url_matches("https://evil.example/home", "evil.example", ["evil.example/login"]) == ""


def test_blocked_sender_and_domain_are_high_confidence_spam_with_block_override() -> None:
    tenant = dataclasses.replace(CONTOSO, blocked_senders=("Promo@Partner.example",))
    message = parse(mail("promo@partner.example").as_bytes())
    [finding] = check_lists(message, envelope("bounce@esp.example"), tenant)
    assert (finding.verdict, finding.override, finding.threat_name, finding.scl) == (
        Verdict.HIGH_CONFIDENCE_SPAM,
        "block",
        "TenantBlock.Sender",
        9,
    )
    assert finding.policy_family is EmailActionPolicy.ANTISPAM_HIGH_CONFIDENCE
    assert finding.reason == "The sender Promo@Partner.example is on the tenant block list."

    tenant = dataclasses.replace(CONTOSO, blocked_domains=("partner.example",))
    message = parse(mail("x@mail.partner.example").as_bytes())
    [finding] = check_lists(message, envelope("x@mail.partner.example"), tenant)
    assert (finding.threat_name, finding.override) == ("TenantBlock.Domain", "block")


def test_envelope_sender_is_matched_too() -> None:
    tenant = dataclasses.replace(CONTOSO, blocked_domains=("esp.example",))
    message = parse(mail("news@brand.example").as_bytes())
    assert [f.threat_name for f in check_lists(message, envelope("bounce@esp.example"), tenant)] == [
        "TenantBlock.Domain"
    ]


def test_blocked_url_is_phishing_with_url_reputation() -> None:
    tenant = dataclasses.replace(CONTOSO, blocked_urls=("portal.partner.example/docs",))
    message = parse(mail("a@partner.example", body="See https://portal.partner.example/docs/1 please.\n").as_bytes())
    [finding] = check_lists(message, envelope("a@partner.example"), tenant)
    assert (finding.verdict, finding.technology, finding.override) == (
        Verdict.PHISH,
        Technology.URL_MALICIOUS_REPUTATION,
        "block",
    )


def test_allow_entries_only_set_the_override_and_block_wins() -> None:
    tenant = dataclasses.replace(CONTOSO, allowed_domains=("partner.example",))
    message = parse(mail("a@partner.example").as_bytes())
    [finding] = check_lists(message, envelope("a@partner.example"), tenant)
    assert (finding.verdict, finding.override) == (Verdict.CLEAN, "allow")
    both = dataclasses.replace(tenant, blocked_senders=("a@partner.example",))
    assert [f.override for f in check_lists(message, envelope("a@partner.example"), both)] == ["block"]
    assert check_lists(message, envelope("a@partner.example"), CONTOSO) == []

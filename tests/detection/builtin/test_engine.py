from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import io
import zipfile
from typing import Any

import pytest

from ramparts.detection.builtin import BuiltinEngine, BuiltinSettings
from ramparts.detection.builtin import engine as engine_module
from ramparts.detection.dns import Resolver
from ramparts.detection.engine import EngineVerdict, TenantContext
from ramparts.domain.verdicts import Verdict
from tests.detection.builtin.conftest import DkimKey
from tests.detection.builtin.support import CONTOSO, envelope, mail, parse
from tests.detection.builtin.test_auth import adatum_mail, signed
from tests.detection.builtin.test_phishing import PHISH_HTML
from tests.detection.dnsserver import ZoneServer

EICAR = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*").encode()
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*" + "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def judge(
    engine: BuiltinEngine, raw: bytes, mail_from: str, peer: str = "192.0.2.10", tenant: TenantContext = CONTOSO
) -> EngineVerdict:
    return asyncio.run(engine.evaluate(parse(raw), envelope(mail_from, peer), tenant))


@pytest.fixture
def engine(resolver: Resolver) -> BuiltinEngine:
    return BuiltinEngine(resolver, BuiltinSettings(), clock=lambda: dt.datetime.now(dt.UTC))


def test_clean_business_mail_is_clean_with_every_check_passing(engine: BuiltinEngine, dkim_key: DkimKey) -> None:
    result = judge(engine, signed(adatum_mail(), dkim_key), "jordan@adatum.com")
    assert result.engine == "builtin"
    assert (result.verdict, result.confidence, result.override, result.error) == (Verdict.CLEAN, 0.8, "", "")
    assert result.authentication == {"SPF": "pass", "DKIM": "pass", "DMARC": "pass", "CompAuth": "pass"}
    assert (result.bulk_complaint_level, result.spam_confidence_level) == (0, 0)
    assert (result.detection_methods, result.threat_names, result.policy_family) == ({}, (), "")
    assert result.dmarc_policy == ""
    assert result.explanation == (
        "SPF pass for adatum.com from 192.0.2.10. DKIM signature of adatum.com verified. DMARC passed for adatum.com."
    )


def test_spoof_of_a_reject_domain_is_phishing_by_spoof_dmarc(engine: BuiltinEngine) -> None:
    raw = mail("Adatum Billing <billing@adatum.com>", "Overdue invoice").as_bytes()
    result = judge(engine, raw, "billing@adatum.com", peer="203.0.113.66")
    assert result.verdict is Verdict.PHISH
    assert result.detection_methods == {"Phish": ("Spoof DMARC",)}
    assert result.policy_family == "Anti-phishing spoof"
    assert result.threat_names == ("Ramparts.SpoofDmarc",)
    assert result.authentication == {"SPF": "fail", "DKIM": "none", "DMARC": "fail", "CompAuth": "fail"}
    assert result.dmarc_policy == "reject"
    assert result.explanation.startswith(
        "Phishing (Anti-phishing spoof). DMARC failed for adatum.com, whose policy is p=reject."
    )


def test_spoof_of_the_tenants_own_domain(engine: BuiltinEngine) -> None:
    raw = mail("Megan Bowen <megan.bowen@contoso.com>", "Gift cards").as_bytes()
    result = judge(engine, raw, "megan.bowen@contoso.com", peer="203.0.113.66")
    assert result.verdict is Verdict.PHISH
    assert result.detection_methods == {"Phish": ("Spoof intra-org", "Spoof DMARC")}
    assert result.policy_family == "Anti-phishing spoof"


def test_lookalike_credential_phish_is_high_confidence(engine: BuiltinEngine) -> None:
    raw = mail(
        "IT Service Desk <it-support@contos0.com>",
        "Action required: your mailbox password expires today",
        html=PHISH_HTML,
    ).as_bytes()
    result = judge(engine, raw, "it-support@contos0.com", peer="45.13.22.9")
    assert result.verdict is Verdict.HIGH_CONFIDENCE_PHISH
    assert result.detection_methods == {
        "Phish": ("Mixed analysis detection", "Advanced filter", "Impersonation domain")
    }
    assert result.policy_family == "Antispam phishing"
    assert result.threat_names == (
        "Ramparts.HighConfidencePhish",
        "Ramparts.CredentialPhish",
        "Ramparts.DomainImpersonation",
    )
    assert result.confidence == 0.97
    assert result.authentication["SPF"] == "none"


def test_user_impersonation(engine: BuiltinEngine) -> None:
    raw = mail("Nestor Wilke <nestor.ceo.office@gmail-mail.com>", "Urgent wire transfer needed today").as_bytes()
    result = judge(engine, raw, "nestor.ceo.office@gmail-mail.com")
    assert (result.verdict, result.policy_family) == (Verdict.PHISH, "Anti-phishing user impersonation")
    assert result.detection_methods == {"Phish": ("Impersonation user",)}


def test_eicar_in_a_zip_is_malware_with_attachment_verdicts(engine: BuiltinEngine) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("invoice.txt", EICAR)
    payload = buffer.getvalue()
    raw = mail("billing@adatum-invoices.com", "Overdue invoice", attachments=[("invoice.zip", payload)]).as_bytes()
    result = judge(engine, raw, "billing@adatum-invoices.com")
    assert (result.verdict, result.policy_family, result.confidence) == (Verdict.MALWARE, "Antimalware", 1.0)
    assert result.detection_methods == {"Malware": ("Antimalware protection",)}
    assert result.threat_names == ("EICAR-Test-File",)
    assert result.attachment_verdicts == {hashlib.sha256(payload).hexdigest(): Verdict.MALWARE}


def test_gtube_and_newsletter(engine: BuiltinEngine) -> None:
    result = judge(engine, mail("t@example.net", "test", f"{GTUBE}\n").as_bytes(), "t@example.net")
    assert (result.verdict, result.spam_confidence_level, result.policy_family) == (
        Verdict.HIGH_CONFIDENCE_SPAM,
        9,
        "Antispam high-confidence",
    )
    assert result.detection_methods == {"Spam": ("General filter",)}
    from tests.detection.builtin.test_bulk import newsletter

    news = judge(engine, newsletter(), "bounce-1@mail.cloudweekly.io")
    assert (news.verdict, news.bulk_complaint_level, news.policy_family) == (Verdict.CLEAN, 9, "Antispam bulk mail")
    assert "Bulk complaint level 9: List-Unsubscribe header" in news.explanation


def test_tenant_block_and_allow_overrides(engine: BuiltinEngine) -> None:
    raw = mail("promo@partner.example", "Hello").as_bytes()
    blocked = judge(
        engine, raw, "promo@partner.example", tenant=dataclasses.replace(CONTOSO, blocked_domains=("partner.example",))
    )
    assert (blocked.verdict, blocked.override, blocked.spam_confidence_level) == (
        Verdict.HIGH_CONFIDENCE_SPAM,
        "block",
        9,
    )
    allowed = judge(
        engine,
        raw,
        "promo@partner.example",
        tenant=dataclasses.replace(CONTOSO, allowed_senders=("promo@partner.example",)),
    )
    assert (allowed.verdict, allowed.override, allowed.spam_confidence_level) == (Verdict.CLEAN, "allow", -1)
    assert "The sender promo@partner.example is on the tenant allow list." in allowed.explanation


def test_a_failing_check_is_reported_and_the_others_still_run(
    engine: BuiltinEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine_module, "check_attachments", boom)
    raw = mail("Nestor Wilke <nw@example.net>", attachments=[("setup.exe", b"MZ" + b"\x00" * 64)]).as_bytes()
    result = judge(engine, raw, "nw@example.net")
    assert result.verdict is Verdict.PHISH
    assert result.error == ""
    assert result.attachment_verdicts == {}
    assert result.explanation.endswith("The attachment check failed (RuntimeError('boom')).")


def test_evaluate_never_raises(engine: BuiltinEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any) -> Any:
        raise RuntimeError("combine broke")

    monkeypatch.setattr(BuiltinEngine, "_combine", boom)
    result = judge(engine, adatum_mail(), "jordan@adatum.com")
    assert (result.verdict, result.confidence) == (Verdict.CLEAN, 0.0)
    assert result.error == "builtin engine failed: RuntimeError('combine broke')"


def test_without_a_resolver_authentication_is_not_reported() -> None:
    result = judge(BuiltinEngine(None), adatum_mail(), "jordan@adatum.com")
    assert (result.verdict, result.authentication) == (Verdict.CLEAN, {})
    assert result.explanation == "No detection signal fired; authentication was not checked."


def test_dns_failure_gives_temperror_not_a_verdict(engine: BuiltinEngine, dns_server: ZoneServer) -> None:
    dns_server.servfail.update({"adatum.com", "_dmarc.adatum.com"})
    result = judge(engine, adatum_mail(), "jordan@adatum.com")
    assert result.verdict is Verdict.CLEAN
    assert result.authentication == {"SPF": "temperror", "DKIM": "none", "DMARC": "temperror", "CompAuth": "none"}


def test_second_message_from_a_domain_is_judged_from_the_cache_on_the_loop(
    engine: BuiltinEngine, resolver: Resolver, dkim_key: DkimKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = signed(adatum_mail(), dkim_key)
    first = judge(engine, raw, "jordan@adatum.com")
    lookups = resolver.lookups
    threads: list[object] = []
    real = asyncio.to_thread

    async def counting(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        threads.append(func)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    second = judge(engine, raw, "jordan@adatum.com", peer="192.0.2.77")
    assert (
        second.authentication
        == first.authentication
        == {"SPF": "pass", "DKIM": "pass", "DMARC": "pass", "CompAuth": "pass"}
    )
    assert (resolver.lookups, threads) == (lookups, [])
    other = judge(engine, mail("a@partner.example").as_bytes(), "a@partner.example")
    assert other.authentication["SPF"] == "none"
    assert len(threads) == 1


def test_from_settings_builds_a_resolver_for_the_configured_nameserver(dns_server: ZoneServer, tmp_path: Any) -> None:
    from ramparts.config import load_settings

    settings = load_settings(tmp_path, dns_nameserver=dns_server.address, dns_timeout=0.5)
    engine = BuiltinEngine.from_settings(settings)
    assert engine.resolver is not None
    assert engine.resolver.txt("adatum.com") == ["v=spf1 ip4:192.0.2.0/24 -all"]

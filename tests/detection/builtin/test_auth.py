from __future__ import annotations

import time
from typing import Any

import dkim

from ramparts.detection.builtin import dmarc
from ramparts.detection.builtin.auth import authenticate, check_dkim, check_spf, composite
from ramparts.detection.builtin.settings import BuiltinSettings
from ramparts.detection.dns import Resolver
from ramparts.domain.enums import AuthResult
from tests.detection.builtin.conftest import DkimKey
from tests.detection.builtin.support import envelope, mail, parse
from tests.detection.dnsserver import ZoneServer

NOW = time.time()


class _ExpiringDKIM(dkim.DKIM):  # type: ignore[misc]
    """dkimpy cannot write x=; this adds it before the signature is computed."""

    expiry = 0

    def gen_header(self, fields: list[Any], *args: Any) -> Any:
        fields.insert(-1, (b"x", str(self.expiry).encode()))
        return super().gen_header(fields, *args)


def signed(raw: bytes, key: DkimKey, domain: bytes = b"adatum.com", *, expiry: int = 0) -> bytes:
    headers = [b"from", b"to", b"subject", b"date", b"message-id"]
    if expiry:
        signer = _ExpiringDKIM(raw, linesep=b"\n")
        signer.expiry = expiry
        header = signer.sign(b"sel1", domain, key.private_pem, include_headers=headers)
    else:
        header = dkim.sign(raw, b"sel1", domain, key.private_pem, include_headers=headers, linesep=b"\n")
    return bytes(header) + raw


def adatum_mail() -> bytes:
    return mail("Jordan Lee <jordan@adatum.com>").as_bytes()


# --- SPF -----------------------------------------------------------------------------------------


def test_spf_pass_fail_softfail_none(resolver: Resolver, dns_server: ZoneServer) -> None:
    dns_server.add("soft.example", "TXT", "v=spf1 ip4:192.0.2.0/24 ~all")
    assert check_spf(resolver, "192.0.2.55", "jordan@adatum.com", "mx.adatum.com")[:2] == (
        AuthResult.PASS,
        "adatum.com",
    )
    result, domain, reason = check_spf(resolver, "203.0.113.9", "jordan@adatum.com", "mx.adatum.com")
    assert (result, domain) == (AuthResult.FAIL, "adatum.com")
    assert reason.startswith("SPF fail for adatum.com from 203.0.113.9")
    assert check_spf(resolver, "203.0.113.9", "a@soft.example", "soft.example")[0] == AuthResult.SOFTFAIL
    assert check_spf(resolver, "203.0.113.9", "a@nothing.example", "nothing.example")[0] == AuthResult.NONE
    assert check_spf(resolver, "", "a@adatum.com", "adatum.com")[0] == AuthResult.NONE


def test_spf_include_a_mx_and_errors_go_through_our_resolver(resolver: Resolver, dns_server: ZoneServer) -> None:
    dns_server.add("mixed.example", "TXT", "v=spf1 include:_spf.esp.example a mx ?all")
    dns_server.add("_spf.esp.example", "TXT", "v=spf1 ip4:203.0.113.0/28 -all")
    dns_server.add("mixed.example", "A", "198.51.100.7")
    dns_server.add("mixed.example", "MX", "10 mail.mixed.example.")
    dns_server.add("mail.mixed.example", "A", "198.51.100.25")
    dns_server.add("broken.example", "TXT", "v=spf1 ip4:192.0.2.0/24 include:down.example -all")
    dns_server.add("bad.example", "TXT", "v=spf1 ip4:not-an-ip -all")
    dns_server.servfail.add("down.example")
    assert check_spf(resolver, "203.0.113.5", "a@mixed.example", "x")[0] == AuthResult.PASS
    assert check_spf(resolver, "198.51.100.7", "a@mixed.example", "x")[0] == AuthResult.PASS
    assert check_spf(resolver, "198.51.100.25", "a@mixed.example", "x")[0] == AuthResult.PASS
    assert check_spf(resolver, "192.0.2.99", "a@mixed.example", "x")[0] == AuthResult.NEUTRAL
    assert check_spf(resolver, "198.18.0.1", "a@broken.example", "x")[0] == AuthResult.TEMPERROR
    assert check_spf(resolver, "198.18.0.1", "a@bad.example", "x")[0] == AuthResult.PERMERROR
    assert dns_server.queries[("_spf.esp.example", "TXT")] == 1  # cached by the resolver across checks


def test_spf_uses_helo_for_the_null_sender(resolver: Resolver) -> None:
    assert check_spf(resolver, "192.0.2.1", "", "adatum.com")[:2] == (AuthResult.PASS, "adatum.com")


# --- DKIM ----------------------------------------------------------------------------------------


def test_dkim_pass_tamper_missing_key_and_unsigned(resolver: Resolver, dkim_key: DkimKey) -> None:
    raw = signed(adatum_mail(), dkim_key)
    outcome = check_dkim(resolver, raw, signatures=1, now=NOW)
    assert (outcome.result, outcome.pass_domains) == (AuthResult.PASS, ("adatum.com",))
    assert outcome.reasons == ("DKIM signature of adatum.com verified.",)

    tampered = raw.replace(b"The figures are attached.", b"The figures are in the link.")
    outcome = check_dkim(resolver, tampered, signatures=1, now=NOW)
    assert outcome.result == AuthResult.FAIL
    assert outcome.pass_domains == ()
    assert "body hash mismatch" in outcome.reasons[0]

    other = signed(adatum_mail(), dkim_key, domain=b"nokey.example")
    assert check_dkim(resolver, other, signatures=1, now=NOW).result == AuthResult.FAIL
    assert check_dkim(resolver, adatum_mail(), signatures=0, now=NOW).result == AuthResult.NONE


def test_dkim_expiry_is_judged_by_the_injected_clock(resolver: Resolver, dkim_key: DkimKey) -> None:
    raw = signed(adatum_mail(), dkim_key, expiry=int(NOW) + 3600)
    assert b"x=" in raw.split(b"\n\n", 1)[0]
    assert check_dkim(resolver, raw, signatures=1, now=NOW).result == AuthResult.PASS
    later = check_dkim(resolver, raw, signatures=1, now=NOW + 2 * 86400)
    assert later.result == AuthResult.FAIL
    assert later.reasons == ("DKIM signature of adatum.com failed: signature expired (x= is in the past).",)


def test_dkim_key_lookup_timeout_is_temperror(resolver: Resolver, dns_server: ZoneServer, dkim_key: DkimKey) -> None:
    dns_server.servfail.add("sel1._domainkey.adatum.com")
    raw = signed(adatum_mail(), dkim_key)
    assert check_dkim(resolver, raw, signatures=1, now=NOW).result == AuthResult.TEMPERROR


# --- DMARC ---------------------------------------------------------------------------------------


def test_dmarc_alignment_relaxed_and_strict(resolver: Resolver, dns_server: ZoneServer) -> None:
    dns_server.add("_dmarc.strict.example", "TXT", "v=DMARC1; p=reject; aspf=s; adkim=s")
    relaxed = dmarc.evaluate(
        resolver, "adatum.com", spf_result="pass", spf_domain="bounce.adatum.com", dkim_pass_domains=()
    )
    assert (relaxed.result, relaxed.spf_aligned, relaxed.policy) == (AuthResult.PASS, True, "reject")
    strict = dmarc.evaluate(
        resolver,
        "strict.example",
        spf_result="pass",
        spf_domain="bounce.strict.example",
        dkim_pass_domains=("mail.strict.example",),
    )
    assert (strict.result, strict.spf_aligned, strict.dkim_aligned) == (AuthResult.FAIL, False, False)
    by_dkim = dmarc.evaluate(
        resolver, "strict.example", spf_result="fail", spf_domain="esp.example", dkim_pass_domains=("strict.example",)
    )
    assert (by_dkim.result, by_dkim.dkim_aligned) == (AuthResult.PASS, True)


def test_dmarc_fail_none_bestguess_orgdomain_and_errors(resolver: Resolver, dns_server: ZoneServer) -> None:
    failed = dmarc.evaluate(resolver, "adatum.com", spf_result="fail", spf_domain="adatum.com", dkim_pass_domains=())
    assert (failed.result, failed.policy) == (AuthResult.FAIL, "reject")
    assert failed.reason.startswith("DMARC failed for adatum.com (p=reject)")

    assert (
        dmarc.evaluate(
            resolver, "plain.example", spf_result="pass", spf_domain="other.example", dkim_pass_domains=()
        ).result
        == AuthResult.NONE
    )
    guess = dmarc.evaluate(
        resolver, "plain.example", spf_result="pass", spf_domain="plain.example", dkim_pass_domains=()
    )
    assert guess.result == AuthResult.BESTGUESSPASS

    dns_server.add("_dmarc.org.example", "TXT", "v=DMARC1; p=none; sp=quarantine")
    sub = dmarc.evaluate(resolver, "mail.org.example", spf_result="fail", spf_domain="x.example", dkim_pass_domains=())
    assert (sub.result, sub.policy, sub.record.domain if sub.record else "") == (
        AuthResult.FAIL,
        "quarantine",
        "org.example",
    )

    dns_server.add("_dmarc.two.example", "TXT", "v=DMARC1; p=none", "v=DMARC1; p=reject")
    assert (
        dmarc.evaluate(
            resolver, "two.example", spf_result="pass", spf_domain="two.example", dkim_pass_domains=()
        ).result
        == AuthResult.PERMERROR
    )
    dns_server.servfail.add("_dmarc.down.example")
    assert (
        dmarc.evaluate(
            resolver, "down.example", spf_result="pass", spf_domain="down.example", dkim_pass_domains=()
        ).result
        == AuthResult.TEMPERROR
    )


def test_parse_record_rules() -> None:
    assert dmarc.parse_record("v=DMARC1; p=Quarantine; adkim=s", organizational=False, domain="a.example") == (
        dmarc.DmarcRecord("quarantine", "s", "r", "a.example")
    )
    assert dmarc.parse_record("v=DMARC1; p=bogus", organizational=False, domain="a") is None
    assert dmarc.parse_record("v=DMARC1; p=bogus; rua=mailto:x@a", organizational=False, domain="a") == (
        dmarc.DmarcRecord("none", domain="a")
    )
    assert dmarc.parse_record("v=spf1 -all", organizational=False, domain="a") is None
    assert dmarc.organizational_domain("a.b.mail.example.com") == "example.com"


# --- composite and the whole check ---------------------------------------------------------------


def test_composite_rule() -> None:
    assert composite("fail", "none", "pass") == AuthResult.PASS
    assert composite("pass", "none", "bestguesspass") == AuthResult.PASS
    assert composite("pass", "pass", "fail") == AuthResult.FAIL
    assert composite("pass", "none", "none") == AuthResult.SOFTPASS
    assert composite("softfail", "none", "none") == AuthResult.FAIL
    assert composite("none", "fail", "temperror") == AuthResult.FAIL
    assert composite("neutral", "none", "none") == AuthResult.NONE


def test_authenticate_signed_aligned_mail_passes_everything(resolver: Resolver, dkim_key: DkimKey) -> None:
    message = parse(signed(adatum_mail(), dkim_key))
    outcome = authenticate(message, envelope("jordan@adatum.com"), resolver, BuiltinSettings(), now=NOW)
    assert outcome.details() == {"SPF": "pass", "DKIM": "pass", "DMARC": "pass", "CompAuth": "pass"}
    assert outcome.dmarc_policy == "reject"
    assert outcome.source == "checked"


def test_authenticate_spoof_fails_dmarc_reject(resolver: Resolver) -> None:
    message = parse(mail("Adatum Billing <billing@adatum.com>").as_bytes())
    outcome = authenticate(
        message, envelope("billing@adatum.com", "203.0.113.66"), resolver, BuiltinSettings(), now=NOW
    )
    assert outcome.details() == {"SPF": "fail", "DKIM": "none", "DMARC": "fail", "CompAuth": "fail"}
    assert outcome.dmarc_policy == "reject"


def test_authenticate_believes_only_trusted_authserv_ids(resolver: Resolver, dns_server: ZoneServer) -> None:
    raw = mail(
        "Jordan Lee <jordan@adatum.com>",
        headers={
            "Authentication-Results": "mx.trusted.example; spf=pass smtp.mailfrom=adatum.com; dkim=pass; dmarc=pass"
        },
    ).as_bytes()
    message = parse(raw)
    spoofed = envelope("jordan@adatum.com", "203.0.113.66")
    untrusted = authenticate(message, spoofed, resolver, BuiltinSettings(), now=NOW)
    assert untrusted.details()["DMARC"] == "fail"
    trusted = authenticate(
        message, spoofed, resolver, BuiltinSettings(trusted_authserv_ids=("MX.trusted.example",)), now=NOW
    )
    assert trusted.details() == {"SPF": "pass", "DKIM": "pass", "DMARC": "pass", "CompAuth": "pass"}
    assert trusted.source == "mx.trusted.example"

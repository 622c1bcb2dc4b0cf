"""Phishing checks: impersonation of the tenant's people and domains, spoofing, credential-harvest links.

- user impersonation: the display name of a tenant user, the address outside the accepted domains ->
  Phishing, "Impersonation user", Anti-phishing user impersonation;
- domain impersonation: the From domain imitates an accepted domain (lookalike.py), or the display name
  names one -> Phishing, "Impersonation domain", Anti-phishing domain impersonation;
- intra-org spoof: From in an accepted domain, composite authentication failed, the peer outside the
  internal networks -> Phishing, "Spoof intra-org", Anti-phishing spoof;
- DMARC spoof: DMARC failed and the domain asks for quarantine or reject -> Phishing, "Spoof DMARC",
  Anti-phishing spoof;
- credential-harvest links scoring 3 or more (below) -> Phishing, "Advanced filter", Antispam phishing;
- those links together with an impersonation or spoof finding -> High confidence phishing,
  "Mixed analysis detection", Antispam phishing.

Link score: 2 for each strong signal (an HTML form posting to another domain, a password field,
link text naming a different domain than the link, a URL host imitating an accepted domain), 1 for
each weak one (sign-in wording in the host or path, an IP-address host, a URL shortener). Each kind
counts once. URLs on the tenant's allow list are not scored.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ramparts.detection.builtin.auth import AuthOutcome
from ramparts.detection.builtin.dmarc import organizational_domain
from ramparts.detection.builtin.findings import Finding, Technology
from ramparts.detection.builtin.lists import domain_matches, url_matches
from ramparts.detection.builtin.lookalike import imitates, similar_names
from ramparts.detection.engine import TenantContext
from ramparts.domain.enums import AuthResult, EmailActionPolicy
from ramparts.domain.verdicts import Verdict
from ramparts.mailflow.message import Envelope, ParsedMessage

SHORTENERS = frozenset(
    [
        "bit.ly",
        "tinyurl.com",
        "t.co",
        "goo.gl",
        "ow.ly",
        "is.gd",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "rb.gy",
        "tiny.cc",
        "t.ly",
        "s.id",
        "v.gd",
        "qrco.de",
        "lnkd.in",
    ]
)
_CREDENTIAL_WORDS = re.compile(
    r"log[-_]?[io]n|sign[-_]?in|logon|verif(?:y|ication)|account|passw(?:or)?d|secure|update|webmail|\bowa\b|"
    r"wp-login|authenticat|validat|unlock|suspend|reactivat|confirm|billing|wallet",
    re.IGNORECASE,
)
_FORM = re.compile(r"<form\b[^>]*>", re.IGNORECASE)
_FORM_ACTION = re.compile(r"""\baction\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
_PASSWORD_INPUT = re.compile(r"""<input\b[^>]*type\s*=\s*["']?password""", re.IGNORECASE)
_DOMAIN_IN_TEXT = re.compile(r"(?:https?://)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?:[/:]|\s|$)", re.IGNORECASE)
_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://([^/?#:]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LinkReport:
    score: int
    signals: tuple[str, ...]


def _is_ip(host: str) -> bool:
    if not (host[:1].isdigit() or host.startswith("[") or ":" in host):
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _accepted(domain: str, tenant: TenantContext) -> bool:
    return any(domain_matches(domain, accepted) for accepted in tenant.accepted_domains)


def _imitated(domain: str, tenant: TenantContext) -> str:
    if not domain or _accepted(domain, tenant):
        return ""
    return next((why for accepted in tenant.accepted_domains if (why := imitates(domain, accepted))), "")


def check_user_impersonation(message: ParsedMessage, tenant: TenantContext) -> list[Finding]:
    sender = message.from_
    if sender is None or not sender.display_name or _accepted(sender.domain, tenant):
        return []
    for user_name, user_address in tenant.users:
        if sender.address.lower() != user_address.lower() and similar_names(sender.display_name, user_name):
            return [
                Finding(
                    Verdict.PHISH,
                    Technology.IMPERSONATION_USER,
                    EmailActionPolicy.ANTIPHISH_USER_IMPERSONATION,
                    f"The display name '{sender.display_name}' imitates the tenant user {user_name} <{user_address}>, "
                    f"but the address is {sender.address}.",
                    threat_name="Ramparts.UserImpersonation",
                    confidence=0.85,
                )
            ]
    return []


def check_domain_impersonation(message: ParsedMessage, tenant: TenantContext) -> list[Finding]:
    sender = message.from_
    if sender is None or not sender.domain or _accepted(sender.domain, tenant):
        return []
    why = _imitated(sender.domain, tenant)
    if not why:
        shown = sender.display_name.lower()
        named = next((d for d in tenant.accepted_domains if d.lower() in shown), "")
        if named:
            why = f"the display name '{sender.display_name}' names the protected domain {named}"
    if not why:
        return []
    return [
        Finding(
            Verdict.PHISH,
            Technology.IMPERSONATION_DOMAIN,
            EmailActionPolicy.ANTIPHISH_DOMAIN_IMPERSONATION,
            f"The sender {sender.address} impersonates a protected domain: {why}.",
            threat_name="Ramparts.DomainImpersonation",
            confidence=0.85,
        )
    ]


def _internal(ip: str, networks: Sequence[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


def check_spoof(
    message: ParsedMessage,
    envelope: Envelope,
    tenant: TenantContext,
    auth: AuthOutcome,
    internal_networks: Sequence[str],
) -> list[Finding]:
    findings: list[Finding] = []
    domain = auth.from_domain
    if (
        domain
        and _accepted(domain, tenant)
        and auth.comp_auth == AuthResult.FAIL
        and not _internal(envelope.peer_ip, internal_networks)
    ):
        findings.append(
            Finding(
                Verdict.PHISH,
                Technology.SPOOF_INTRA_ORG,
                EmailActionPolicy.ANTIPHISH_SPOOF,
                f"The From domain {domain} is the tenant's own, but the message failed authentication "
                f"(SPF {auth.spf}, DKIM {auth.dkim}, DMARC {auth.dmarc}) "
                f"and came from {envelope.peer_ip or 'outside'}.",
                threat_name="Ramparts.SpoofIntraOrg",
                confidence=0.9,
            )
        )
    if auth.dmarc == AuthResult.FAIL and auth.dmarc_policy in ("quarantine", "reject"):
        findings.append(
            Finding(
                Verdict.PHISH,
                Technology.SPOOF_DMARC,
                EmailActionPolicy.ANTIPHISH_SPOOF,
                f"DMARC failed for {domain}, whose policy is p={auth.dmarc_policy}.",
                threat_name="Ramparts.SpoofDmarc",
                confidence=0.9,
            )
        )
    return findings


def score_links(message: ParsedMessage, tenant: TenantContext) -> LinkReport:
    sender_org = organizational_domain(message.from_.domain) if message.from_ and message.from_.domain else ""
    signals: dict[str, tuple[str, int]] = {}
    """kind -> (what was seen first, points): each kind counts once."""
    for url in message.urls:
        if url_matches(url.url, url.domain, tenant.allowed_urls):
            continue
        host = url.domain.lower()
        if _is_ip(host):
            signals.setdefault("ip", (f"a link to the IP address {host}", 1))
        if host in SHORTENERS:
            signals.setdefault("shortener", (f"a shortened link ({host})", 1))
        words = _CREDENTIAL_WORDS.search(url.url.split("://", 1)[-1].split("?", 1)[0])
        if words:
            signals.setdefault("wording", (f"sign-in wording in a link ({words.group(0).lower()})", 1))
        why = _imitated(host, tenant)
        if why:
            signals.setdefault("lookalike", (f"a link host that imitates the tenant ({why})", 2))
        shown = _DOMAIN_IN_TEXT.search(url.anchor_text.strip()) if url.anchor_text else None
        if shown and host and organizational_domain(shown.group(1)) != organizational_domain(host):
            signals.setdefault(
                "anchor", (f"link text showing {shown.group(1).lower()} while the link goes to {host}", 2)
            )
    html = message.html_body
    if html and "<form" in html.lower():
        for tag in _FORM.findall(html):
            action = _FORM_ACTION.search(tag)
            target = _HOST.match(action.group(1)) if action else None
            if target and organizational_domain(target.group(1)) != sender_org:
                signals.setdefault("form", (f"a form that posts to {target.group(1).lower()}", 2))
        if _PASSWORD_INPUT.search(html):
            signals.setdefault("password", ("a form asking for a password", 2))
    return LinkReport(sum(points for _, points in signals.values()), tuple(text for text, _ in signals.values()))


def check_links(message: ParsedMessage, tenant: TenantContext) -> list[Finding]:
    report = score_links(message, tenant)
    if report.score < 3:
        return []
    return [
        Finding(
            Verdict.PHISH,
            Technology.ADVANCED_FILTER,
            EmailActionPolicy.ANTISPAM_PHISH,
            f"Credential-harvest link score {report.score}: " + "; ".join(report.signals) + ".",
            threat_name="Ramparts.CredentialPhish",
            confidence=min(0.6 + report.score / 20, 0.95),
        )
    ]


def check_phishing(
    message: ParsedMessage,
    envelope: Envelope,
    tenant: TenantContext,
    auth: AuthOutcome | None,
    internal_networks: Sequence[str],
) -> list[Finding]:
    findings = check_user_impersonation(message, tenant) + check_domain_impersonation(message, tenant)
    if auth is not None:
        findings += check_spoof(message, envelope, tenant, auth, internal_networks)
    links = check_links(message, tenant)
    if links and findings:
        kinds = ", ".join(dict.fromkeys(f.technology for f in findings))
        findings.append(
            Finding(
                Verdict.HIGH_CONFIDENCE_PHISH,
                Technology.MIXED_ANALYSIS,
                EmailActionPolicy.ANTISPAM_PHISH,
                f"Credential-harvest links combined with {kinds}: high confidence phishing.",
                threat_name="Ramparts.HighConfidencePhish",
                confidence=0.97,
            )
        )
    return findings + links

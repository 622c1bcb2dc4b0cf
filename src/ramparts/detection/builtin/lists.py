"""The tenant's allow and block lists (senders, domains, URLs), as Defender's Tenant Allow/Block List.

Senders match the From address and the MAIL FROM address, case-insensitively. Domains match the
domain and its subdomains ("contoso.com" matches "mail.contoso.com"). URL entries are either a host
("evil.example", "*.evil.example": that host and its subdomains) or a host with a path ("evil.example/login":
a prefix of the URL without its scheme).

A blocked sender or domain is High confidence spam (Defender: "Blocked by organization policy");
a blocked URL makes the message Phishing. Allow entries only set the override; the merge step
refuses to let an allow pass Malware or High confidence phishing. Allowed URLs do not allow the
message: they only keep the URL checks quiet about that URL.
"""

from __future__ import annotations

from collections.abc import Iterable

from ramparts.detection.builtin.findings import Finding, Technology, allow
from ramparts.detection.engine import TenantContext
from ramparts.domain.enums import EmailActionPolicy
from ramparts.domain.verdicts import Verdict
from ramparts.mailflow.message import Envelope, ParsedMessage


def domain_matches(domain: str, entry: str) -> bool:
    domain, entry = domain.lower().rstrip("."), entry.lower().strip().removeprefix("*.").rstrip(".")
    return bool(entry) and (domain == entry or domain.endswith("." + entry))


def url_matches(url: str, domain: str, entries: Iterable[str]) -> str:
    """The first entry that matches the URL ("" for none)."""
    bare = url.lower().split("://", 1)[-1]
    for entry in entries:
        key = entry.lower().strip().split("://", 1)[-1]
        if "/" in key.rstrip("/"):
            if bare.startswith(key):
                return entry
        elif domain_matches(domain, key.rstrip("/")):
            return entry
    return ""


def check_lists(message: ParsedMessage, envelope: Envelope, tenant: TenantContext) -> list[Finding]:
    senders = {a.lower() for a in (message.from_.address if message.from_ else "", envelope.mail_from) if a}
    domains = {a.rpartition("@")[2] for a in senders if "@" in a}
    findings: list[Finding] = []

    blocked_sender = next((s for s in tenant.blocked_senders if s.lower() in senders), "")
    blocked_domain = next((d for d in tenant.blocked_domains for x in domains if domain_matches(x, d)), "")
    if blocked_sender or blocked_domain:
        what = f"sender {blocked_sender}" if blocked_sender else f"domain {blocked_domain}"
        findings.append(
            Finding(
                Verdict.HIGH_CONFIDENCE_SPAM,
                Technology.GENERAL_FILTER,
                EmailActionPolicy.ANTISPAM_HIGH_CONFIDENCE,
                f"The {what} is on the tenant block list.",
                threat_name="TenantBlock.Sender" if blocked_sender else "TenantBlock.Domain",
                confidence=1.0,
                override="block",
                scl=9,
            )
        )
    for url in message.urls:
        entry = url_matches(url.url, url.domain, tenant.blocked_urls)
        if entry:
            findings.append(
                Finding(
                    Verdict.PHISH,
                    Technology.URL_MALICIOUS_REPUTATION,
                    EmailActionPolicy.ANTISPAM_PHISH,
                    f"The URL {url.url} matches the tenant block list entry {entry}.",
                    threat_name="TenantBlock.Url",
                    confidence=1.0,
                    override="block",
                )
            )
            break

    allowed_sender = next((s for s in tenant.allowed_senders if s.lower() in senders), "")
    allowed_domain = next((d for d in tenant.allowed_domains for x in domains if domain_matches(x, d)), "")
    if (allowed_sender or allowed_domain) and not findings:
        what = f"sender {allowed_sender}" if allowed_sender else f"domain {allowed_domain}"
        findings.append(allow(f"The {what} is on the tenant allow list."))
    return findings

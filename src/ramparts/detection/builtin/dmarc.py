"""DMARC (RFC 7489) evaluated from the SPF and DKIM results: record discovery, alignment, policy.

Simplifications, on purpose:
- the organizational domain is the last two labels of a name ("mail.example.co.uk" -> "co.uk"); a
  public-suffix list would be exact, at the price of a data file to keep current;
- pct= is not applied (a failing message is judged as if pct=100); ri=, rua=, ruf=, fo= are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from ramparts.detection.dns import DnsTempError, Lookup
from ramparts.domain.enums import AuthResult

_POLICIES = ("none", "quarantine", "reject")


@dataclass(frozen=True, slots=True)
class DmarcRecord:
    policy: str
    """none, quarantine or reject: already the sp= value when the record came from the organizational domain."""
    adkim: str = "r"
    aspf: str = "r"
    domain: str = ""
    """Where the record was found."""


@dataclass(frozen=True, slots=True)
class DmarcResult:
    result: AuthResult
    """pass, fail, bestguesspass (no record, but aligned SPF or DKIM passed), none, temperror, permerror."""
    record: DmarcRecord | None
    spf_aligned: bool
    dkim_aligned: bool
    reason: str

    @property
    def policy(self) -> str:
        return self.record.policy if self.record else ""


def organizational_domain(domain: str) -> str:
    labels = domain.lower().rstrip(".").split(".")
    return ".".join(labels[-2:])


def aligned(identifier: str, from_domain: str, mode: str) -> bool:
    identifier, from_domain = identifier.lower().rstrip("."), from_domain.lower().rstrip(".")
    if not identifier or not from_domain:
        return False
    if mode == "s":
        return identifier == from_domain
    return organizational_domain(identifier) == organizational_domain(from_domain)


def parse_record(text: str, *, organizational: bool, domain: str) -> DmarcRecord | None:
    """None when the text is not a usable DMARC record."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags[key.strip().lower()] = value.strip()
    if tags.get("v", "").upper() != "DMARC1":
        return None
    policy = tags.get("p", "").lower()
    if policy not in _POLICIES:
        if "rua" not in tags:
            return None
        policy = "none"  # RFC 7489 6.6.3: invalid p= with a valid rua= is p=none
    if organizational and tags.get("sp", "").lower() in _POLICIES:
        policy = tags["sp"].lower()
    return DmarcRecord(
        policy=policy,
        adkim="s" if tags.get("adkim", "r").lower() == "s" else "r",
        aspf="s" if tags.get("aspf", "r").lower() == "s" else "r",
        domain=domain,
    )


def find_record(lookup: Lookup, from_domain: str) -> DmarcRecord | AuthResult | None:
    """The record for from_domain, falling back to its organizational domain; an AuthResult on error."""
    org = organizational_domain(from_domain)
    candidates = [(from_domain, False)] + ([(org, True)] if org != from_domain else [])
    for domain, is_org in candidates:
        try:
            texts = [t for t in lookup.txt(f"_dmarc.{domain}") if t[:8].upper().startswith("V=DMARC1")]
        except DnsTempError:
            return AuthResult.TEMPERROR
        if len(texts) > 1:
            return AuthResult.PERMERROR
        if texts:
            record = parse_record(texts[0], organizational=is_org, domain=domain)
            return record if record is not None else AuthResult.PERMERROR
    return None


def evaluate(
    lookup: Lookup,
    from_domain: str,
    *,
    spf_result: str,
    spf_domain: str,
    dkim_pass_domains: tuple[str, ...],
) -> DmarcResult:
    if not from_domain:
        return DmarcResult(AuthResult.NONE, None, False, False, "The message has no From domain to check DMARC for.")
    found = find_record(lookup, from_domain)
    if isinstance(found, AuthResult):
        word = "could not be fetched" if found is AuthResult.TEMPERROR else "is not valid"
        return DmarcResult(found, None, False, False, f"The DMARC record of {from_domain} {word}.")
    adkim = found.adkim if found else "r"
    aspf = found.aspf if found else "r"
    spf_ok = spf_result == AuthResult.PASS and aligned(spf_domain, from_domain, aspf)
    dkim_ok = any(aligned(d, from_domain, adkim) for d in dkim_pass_domains)
    if found is None:
        if spf_ok or dkim_ok:
            return DmarcResult(
                AuthResult.BESTGUESSPASS,
                None,
                spf_ok,
                dkim_ok,
                f"{from_domain} publishes no DMARC record; aligned {'SPF' if spf_ok else 'DKIM'} passed.",
            )
        return DmarcResult(AuthResult.NONE, None, False, False, f"{from_domain} publishes no DMARC record.")
    if spf_ok or dkim_ok:
        return DmarcResult(AuthResult.PASS, found, spf_ok, dkim_ok, f"DMARC passed for {from_domain}.")
    return DmarcResult(
        AuthResult.FAIL,
        found,
        False,
        False,
        f"DMARC failed for {from_domain} (p={found.policy}): neither SPF ({spf_result} for "
        f"{spf_domain or 'no domain'}) nor DKIM ({', '.join(dkim_pass_domains) or 'no passing signature'}) "
        "is aligned with the From domain.",
    )

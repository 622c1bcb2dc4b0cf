"""Sender authentication: SPF (pyspf), DKIM (dkimpy), DMARC (dmarc.py) and the composite result.

Every DNS lookup goes through our resolver: pyspf by a `query` subclass whose `dns()` method asks
the resolver (instead of patching pyspf's module-global `DNSLookup`, which other threads share), and
dkimpy by its `dnsfunc` parameter.

CompAuth, our rule (Defender does not publish its own):
- pass      when DMARC passes, or no DMARC record exists and an aligned SPF or DKIM passed (bestguesspass);
- fail      when DMARC fails; or, with no usable DMARC record, SPF fails or soft-fails or a DKIM
            signature fails while nothing passed;
- softpass  with no usable DMARC record, when SPF or DKIM passed for a domain not aligned with From;
- none      otherwise (nothing to judge by).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dkim
import spf

from ramparts.detection.builtin import dmarc
from ramparts.detection.builtin.settings import BuiltinSettings
from ramparts.detection.dns import DnsTempError, Lookup
from ramparts.domain.enums import AuthResult
from ramparts.mailflow.message import AuthResultsHeader, Envelope, ParsedMessage

_SPF_WORDS = {w.value: w for w in AuthResult}
_HEADER_WORDS = {**_SPF_WORDS, "hardfail": AuthResult.FAIL, "bestguess": AuthResult.BESTGUESSPASS}


@dataclass(frozen=True, slots=True)
class AuthOutcome:
    spf: AuthResult
    dkim: AuthResult
    dmarc: AuthResult
    comp_auth: AuthResult
    from_domain: str
    dmarc_policy: str = ""
    """p= (or sp=) of the DMARC record that applied; "" when none was found."""
    source: str = "checked"
    """"checked" when we ran the checks, else the trusted authserv-id whose header we believed."""
    reasons: tuple[str, ...] = ()

    def details(self) -> dict[str, str]:
        """AuthenticationDetails JSON keys and values."""
        return {"SPF": self.spf, "DKIM": self.dkim, "DMARC": self.dmarc, "CompAuth": self.comp_auth}


class _ResolverQuery(spf.query):  # type: ignore[misc]
    """pyspf's query with its DNS routed through our resolver (which does the caching and CNAMEs)."""

    def __init__(self, lookup: Lookup, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lookup = lookup

    def dns(self, name: str, qtype: str, cnames: object = None, ignore_void: bool = False) -> list[Any]:
        name = str(name).rstrip(".").lower()
        if not name or not all(0 < len(label) < 64 for label in name.split(".")):
            return []
        result: list[Any]
        try:
            if qtype == "TXT":
                result = list(self._lookup.txt_raw(name))
            elif qtype == "A":
                result = self._lookup.a(name)
            elif qtype == "AAAA":
                result = self._lookup.aaaa(name)
            elif qtype == "MX":
                result = self._lookup.mx(name)
            elif qtype == "PTR":
                result = self._lookup.ptr(name)
            else:
                result = []  # type 99 SPF records are obsolete (RFC 7208 3.1)
        except DnsTempError as exc:
            raise spf.TempError(f"DNS {exc}") from exc
        if not result and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        return result


def check_spf(lookup: Lookup, ip: str, mail_from: str, helo: str) -> tuple[AuthResult, str, str]:
    """(result, the domain checked, reason)."""
    domain = mail_from.rpartition("@")[2].lower() if "@" in mail_from else helo.lower()
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return AuthResult.NONE, domain, "SPF not checked: the connecting IP address is unknown."
    if not domain:
        return AuthResult.NONE, "", "SPF not checked: no MAIL FROM or HELO domain."
    try:
        records = lookup.txt_raw(domain)
    except DnsTempError:
        records = [(b"v=spf1",)]  # let pyspf meet the same error and word it
    if not any(spf.RE_SPF.match(b"".join(parts)) for parts in records):
        # No SPF record: the answer is "none" (RFC 7208 4.5) without building a pyspf query.
        return AuthResult.NONE, domain, f"SPF none for {domain} from {ip}."
    query = _ResolverQuery(lookup, i=ip, s=mail_from, h=helo or domain)
    word, _code, explanation = query.check()
    result = _SPF_WORDS.get(str(word), AuthResult.PERMERROR)
    reason = f"SPF {result} for {domain} from {ip}"
    if result not in (AuthResult.PASS, AuthResult.NONE) and explanation:
        reason += f" ({explanation})"
    return result, domain, reason + "."


@dataclass(frozen=True, slots=True)
class DkimOutcome:
    result: AuthResult
    pass_domains: tuple[str, ...]
    reasons: tuple[str, ...]


def check_dkim(
    lookup: Lookup, raw: bytes, *, signatures: int, now: float, min_key_bits: int = 1024, max_signatures: int = 5
) -> DkimOutcome:
    """Verify up to max_signatures DKIM-Signature headers; `now` (epoch seconds) judges x= expiry."""
    if signatures == 0:
        return DkimOutcome(AuthResult.NONE, (), ())
    temp_errors: list[str] = []

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        try:
            records = lookup.txt_raw(name.decode("ascii", "replace"))
        except DnsTempError as exc:
            temp_errors.append(str(exc))
            raise dkim.DnsTimeoutError(str(exc)) from exc
        joined = [b"".join(parts) for parts in records]
        return next((r for r in joined if b"p=" in r), joined[0] if joined else None)

    verifier = dkim.DKIM(raw, minkey=min_key_bits)
    passed: list[str] = []
    reasons: list[str] = []
    failed = False
    for index in range(min(signatures, max_signatures)):
        verifier.signature_fields = {}
        try:
            ok = bool(verifier.verify(idx=index, dnsfunc=dnsfunc))
            error = "" if ok else "signature did not verify"
        except dkim.DKIMException as exc:
            ok, error = False, str(exc)
        fields: dict[bytes, bytes] = getattr(verifier, "signature_fields", {}) or {}
        domain = fields.get(b"d", b"?").decode("ascii", "replace").lower()
        expiry = fields.get(b"x", b"")
        if ok and expiry.isdigit() and int(expiry) < now:
            ok, error = False, "signature expired (x= is in the past)"
        if ok:
            passed.append(domain)
            reasons.append(f"DKIM signature of {domain} verified.")
        else:
            failed = True
            reasons.append(f"DKIM signature of {domain} failed: {error}.")
    if passed:
        result = AuthResult.PASS
    elif temp_errors:
        result = AuthResult.TEMPERROR
    else:
        result = AuthResult.FAIL if failed else AuthResult.NONE
    return DkimOutcome(result, tuple(dict.fromkeys(passed)), tuple(reasons))


def composite(spf_result: str, dkim_result: str, dmarc_result: str) -> AuthResult:
    if dmarc_result in (AuthResult.PASS, AuthResult.BESTGUESSPASS):
        return AuthResult.PASS
    if dmarc_result == AuthResult.FAIL:
        return AuthResult.FAIL
    if AuthResult.PASS in (spf_result, dkim_result):
        return AuthResult.SOFTPASS
    if spf_result in (AuthResult.FAIL, AuthResult.SOFTFAIL) or dkim_result == AuthResult.FAIL:
        return AuthResult.FAIL
    return AuthResult.NONE


def trusted_header(message: ParsedMessage, trusted_ids: Sequence[str]) -> AuthResultsHeader | None:
    """The topmost Authentication-Results header written by a trusted authserv-id."""
    if not trusted_ids:
        return None
    wanted = {t.lower() for t in trusted_ids}
    return next((h for h in message.auth_results if h.authserv_id.lower() in wanted), None)


def _from_header(header: AuthResultsHeader, lookup: Lookup, from_domain: str) -> AuthOutcome:
    results = {key.lower(): value.lower() for key, value in header.results.items()}
    spf_result = _HEADER_WORDS.get(results.get("spf", ""), AuthResult.NONE)
    dkim_result = _HEADER_WORDS.get(results.get("dkim", ""), AuthResult.NONE)
    dmarc_result = _HEADER_WORDS.get(results.get("dmarc", ""), AuthResult.NONE)
    comp = _HEADER_WORDS.get(results.get("compauth", "")) or composite(spf_result, dkim_result, dmarc_result)
    policy = ""
    if dmarc_result == AuthResult.FAIL and from_domain:
        found = dmarc.find_record(lookup, from_domain)
        policy = found.policy if isinstance(found, dmarc.DmarcRecord) else ""
    reason = (
        f"Authentication results taken from the trusted header of {header.authserv_id}: "
        f"SPF {spf_result}, DKIM {dkim_result}, DMARC {dmarc_result}."
    )
    return AuthOutcome(spf_result, dkim_result, dmarc_result, comp, from_domain, policy, header.authserv_id, (reason,))


def authenticate(
    message: ParsedMessage, envelope: Envelope, lookup: Lookup, settings: BuiltinSettings, *, now: float
) -> AuthOutcome:
    from_domain = message.from_.domain if message.from_ else ""
    header = trusted_header(message, settings.trusted_authserv_ids)
    if header is not None:
        return _from_header(header, lookup, from_domain)
    spf_result, spf_domain, spf_reason = check_spf(lookup, envelope.peer_ip, envelope.mail_from, envelope.helo)
    dkim_outcome = check_dkim(
        lookup,
        message.raw,
        signatures=len(message.header_all("DKIM-Signature")),
        now=now,
        min_key_bits=settings.dkim_min_key_bits,
        max_signatures=settings.max_dkim_signatures,
    )
    dmarc_result = dmarc.evaluate(
        lookup, from_domain, spf_result=spf_result, spf_domain=spf_domain, dkim_pass_domains=dkim_outcome.pass_domains
    )
    return AuthOutcome(
        spf=spf_result,
        dkim=dkim_outcome.result,
        dmarc=dmarc_result.result,
        comp_auth=composite(spf_result, dkim_outcome.result, dmarc_result.result),
        from_domain=from_domain,
        dmarc_policy=dmarc_result.policy,
        reasons=(spf_reason, *dkim_outcome.reasons, dmarc_result.reason),
    )

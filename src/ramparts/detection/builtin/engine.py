"""The builtin engine: runs every check and folds the findings into one EngineVerdict.

The most serious finding decides the verdict; among equally serious findings, the most confident
(then the earliest: lists, attachments, spoofing, impersonation, links, content) names the policy
family. A check that raises is reported in the explanation and the others still run.

Authentication runs first against the resolver's cache on the event loop; only when an answer is
missing does it run again in a worker thread with real lookups (the checks are deterministic given
DNS, so the rerun is the same computation with the gaps filled).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ramparts.detection.builtin.attachments import AttachmentReport, check_attachments
from ramparts.detection.builtin.auth import AuthOutcome, authenticate
from ramparts.detection.builtin.bulk import BulkReport, check_bulk_and_spam
from ramparts.detection.builtin.findings import Finding
from ramparts.detection.builtin.lists import check_lists
from ramparts.detection.builtin.phishing import check_phishing
from ramparts.detection.builtin.settings import BuiltinSettings
from ramparts.detection.dns import CacheMiss, DnsSource, resolver_from_settings
from ramparts.detection.engine import EngineVerdict, TenantContext
from ramparts.domain.enums import AuthResult, EmailActionPolicy
from ramparts.domain.verdicts import Verdict, most_serious
from ramparts.mailflow.message import Envelope, ParsedMessage

if TYPE_CHECKING:
    from ramparts.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
CLEAN_CONFIDENCE = 0.8


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class BuiltinEngine:
    name = "builtin"

    def __init__(
        self,
        resolver: DnsSource | None,
        settings: BuiltinSettings | None = None,
        *,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        """`resolver=None` turns SPF, DKIM and DMARC off (AuthenticationDetails stay empty)."""
        self.resolver = resolver
        self.settings = settings or BuiltinSettings()
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, builtin: BuiltinSettings | None = None) -> BuiltinEngine:
        return cls(
            resolver_from_settings(settings),
            builtin or BuiltinSettings(trusted_authserv_ids=settings.trusted_authserv_ids),
        )

    async def evaluate(self, message: ParsedMessage, envelope: Envelope, tenant: TenantContext) -> EngineVerdict:
        try:
            return await self._evaluate(message, envelope, tenant)
        except Exception as exc:  # the engine contract: never raise
            log.exception("builtin engine failed on %s", envelope.network_message_id)
            return EngineVerdict(self.name, Verdict.CLEAN, 0.0, error=f"builtin engine failed: {exc!r}")

    async def _authenticate(self, message: ParsedMessage, envelope: Envelope) -> AuthOutcome | None:
        if self.resolver is None or not self.settings.check_authentication:
            return None
        now = self.clock().timestamp()
        try:
            return authenticate(message, envelope, self.resolver.cache_only(), self.settings, now=now)
        except CacheMiss:
            resolver = self.resolver
            return await asyncio.to_thread(authenticate, message, envelope, resolver, self.settings, now=now)

    async def _evaluate(self, message: ParsedMessage, envelope: Envelope, tenant: TenantContext) -> EngineVerdict:
        errors: list[str] = []

        def guarded(check: str, run: Callable[[], T], fallback: T) -> T:
            try:
                return run()
            except Exception as exc:
                log.exception("builtin %s check failed on %s", check, envelope.network_message_id)
                errors.append(f"The {check} check failed ({exc!r}).")
                return fallback

        auth: AuthOutcome | None = None
        try:
            auth = await self._authenticate(message, envelope)
        except Exception as exc:
            log.exception("builtin authentication failed on %s", envelope.network_message_id)
            errors.append(f"The authentication check failed ({exc!r}).")

        findings: list[Finding] = guarded("tenant list", lambda: check_lists(message, envelope, tenant), [])
        attachments = guarded("attachment", lambda: check_attachments(message, self.settings), AttachmentReport())
        findings += attachments.findings
        findings += guarded(
            "phishing",
            lambda: check_phishing(message, envelope, tenant, auth, self.settings.internal_networks),
            [],
        )
        bulk = guarded("bulk and spam", lambda: check_bulk_and_spam(message), BulkReport(0, (), (), 0))
        findings += bulk.findings
        return self._combine(findings, auth, bulk, attachments, errors)

    def _combine(
        self,
        findings: list[Finding],
        auth: AuthOutcome | None,
        bulk: BulkReport,
        attachments: AttachmentReport,
        errors: list[str],
    ) -> EngineVerdict:
        verdict = most_serious(f.verdict for f in findings)
        ranked = sorted(
            (f for f in findings if f.verdict is not Verdict.CLEAN), key=lambda f: (-f.verdict.severity, -f.confidence)
        )
        deciding = ranked[0] if ranked else None

        methods: dict[str, list[str]] = {}
        for finding in ranked:
            technologies = methods.setdefault(finding.verdict.threat_type, [])
            if finding.technology and finding.technology not in technologies:
                technologies.append(finding.technology)
        names = tuple(dict.fromkeys(f.threat_name for f in ranked if f.threat_name))

        overrides = {f.override for f in findings if f.override}
        override = "block" if "block" in overrides else "allow" if "allow" in overrides else ""

        scl_values = [f.scl for f in findings if f.scl is not None]
        if scl_values:
            scl = max(scl_values)
        elif override == "allow" and deciding is None:
            scl = -1
        elif verdict is Verdict.CLEAN:
            scl = 1 if bulk.spam_score else 0
        else:
            scl = 1

        family = deciding.policy_family.value if deciding else ""
        if deciding is None and bulk.bcl >= 4:
            family = EmailActionPolicy.ANTISPAM_BULK.value

        sentences: list[str] = []
        if deciding is not None:
            sentences.append(f"{verdict.value} ({family}).")
        sentences += [f.reason for f in ranked]
        sentences += [f.reason for f in findings if f.override == "allow"]
        if auth is not None:
            sentences += auth.reasons
        if bulk.bcl_reasons:
            sentences.append(f"Bulk complaint level {bulk.bcl}: " + ", ".join(bulk.bcl_reasons) + ".")
        sentences += errors
        if not sentences:
            sentences.append("No detection signal fired; authentication was not checked.")

        return EngineVerdict(
            engine=self.name,
            verdict=verdict,
            confidence=deciding.confidence if deciding else (CLEAN_CONFIDENCE if not errors else 0.5),
            threat_names=names,
            explanation=" ".join(sentences),
            detection_methods={threat: tuple(techs) for threat, techs in methods.items()},
            bulk_complaint_level=bulk.bcl,
            spam_confidence_level=scl,
            authentication=auth.details() if auth else {},
            policy_family=family,
            dmarc_policy=auth.dmarc_policy if auth and auth.dmarc == AuthResult.FAIL else "",
            attachment_verdicts=dict(attachments.verdicts),
            override=override,
        )

"""rspamd as a native detection engine: the raw message goes to rspamd's /checkv2, the reply becomes a verdict.

The request carries the SMTP envelope in rspamd's protocol headers (`IP`, `Helo`, `From`, one `Rcpt` per
recipient, `Queue-Id`, and `Password` when the URL is a controller that wants one). The reply is read by
`rspamd_mapping.parse_reply` and turned into a verdict by `rspamd_mapping.judge` with a configurable
`RspamdMapping`.

The engine never raises: when rspamd is unreachable, too slow, or answers something that is not a /checkv2
reply, it returns Clean with confidence 0 and `error` set, so the pipeline records the gap and mail flows.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import httpx

from ramparts.detection.engine import EngineVerdict, TenantContext
from ramparts.detection.rspamd_mapping import ReplyError, RspamdMapping, judge, parse_reply
from ramparts.domain.verdicts import Verdict
from ramparts.mailflow.message import Envelope, ParsedMessage

if TYPE_CHECKING:
    from ramparts.config import Settings

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
"""Seconds for one whole request; rspamd's own task_timeout defaults to 8 s."""
CONNECT_TIMEOUT = 2.0


def _header(value: str) -> bytes:
    """A header value as rspamd reads it: UTF-8 bytes with no line breaks or NULs (envelope data is untrusted)."""
    return value.replace("\r", " ").replace("\n", " ").replace("\0", "").strip().encode("utf-8")


def request_headers(envelope: Envelope, *, password: str = "", settings_id: str = "") -> list[tuple[bytes, bytes]]:
    """rspamd protocol headers for one message; `Rcpt` repeats once per recipient."""
    headers: list[tuple[bytes, bytes]] = [(b"From", _header(envelope.mail_from) or b"<>")]
    headers += [(b"Rcpt", _header(rcpt)) for rcpt in envelope.rcpt_tos if _header(rcpt)]
    if envelope.peer_ip:
        headers.append((b"IP", _header(envelope.peer_ip)))
    if envelope.helo:
        headers.append((b"Helo", _header(envelope.helo)))
    if envelope.network_message_id:
        headers.append((b"Queue-Id", _header(envelope.network_message_id)))
    if password:
        headers.append((b"Password", _header(password)))
    if settings_id:
        headers.append((b"Settings-ID", _header(settings_id)))
    return headers


def _reason(exc: BaseException) -> str:
    """The most specific human reason in an exception chain ("connection refused")."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno:
            return os.strerror(seen.errno).lower()
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__


class RspamdEngine:
    """Judge messages with a running rspamd (normal worker, proxy, or controller with a password)."""

    name = "rspamd"

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        *,
        mapping: RspamdMapping | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        password: str = "",
        settings_id: str = "",
    ) -> None:
        """`url` is the worker's base URL (http://127.0.0.1:11333); the caller owns `client`."""
        self.url = url.rstrip("/")
        self.client = client
        self.mapping = mapping or RspamdMapping()
        self.timeout = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout))
        self.password = password
        self.settings_id = settings_id
        self._owns_client = False

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
        mapping: RspamdMapping | None = None,
        timeout: float | None = None,
    ) -> RspamdEngine:
        """The engine for `settings.rspamd_url`; without `client` it makes one and closes it in `aclose()`."""
        if mapping is None and settings.rspamd_mapping_file is not None:
            mapping = RspamdMapping.load(settings.rspamd_mapping_file)
        engine = cls(
            settings.rspamd_url,
            client or httpx.AsyncClient(),
            mapping=mapping,
            timeout=settings.rspamd_timeout if timeout is None else timeout,
            password=settings.rspamd_password,
        )
        engine._owns_client = client is None
        return engine

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    def _failed(self, reason: str) -> EngineVerdict:
        log.warning("%s", reason)
        return EngineVerdict(self.name, Verdict.CLEAN, 0.0, error=reason)

    async def evaluate(self, message: ParsedMessage, envelope: Envelope, tenant: TenantContext) -> EngineVerdict:
        try:
            return await self._evaluate(message, envelope)
        except Exception as exc:  # the engine contract: never raise
            log.exception("rspamd engine failed on %s", envelope.network_message_id)
            return EngineVerdict(self.name, Verdict.CLEAN, 0.0, error=f"rspamd engine failed: {exc!r}")

    async def _evaluate(self, message: ParsedMessage, envelope: Envelope) -> EngineVerdict:
        headers = request_headers(envelope, password=self.password, settings_id=self.settings_id)
        try:
            response = await self.client.post(
                f"{self.url}/checkv2", content=message.raw, headers=headers, timeout=self.timeout
            )
        except httpx.ConnectTimeout:
            return self._failed(f"rspamd unreachable at {self.url}: connect timed out after {self.timeout.connect:g}s")
        except httpx.TimeoutException:
            return self._failed(f"rspamd at {self.url} timed out after {self.timeout.read:g}s")
        except httpx.ConnectError as exc:
            return self._failed(f"rspamd unreachable at {self.url}: {_reason(exc)}")
        except httpx.HTTPError as exc:
            return self._failed(f"rspamd at {self.url} failed: {_reason(exc)}")
        if response.status_code != httpx.codes.OK:
            snippet = response.text[:200].strip()
            return self._failed(f"rspamd at {self.url} answered HTTP {response.status_code}: {snippet}")
        try:
            reply = parse_reply(response.content)
        except ReplyError as exc:
            return self._failed(f"rspamd at {self.url} answered something that is not a /checkv2 reply: {exc}")
        judged = judge(reply, self.mapping)
        return EngineVerdict(
            engine=self.name,
            verdict=judged.verdict,
            confidence=judged.confidence,
            threat_names=judged.threat_names,
            explanation=judged.explanation,
            detection_methods=judged.detection_methods,
            spam_confidence_level=judged.spam_confidence_level,
            policy_family=judged.policy_family,
            dmarc_policy=judged.dmarc_policy,
        )

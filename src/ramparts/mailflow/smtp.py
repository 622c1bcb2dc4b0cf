"""The SMTP listener: aiosmtpd on the server's own event loop, answering from named reply constants.

Every accepted message is written to the spool (fsynced) before the 250 reply, so an acknowledged
message survives a crash; the pipeline picks it up from the spool. Recipients are checked against
the accepted domains of all tenants (cached a few seconds); the pipeline splits by tenant later.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import re
import socket
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AnyStr

from aiosmtpd.smtp import MISSING, SMTP
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ramparts.mailflow.message import Envelope
from ramparts.mailflow.smtp_data import DataState, read_data
from ramparts.mailflow.smtp_limits import ConnectionLimiter, Monotonic, RateLimiter
from ramparts.mailflow.spool import Spool, SpoolEntry

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
DomainLookup = Callable[[str], Awaitable[str | None]]
"""Accepted domain -> the id of the tenant that owns it, None when no tenant does."""
OnQueued = Callable[[SpoolEntry], None]

IDENT = "ramparts ESMTP"
READ_BUFFER_BYTES = 256 * 1024

# Replies of ramparts' own hooks (RFC 5321 codes, RFC 3463 enhanced codes).
REPLY_OK = "250 2.0.0 OK queued as {queue_id}"
REPLY_SENDER_OK = "250 2.1.0 Sender OK"
REPLY_RECIPIENT_OK = "250 2.1.5 Recipient OK"
REPLY_UNKNOWN_DOMAIN = "550 5.7.1 Relay access denied: {domain} is not an accepted domain"
REPLY_BAD_RECIPIENT = "501 5.1.3 Bad recipient address syntax"
REPLY_TOO_BIG = "552 5.3.4 Message size exceeds fixed limit"
REPLY_TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
REPLY_TEMP_FAILURE = "451 4.3.0 Temporary failure, message not queued; try again later"
REPLY_LOOKUP_FAILED = "451 4.3.0 Temporary failure looking up the recipient domain; try again later"
REPLY_TOO_MANY_CONNECTIONS = "421 4.7.0 Too many connections from {client}; try again later"
REPLY_RATE_LIMITED = "450 4.7.1 Rate limit exceeded for {client}; try again later"
REPLY_SHUTTING_DOWN = "421 4.3.2 Service shutting down; try again later"

# aiosmtpd's own replies, rewritten with enhanced status codes (same reply code).
REPLY_NEED_HELO = "503 5.5.1 Error: send HELO or EHLO first"
REPLY_NEED_MAIL = "503 5.5.1 Error: need MAIL command"
REPLY_NEED_RCPT = "503 5.5.1 Error: need RCPT command"
REPLY_NESTED_MAIL = "503 5.5.1 Error: nested MAIL command"
REPLY_NEED_STARTTLS = "530 5.7.0 Must issue a STARTTLS command first"
REPLY_LINE_TOO_LONG = "500 5.5.2 Line too long"

BUILTIN_REPLIES: dict[str, str] = {
    "552 Error: message size exceeds fixed maximum message size": REPLY_TOO_BIG,
    "552 Error: Too much mail data": REPLY_TOO_BIG,
    "503 Error: send HELO first": REPLY_NEED_HELO,
    "503 Error: send EHLO first": REPLY_NEED_HELO,
    "503 Error: need MAIL command": REPLY_NEED_MAIL,
    "503 Error: need RCPT command": REPLY_NEED_RCPT,
    "503 Error: nested MAIL command": REPLY_NESTED_MAIL,
    "530 Must issue a STARTTLS command first": REPLY_NEED_STARTTLS,
    "500 Line too long (see RFC5321 4.5.3.1.6)": REPLY_LINE_TOO_LONG,
}
"""aiosmtpd reply -> ramparts reply; the code stays the same, the text gains an enhanced status code."""


def reply_code(reply: str) -> int:
    """The three-digit code of a reply constant."""
    return int(reply[:3])


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")


def _clean(text: str, limit: int = 255) -> str:
    return _UNPRINTABLE.sub("", text)[:limit]


def _client_of(session: Any) -> str:
    peer = getattr(session, "peer", None)
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")


def received_header(
    *,
    helo: str,
    peer_ip: str,
    hostname: str,
    protocol: str,
    queue_id: str,
    recipients: tuple[str, ...],
    at: dt.datetime,
) -> bytes:
    """The Received: trace header ramparts puts on top of every message it accepts (RFC 5321 4.4)."""
    lines = [f"Received: from {_clean(helo) or 'unknown'} ([{_clean(peer_ip, 64)}])"]
    lines.append(f"\tby {hostname} (ramparts) with {protocol} id {queue_id}")
    stamp = email.utils.format_datetime(at.astimezone(dt.UTC))
    if len(recipients) == 1:
        lines.append(f"\tfor <{_clean(recipients[0], 320)}>; {stamp}")
    else:
        lines[-1] += f"; {stamp}"
    return ("\r\n".join(lines) + "\r\n").encode("utf-8", "replace")


class AcceptedDomainCache:
    """Accepted domain -> tenant id, read from the control plane at most every `ttl` seconds, so that
    `ramparts tenant add` takes effect within a few seconds without a restart."""

    def __init__(
        self, sessions: sessionmaker[Session], *, ttl: float = 5.0, monotonic: Monotonic = time.monotonic
    ) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self.monotonic = monotonic
        self._domains: dict[str, str] | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._loaded_at = -float("inf")

    def _load(self) -> dict[str, str]:
        from ramparts.store.models import AcceptedDomain

        with self.sessions() as session:
            rows = session.execute(select(AcceptedDomain.domain, AcceptedDomain.tenant_id)).all()
        return {str(domain).lower(): str(tenant) for domain, tenant in rows}

    async def __call__(self, domain: str) -> str | None:
        if self._domains is None or self.monotonic() - self._loaded_at > self.ttl:
            async with self._lock:
                if self._domains is None or self.monotonic() - self._loaded_at > self.ttl:
                    try:
                        self._domains = await asyncio.to_thread(self._load)
                    except Exception:
                        if self._domains is None:
                            raise
                        log.exception("reloading accepted domains failed; using the previous list")
                    self._loaded_at = self.monotonic()
        assert self._domains is not None
        return self._domains.get(domain.lower().rstrip("."))


class GatewayHandler:
    """The aiosmtpd hooks. Dependencies are passed in: a spool, a domain lookup, a rate limiter, a clock."""

    def __init__(
        self,
        spool: Spool,
        lookup: DomainLookup,
        *,
        hostname: str,
        max_recipients: int,
        rate: RateLimiter,
        clock: Clock = utc_now,
        on_queued: OnQueued | None = None,
    ) -> None:
        self.spool = spool
        self.lookup = lookup
        self.hostname = hostname
        self.max_recipients = max_recipients
        self.rate = rate
        self.clock = clock
        self.on_queued = on_queued
        self.draining = False
        self.accepted = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]) -> str:
        if self.draining:
            server.loop.call_soon(_close, server)
            return REPLY_SHUTTING_DOWN
        client = _client_of(session)
        if not self.rate.allow(client):
            return REPLY_RATE_LIMITED.format(client=client)
        envelope.mail_from = address  # "<>" for the null sender: aiosmtpd needs a true value here
        envelope.mail_options.extend(mail_options)
        return REPLY_SENDER_OK

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return REPLY_TOO_MANY_RECIPIENTS
        local, at, domain = address.rpartition("@")
        if not at or not local or not domain:
            return REPLY_BAD_RECIPIENT
        try:
            tenant = await self.lookup(domain)
        except Exception:
            log.exception("accepted-domain lookup failed for %s", domain)
            return REPLY_LOOKUP_FAILED
        if tenant is None:
            return REPLY_UNKNOWN_DOMAIN.format(domain=_clean(domain.lower()))
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return REPLY_RECIPIENT_OK

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        received_at = self.clock()
        network_message_id = str(uuid.uuid4())
        recipients = tuple(envelope.rcpt_tos)
        peer_ip = _client_of(session)
        helo = str(session.host_name or "")
        protocol = "ESMTPS" if session.ssl is not None else ("ESMTP" if session.extended_smtp else "SMTP")
        trace = received_header(
            helo=helo,
            peer_ip=peer_ip,
            hostname=self.hostname,
            protocol=protocol,
            queue_id=network_message_id,
            recipients=recipients,
            at=received_at,
        )
        spooled = Envelope(
            mail_from="" if envelope.mail_from in (None, "<>") else str(envelope.mail_from),
            rcpt_tos=recipients,
            received_at=received_at,
            network_message_id=network_message_id,
            peer_ip=peer_ip,
            helo=helo,
            source="smtp",
        )
        raw = trace + bytes(envelope.original_content or b"")
        try:
            entry = await asyncio.to_thread(self.spool.put, spooled, raw)
        except Exception:
            log.exception("spool write failed for a message from %s", peer_ip)
            return REPLY_TEMP_FAILURE
        self.accepted += 1
        if self.on_queued is not None:
            self.on_queued(entry)
        return REPLY_OK.format(queue_id=network_message_id)


def _close(protocol: Any) -> None:
    transport = protocol.transport
    if transport is not None:
        transport.close()


class GatewaySMTP(SMTP):
    """aiosmtpd's protocol with a per-client connection limit and ramparts' reply texts."""

    def __init__(self, handler: GatewayHandler, *, listener: SmtpListener, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._listener = listener
        self._client = ""
        self._holds_slot = False
        self._refused = False

    def _cb_client_connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # aiosmtpd gives its reader a limit of one SMTP line (1001 bytes); asyncio also pauses the socket
        # whenever twice that is buffered, so every message of a few KB paused and resumed reading (two
        # epoll_ctl calls and a wake-up). Lines are still checked against 1001 bytes by aiosmtpd itself.
        reader._limit = READ_BUFFER_BYTES  # type: ignore[attr-defined]
        super()._cb_client_connected(reader, writer)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None and self._original_transport is None:
            peer = transport.get_extra_info("peername")
            self._client = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "")
            if self._listener.connections.acquire(self._client):
                self._holds_slot = True
            else:
                self._refused = True
            self._listener.protocols.add(self)
        super().connection_made(transport)

    async def _handle_client(self) -> None:
        if self._refused:
            log.warning("refusing %s: over %d connections", self._client, self._listener.connections.limit)
            await self.push(REPLY_TOO_MANY_CONNECTIONS.format(client=self._client))
            _close(self)
            return
        await super()._handle_client()

    def connection_lost(self, error: Exception | None) -> None:
        if self._holds_slot:
            self._holds_slot = False
            self._listener.connections.release(self._client)
        self._listener.protocols.discard(self)
        super().connection_lost(error)

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str):
            await super().push(BUILTIN_REPLIES.get(status, status))
        else:
            await super().push(status)

    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA command with the chunked reader of `smtp_data` (same replies, same content,
        same hooks; see tests/mailflow/test_smtp_data.py, which runs both on the same streams)."""
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            result = await read_data(self._reader, size_limit=self.data_size_limit, line_limit=self.line_length_limit)
        except asyncio.CancelledError:
            log.info("connection lost during DATA")
            self._writer.close()
            raise
        if result.state is DataState.TOO_LONG:
            await self.push("500 Line too long (see RFC5321 4.5.3.1.6)")
            self._end_transaction()
            return
        if result.state is DataState.TOO_MUCH:
            await self.push("552 Error: Too much mail data")
            self._end_transaction()
            return
        original_content = result.content
        content: str | bytes = original_content
        if self._decode_data:
            if self.enable_SMTPUTF8:
                content = original_content.decode("utf-8", errors="surrogateescape")
            else:
                try:
                    content = original_content.decode("ascii", errors="strict")
                except UnicodeDecodeError:
                    await self.push("500 Error: strict ASCII mode")
                    return
        self.envelope.content = content
        self.envelope.original_content = original_content
        status = await self._call_handler_hook("DATA") if "DATA" in self._handle_hooks else MISSING
        self._end_transaction()
        await self.push("250 OK" if status is MISSING else status)

    def _end_transaction(self) -> None:
        self._set_post_data_state()  # type: ignore[no-untyped-call]

    @property
    def in_transaction(self) -> bool:
        envelope = self.envelope
        return envelope is not None and bool(envelope.mail_from)


@dataclass(eq=False)
class SmtpListener:
    """A running SMTP listener: its socket server and the sessions it has open."""

    handler: GatewayHandler
    connections: ConnectionLimiter
    server: asyncio.Server | None = None
    protocols: set[GatewaySMTP] = field(default_factory=set)

    @property
    def address(self) -> tuple[str, int]:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop accepting; let sessions in a transaction finish (up to `grace` seconds); close the rest."""
        if self.server is not None:
            self.server.close()
        self.handler.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self.protocols:
            for protocol in list(self.protocols):
                transport = protocol.transport
                if not isinstance(transport, asyncio.WriteTransport) or transport.is_closing():
                    continue
                if not protocol.in_transaction:
                    transport.write(REPLY_SHUTTING_DOWN.encode() + b"\r\n")
                    transport.close()
            if loop.time() >= deadline:
                break
            await asyncio.sleep(0.05)
        for protocol in list(self.protocols):
            transport = protocol.transport
            if isinstance(transport, asyncio.WriteTransport):
                transport.abort()
        if self.server is not None:
            await self.server.wait_closed()


def tls_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server context for STARTTLS (TLS 1.2 or newer)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert_file), str(key_file))
    return context


async def start_smtp(
    handler: GatewayHandler,
    *,
    host: str | None = None,
    port: int | None = None,
    sock: socket.socket | None = None,
    hostname: str,
    max_message_bytes: int,
    max_connections_per_client: int,
    tls: ssl.SSLContext | None = None,
    require_starttls: bool = False,
    timeout: float = 300.0,
) -> SmtpListener:
    """Listen on host:port, or on a bound socket, in the running event loop (port 0 picks a free port;
    see `address`)."""
    loop = asyncio.get_running_loop()
    listener = SmtpListener(handler, ConnectionLimiter(max_connections_per_client))

    def factory() -> GatewaySMTP:
        return GatewaySMTP(
            handler,
            listener=listener,
            data_size_limit=max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=hostname,
            ident=IDENT,
            tls_context=tls,
            require_starttls=require_starttls,
            timeout=timeout,
            loop=loop,
        )

    if sock is not None:
        listener.server = await loop.create_server(factory, sock=sock)
    else:
        listener.server = await loop.create_server(factory, host, port or 0)
    return listener

from __future__ import annotations

import asyncio
import datetime as dt
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ramparts.mailflow.smtp import (
    REPLY_BAD_RECIPIENT,
    REPLY_NEED_HELO,
    REPLY_NEED_MAIL,
    REPLY_NEED_RCPT,
    REPLY_NEED_STARTTLS,
    REPLY_OK,
    REPLY_RATE_LIMITED,
    REPLY_RECIPIENT_OK,
    REPLY_SENDER_OK,
    REPLY_SHUTTING_DOWN,
    REPLY_TEMP_FAILURE,
    REPLY_TOO_BIG,
    REPLY_TOO_MANY_CONNECTIONS,
    REPLY_TOO_MANY_RECIPIENTS,
    REPLY_UNKNOWN_DOMAIN,
    AcceptedDomainCache,
    GatewayHandler,
    SmtpListener,
    reply_code,
    start_smtp,
    tls_context,
)
from ramparts.mailflow.smtp_limits import RateLimiter
from ramparts.mailflow.spool import Spool, SpoolEntry
from ramparts.store.db import open_control_plane
from ramparts.tenants import add_tenant

T = TypeVar("T")
WHEN = dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)
MESSAGE = (
    b"From: Adele Vance <adele@partner.example>\r\nTo: megan@contoso.com\r\nSubject: Quarterly numbers\r\n"
    b"Message-ID: <q3@partner.example>\r\n\r\nSee the attached numbers.\r\n"
)


def test_reply_constants_carry_the_rfc_5321_codes() -> None:
    assert reply_code(REPLY_OK) == 250
    assert reply_code(REPLY_SENDER_OK) == 250
    assert reply_code(REPLY_RECIPIENT_OK) == 250
    assert reply_code(REPLY_UNKNOWN_DOMAIN) == 550
    assert reply_code(REPLY_TOO_BIG) == 552
    assert reply_code(REPLY_TOO_MANY_RECIPIENTS) == 452
    assert reply_code(REPLY_TEMP_FAILURE) == 451
    assert reply_code(REPLY_TOO_MANY_CONNECTIONS) == 421
    assert reply_code(REPLY_RATE_LIMITED) == 450
    assert reply_code(REPLY_SHUTTING_DOWN) == 421
    assert reply_code(REPLY_NEED_MAIL) == reply_code(REPLY_NEED_RCPT) == reply_code(REPLY_NEED_HELO) == 503
    assert reply_code(REPLY_BAD_RECIPIENT) == 501
    assert reply_code(REPLY_NEED_STARTTLS) == 530
    assert REPLY_TOO_BIG.startswith("552 5.3.4 ")
    assert REPLY_TOO_MANY_RECIPIENTS.startswith("452 4.5.3 ")
    assert REPLY_UNKNOWN_DOMAIN.startswith("550 5.7.1 ")
    assert REPLY_NEED_MAIL.startswith("503 5.5.1 ")


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Gateway:
    loop: asyncio.AbstractEventLoop
    listener: SmtpListener
    spool: Spool
    domains: dict[str, str]
    monotonic: FakeMonotonic
    queued: list[SpoolEntry] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.listener.address[1]

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def client(self, **kwargs: Any) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, local_hostname="mx.partner.example", timeout=10, **kwargs)


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    """Starts the real listener on a free port, on an event loop of its own in a thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    started: list[Gateway] = []

    def start(
        *,
        max_message_bytes: int = 10_000,
        max_recipients: int = 5,
        max_connections_per_client: int = 10,
        per_minute: int = 1000,
        tls: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        spool: Spool | None = None,
    ) -> Gateway:
        domains = {"contoso.com": "tenant-contoso", "fabrikam.com": "tenant-fabrikam"}
        monotonic = FakeMonotonic()
        queued: list[SpoolEntry] = []

        async def lookup(domain: str) -> str | None:
            return domains.get(domain.lower())

        handler = GatewayHandler(
            spool or Spool(tmp_path / f"spool{len(started)}"),
            lookup,
            hostname="gw.ramparts.test",
            max_recipients=max_recipients,
            rate=RateLimiter(per_minute, monotonic=monotonic),
            clock=lambda: WHEN,
            on_queued=queued.append,
        )

        async def listen() -> SmtpListener:
            return await start_smtp(
                handler,
                host="127.0.0.1",
                port=0,
                hostname="gw.ramparts.test",
                max_message_bytes=max_message_bytes,
                max_connections_per_client=max_connections_per_client,
                tls=tls,
                require_starttls=require_starttls,
            )

        listener = asyncio.run_coroutine_threadsafe(listen(), loop).result(timeout=10)
        gateway = Gateway(loop, listener, handler.spool, domains, monotonic, queued)
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.call(gateway.listener.stop(grace=1.0))
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


def test_a_message_is_spooled_with_its_envelope_before_the_250(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway()
    with gateway.client() as client:
        code, _ = client.ehlo()
        assert code == 250
        assert client.has_extn("size")
        assert client.esmtp_features["size"] == "10000"
        assert not client.has_extn("starttls")
        assert client.mail("bounce@partner.example") == (250, REPLY_SENDER_OK[4:].encode())
        assert client.rcpt("Megan@Contoso.com")[0] == 250
        assert client.rcpt("lidia@fabrikam.com")[0] == 250
        code, reply = client.data(MESSAGE)
    assert code == reply_code(REPLY_OK)
    queue_id = reply.decode().rpartition(" ")[2]
    assert reply.decode() == REPLY_OK.format(queue_id=queue_id)[4:]
    [entry] = list(gateway.spool.pending())
    assert gateway.queued == [entry]
    envelope, raw = gateway.spool.load(entry)
    assert envelope.network_message_id == queue_id
    assert envelope.mail_from == "bounce@partner.example"
    assert envelope.rcpt_tos == ("Megan@Contoso.com", "lidia@fabrikam.com")
    assert envelope.received_at == WHEN
    assert envelope.peer_ip == "127.0.0.1"
    assert envelope.helo == "mx.partner.example"
    assert envelope.source == "smtp"
    first, rest = raw.split(b"\r\n\t", 1)
    assert first == b"Received: from mx.partner.example ([127.0.0.1])"
    assert rest.startswith(f"by gw.ramparts.test (ramparts) with ESMTP id {queue_id}; ".encode())
    assert raw.endswith(MESSAGE)


def test_null_sender_and_several_messages_per_session(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway()
    with gateway.client() as client:
        client.sendmail("", ["megan@contoso.com"], MESSAGE)
        client.sendmail("a@partner.example", ["megan@contoso.com"], MESSAGE)
    entries = list(gateway.spool.pending())
    assert [gateway.spool.load(e)[0].mail_from for e in entries] == ["", "a@partner.example"]
    first_raw = gateway.spool.load(entries[0])[1]
    assert b"\tfor <megan@contoso.com>; " in first_raw


def test_unknown_domain_gets_550_and_nothing_is_spooled(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway()
    with gateway.client() as client:
        client.ehlo()
        client.mail("bounce@partner.example")
        code, reply = client.rcpt("someone@Elsewhere.example")
        assert code == 550
        assert reply.decode() == REPLY_UNKNOWN_DOMAIN.format(domain="elsewhere.example")[4:]
        code, reply = client.rcpt("no-domain")
        assert (code, reply.decode()) == (501, REPLY_BAD_RECIPIENT[4:])
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.data(MESSAGE)
        assert refused.value.smtp_code == 503
    assert list(gateway.spool.pending()) == []


def test_size_declared_at_mail_from_too_big_gets_552(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(max_message_bytes=2000)
    with gateway.client() as client:
        client.ehlo()
        code, reply = client.mail("bounce@partner.example", options=["SIZE=2001"])
        assert (code, reply.decode()) == (552, REPLY_TOO_BIG[4:])
        assert client.mail("bounce@partner.example", options=["SIZE=1500"])[0] == 250


def test_data_bigger_than_the_limit_gets_552(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(max_message_bytes=2000)
    with gateway.client() as client:
        client.ehlo()
        client.mail("bounce@partner.example")
        client.rcpt("megan@contoso.com")
        code, reply = client.data(MESSAGE + (b"x" * 70 + b"\r\n") * 40)
        assert (code, reply.decode()) == (552, REPLY_TOO_BIG[4:])
        # the session goes on: a message under the limit is accepted
        client.sendmail("bounce@partner.example", ["megan@contoso.com"], MESSAGE)
    assert len(list(gateway.spool.pending())) == 1


def test_too_many_recipients_gets_452(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(max_recipients=3)
    with gateway.client() as client:
        client.ehlo()
        client.mail("bounce@partner.example")
        assert [client.rcpt(f"user{i}@contoso.com")[0] for i in range(3)] == [250, 250, 250]
        code, reply = client.rcpt("user3@contoso.com")
        assert (code, reply.decode()) == (452, REPLY_TOO_MANY_RECIPIENTS[4:])
        assert client.data(MESSAGE)[0] == 250
    [entry] = list(gateway.spool.pending())
    assert len(gateway.spool.load(entry)[0].rcpt_tos) == 3


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_connections_over_the_per_client_limit_get_421(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(max_connections_per_client=2)
    first, second = gateway.client(), gateway.client()
    try:
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            gateway.client()
        assert refused.value.smtp_code == 421
        assert refused.value.smtp_error.decode() == REPLY_TOO_MANY_CONNECTIONS.format(client="127.0.0.1")[4:]
        assert first.noop()[0] == 250
        first.quit()
        wait_until(lambda: gateway.listener.connections.open_connections("127.0.0.1") == 1)
        with gateway.client() as third:
            assert third.noop()[0] == 250
    finally:
        second.quit()
        first.close()
    wait_until(lambda: gateway.listener.connections.total == 0)


def test_message_rate_over_the_limit_gets_450_until_the_bucket_refills(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(per_minute=2)
    with gateway.client() as client:
        client.ehlo()
        for _ in range(2):
            assert client.mail("bounce@partner.example")[0] == 250
            client.rset()
        code, reply = client.mail("bounce@partner.example")
        assert (code, reply.decode()) == (450, REPLY_RATE_LIMITED.format(client="127.0.0.1")[4:])
        gateway.monotonic.advance(29.0)  # 2 per minute: one token every 30 s
        assert client.mail("bounce@partner.example")[0] == 450
        gateway.monotonic.advance(1.0)
        assert client.mail("bounce@partner.example")[0] == 250


def test_bad_sequences_and_syntax_get_503_and_501(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway()
    with gateway.client() as client:
        assert client.docmd("MAIL FROM:<a@partner.example>") == (503, REPLY_NEED_HELO[4:].encode())
        client.ehlo()
        assert client.docmd("RCPT TO:<megan@contoso.com>") == (503, REPLY_NEED_MAIL[4:].encode())
        assert client.docmd("DATA")[0] == 503
        assert client.docmd("MAIL FROM:")[0] == 501
        assert client.mail("a@partner.example")[0] == 250
        assert client.docmd("DATA") == (503, REPLY_NEED_RCPT[4:].encode())
        assert client.docmd("MAIL FROM:<b@partner.example>")[0] == 503
    assert list(gateway.spool.pending()) == []


class BrokenSpool(Spool):
    def put(self, *args: object, **kwargs: object) -> SpoolEntry:
        raise OSError(28, "No space left on device")


def test_a_spool_write_failure_gets_451(start_gateway: Callable[..., Gateway], tmp_path: Path) -> None:
    gateway = start_gateway(spool=BrokenSpool(tmp_path / "broken"))
    with gateway.client() as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("a@partner.example", ["megan@contoso.com"], MESSAGE)
        assert refused.value.smtp_code == 451
        assert refused.value.smtp_error.decode() == REPLY_TEMP_FAILURE[4:]
    assert gateway.queued == []


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def client_tls(cert_file: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert_file))
    context.check_hostname = True
    return context


def test_starttls_with_a_self_signed_certificate(start_gateway: Callable[..., Gateway], tmp_path: Path) -> None:
    cert_file, key_file = self_signed(tmp_path)
    gateway = start_gateway(tls=tls_context(cert_file, key_file))
    with gateway.client() as client:
        client.ehlo()
        assert client.has_extn("starttls")
        client._host = "localhost"  # the name in the certificate; smtplib checks it against the server's
        assert client.starttls(context=client_tls(cert_file))[0] == 220
        client.ehlo()
        assert not client.has_extn("starttls")
        assert client.sock is not None
        assert client.sock.version() in {"TLSv1.2", "TLSv1.3"}  # type: ignore[attr-defined]
        client.sendmail("a@partner.example", ["megan@contoso.com"], MESSAGE)
    [entry] = list(gateway.spool.pending())
    assert b" with ESMTPS id " in gateway.spool.load(entry)[1]
    wait_until(lambda: gateway.listener.connections.total == 0)
    wait_until(lambda: not gateway.listener.protocols)


def test_require_starttls_refuses_mail_in_clear(start_gateway: Callable[..., Gateway], tmp_path: Path) -> None:
    cert_file, key_file = self_signed(tmp_path)
    gateway = start_gateway(tls=tls_context(cert_file, key_file), require_starttls=True)
    with gateway.client() as client:
        client.ehlo()
        assert client.mail("a@partner.example") == (530, REPLY_NEED_STARTTLS[4:].encode())
        client._host = "localhost"
        client.starttls(context=client_tls(cert_file))
        client.ehlo()
        assert client.mail("a@partner.example")[0] == 250


def test_stop_lets_a_transaction_finish_and_closes_idle_sessions(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway()
    port = gateway.port
    busy, idle = gateway.client(), gateway.client()
    try:
        busy.ehlo()
        idle.ehlo()
        busy.mail("a@partner.example")
        busy.rcpt("megan@contoso.com")
        stopping = asyncio.run_coroutine_threadsafe(gateway.listener.stop(grace=10.0), gateway.loop)
        wait_until(lambda: gateway.listener.handler.draining)
        assert busy.data(MESSAGE)[0] == 250
        stopping.result(timeout=10)
        assert busy.getreply()[0] == 421
        assert idle.getreply()[0] == 421
        with pytest.raises(smtplib.SMTPServerDisconnected):
            busy.noop()
    finally:
        busy.close()
        idle.close()
    assert len(list(gateway.spool.pending())) == 1
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP("127.0.0.1", port, timeout=10)


def test_accepted_domains_come_from_the_control_plane_and_refresh(tmp_path: Path) -> None:
    sessions = open_control_plane(f"sqlite:///{tmp_path / 'control.sqlite3'}")
    with sessions.begin() as session:
        contoso = add_tenant(session, "contoso", ["contoso.com"]).id
    monotonic = FakeMonotonic()
    cache = AcceptedDomainCache(sessions, ttl=5.0, monotonic=monotonic)

    async def check() -> tuple[str | None, ...]:
        return (await cache("Contoso.COM"), await cache("contoso.com."), await cache("fabrikam.com"))

    assert asyncio.run(check()) == (contoso, contoso, None)
    with sessions.begin() as session:
        fabrikam = add_tenant(session, "fabrikam", ["fabrikam.com"]).id
    assert asyncio.run(check())[2] is None  # cached
    monotonic.advance(5.1)
    assert asyncio.run(check()) == (contoso, contoso, fabrikam)
    sessions.kw["bind"].dispose()

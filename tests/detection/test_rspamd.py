"""The rspamd engine against a real rspamd 3.4 (started by tests/detection/rspamd_server.py), plus the mapping.

Broken peers (a 500, a body that is not JSON, a server that never answers) are faked by a tiny local HTTP
server in this file, because a real rspamd does not misbehave on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import httpx
import pytest

from ramparts.config import Settings
from ramparts.detection.engine import EngineVerdict, TenantContext
from ramparts.detection.registry import build_engines
from ramparts.detection.rspamd import RspamdEngine, request_headers
from ramparts.detection.rspamd_mapping import RspamdMapping, judge, parse_reply
from ramparts.domain.enums import EmailActionPolicy
from ramparts.domain.verdicts import Verdict
from ramparts.errors import ConfigError
from ramparts.mailflow.message import Address, Envelope, ParsedMessage
from tests.conftest import free_port
from tests.detection.rspamd_server import RspamdServer, running_rspamd

pytestmark = pytest.mark.anyio

TENANT = TenantContext("contoso", ("contoso.com",))
# GTUBE, the spam test string every filter knows, assembled here so this file is not itself spam.
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*" + "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL" + "*C.34X"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def rspamd() -> Iterator[RspamdServer]:
    with running_rspamd() as server:
        yield server


def business_mail(body: str = "", *, subject: str = "Quarterly numbers for Thursday") -> bytes:
    message = EmailMessage()
    message["From"] = "Adele Vance <adele@partner.example>"
    message["To"] = "Megan Bowen <megan@contoso.com>"
    message["Subject"] = subject
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    message["Message-ID"] = make_msgid(domain="partner.example")
    message.set_content(
        body
        or "Hi Megan,\n\nThe quarterly numbers are in: revenue grew four percent on last quarter and the"
        " pipeline for the next one looks steady. Could we go through them before Thursday's meeting?\n\n"
        "Thanks,\nAdele\n"
    )
    return message.as_bytes()


def parsed(raw: bytes) -> ParsedMessage:
    """Only `raw` matters to the engine; the other fields are filled plainly."""
    return ParsedMessage(
        raw=raw,
        size=len(raw),
        internet_message_id="",
        subject="",
        from_=Address("Adele Vance", "adele@partner.example"),
        sender=None,
        reply_to=(),
        to=(Address("Megan Bowen", "megan@contoso.com"),),
        cc=(),
        date=None,
        headers=(),
        auth_results=(),
        text_body="",
        html_body="",
        urls=(),
        attachments=(),
        defects=(),
    )


def envelope(*rcpts: str, mail_from: str = "adele@partner.example") -> Envelope:
    return Envelope(
        mail_from=mail_from,
        rcpt_tos=rcpts or ("megan@contoso.com",),
        received_at=dt.datetime.now(dt.UTC),
        network_message_id=str(uuid.uuid4()),
        peer_ip="203.0.113.9",
        helo="mx.partner.example",
    )


async def scan(
    url: str,
    raw: bytes,
    env: Envelope | None = None,
    *,
    mapping: RspamdMapping | None = None,
    timeout: float = 10.0,
    password: str = "",
) -> EngineVerdict:
    async with httpx.AsyncClient() as client:
        engine = RspamdEngine(url, client, mapping=mapping, timeout=timeout, password=password)
        return await engine.evaluate(parsed(raw), env or envelope(), TENANT)


# --- against the real rspamd -------------------------------------------------------------------------------


async def test_gtube_is_high_confidence_spam(rspamd: RspamdServer) -> None:
    result = await scan(rspamd.url, business_mail(f"Hello,\n\n{GTUBE}\n"))
    assert result.error == ""
    assert result.engine == "rspamd"
    assert result.verdict is Verdict.HIGH_CONFIDENCE_SPAM
    assert result.spam_confidence_level == 9
    assert result.confidence == 1.0
    assert "GTUBE" in result.threat_names
    assert result.detection_methods["Spam"][0] == "General filter"
    assert result.policy_family == EmailActionPolicy.ANTISPAM_HIGH_CONFIDENCE.value
    # rspamd 3.4 answers GTUBE with action reject and skips the other checks
    assert "action 'reject'" in result.explanation
    assert "GTUBE(" in result.explanation


async def test_business_message_is_clean_and_lists_symbols(rspamd: RspamdServer) -> None:
    raw = business_mail()
    result = await scan(rspamd.url, raw)
    assert result.error == ""
    assert result.verdict is Verdict.CLEAN
    assert result.spam_confidence_level in (0, 1)
    assert result.threat_names == ()
    assert result.detection_methods == {}
    assert result.confidence >= 0.5
    # every symbol rspamd reported (up to the mapping's top 10) is named in the explanation
    async with httpx.AsyncClient() as client:
        reply = parse_reply((await client.post(f"{rspamd.url}/checkv2", content=raw)).content)
    assert reply.action == "no action"
    assert reply.symbols
    for symbol in sorted(reply.symbols, key=lambda s: (-abs(s.score), s.name))[:10]:
        assert f"{symbol.name}({symbol.score:g})" in result.explanation


async def test_add_header_score_is_spam_by_mixed_analysis(rspamd: RspamdServer) -> None:
    # no From, Date or Message-ID, no MIME: rspamd 3.4 scores this about 8 of 15 -> "add header"
    raw = b"To: megan@contoso.com\r\n\r\ncheap meds cheap meds\r\n"
    result = await scan(rspamd.url, raw)
    assert result.error == ""
    assert result.verdict is Verdict.SPAM
    assert result.detection_methods == {"Spam": ("Mixed analysis detection",)}
    assert result.spam_confidence_level in (5, 6)
    assert result.policy_family == EmailActionPolicy.ANTISPAM.value
    assert "MISSING_FROM" in result.threat_names
    assert "action 'add header'" in result.explanation


async def test_custom_mapping_changes_the_verdict(rspamd: RspamdServer) -> None:
    spammy = b"To: megan@contoso.com\r\n\r\ncheap meds cheap meds\r\n"
    relaxed = RspamdMapping.from_dict({"actions": {"add header": "Clean"}})
    assert (await scan(rspamd.url, spammy, mapping=relaxed)).verdict is Verdict.CLEAN

    # a symbol the clean message always gets, promoted to a phishing rule
    strict = RspamdMapping.from_dict(
        {"symbols": [{"match": "MID_RHS_MATCH_FROM", "verdict": "Phishing", "technology": "Impersonation domain"}]}
    )
    result = await scan(rspamd.url, business_mail(), mapping=strict)
    assert result.verdict is Verdict.PHISH
    assert result.detection_methods == {"Phish": ("Impersonation domain",)}
    assert result.threat_names == ("MID_RHS_MATCH_FROM",)
    assert result.policy_family == EmailActionPolicy.ANTISPAM_PHISH.value
    assert result.confidence == 0.9

    by_score = RspamdMapping.from_dict({"high_confidence_spam_score": 5})
    assert (await scan(rspamd.url, spammy, mapping=by_score)).verdict is Verdict.HIGH_CONFIDENCE_SPAM


async def test_envelope_reaches_rspamd(rspamd: RspamdServer) -> None:
    # the message is To: megan; she is only the third envelope recipient, so all Rcpt headers must arrive
    env = envelope("alex@contoso.com", "lee@contoso.com", "megan@contoso.com", mail_from="bounce@mailer.example")
    result = await scan(rspamd.url, business_mail(), env, mapping=RspamdMapping(top_symbols=100))
    assert result.error == ""
    assert "TO_MATCH_ENVRCPT_ALL(0)" in result.explanation
    assert "FROM_NEQ_ENVFROM(0)[adele@partner.example, bounce@mailer.example]" in result.explanation
    elsewhere = await scan(
        rspamd.url, business_mail(), envelope("alex@contoso.com"), mapping=RspamdMapping(top_symbols=100)
    )
    assert "TO_MATCH_ENVRCPT" not in elsewhere.explanation
    # Queue-Id and IP show in rspamd's own log line for the task
    deadline = time.monotonic() + 5
    while env.network_message_id not in rspamd.log_tail(200) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    line = next(line for line in rspamd.log_tail(200).splitlines() if env.network_message_id in line)
    assert "ip: 203.0.113.9" in line
    assert "rcpts: <alex@contoso.com,lee@contoso.com,megan@contoso.com>" in line


async def test_controller_needs_the_password(rspamd: RspamdServer) -> None:
    refused = await scan(rspamd.controller_url, business_mail())
    assert refused.verdict is Verdict.CLEAN
    assert refused.confidence == 0.0
    assert refused.error.startswith(f"rspamd at {rspamd.controller_url} answered HTTP 401")

    allowed = await scan(rspamd.controller_url, business_mail(), password=rspamd.controller_password)
    assert allowed.error == ""
    assert allowed.verdict is Verdict.CLEAN


async def test_concurrent_scans(rspamd: RspamdServer) -> None:
    messages = [business_mail(subject=f"Numbers {i}") for i in range(12)] + [business_mail(GTUBE)] * 4
    async with httpx.AsyncClient() as client:
        engine = RspamdEngine(rspamd.url, client)
        results = await asyncio.gather(*(engine.evaluate(parsed(m), envelope(), TENANT) for m in messages))
    assert [r.error for r in results] == [""] * len(messages)
    assert [r.verdict for r in results] == [Verdict.CLEAN] * 12 + [Verdict.HIGH_CONFIDENCE_SPAM] * 4


# --- when rspamd cannot answer -------------------------------------------------------------------------------


async def test_unreachable_rspamd_is_a_gap_not_an_exception() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = await scan(url, business_mail(), timeout=5.0)
    assert time.monotonic() - started < 1.0
    assert result.verdict is Verdict.CLEAN
    assert result.confidence == 0.0
    assert result.error == f"rspamd unreachable at {url}: connection refused"


@contextlib.asynccontextmanager
async def broken_peer(reply: bytes | None) -> AsyncIterator[str]:
    """A fake rspamd that sends `reply` (a whole HTTP response) to any request, or never answers if None."""
    stop = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
            0,
        )
        await reader.readexactly(length)
        if reply is None:
            await stop.wait()
        else:
            writer.write(reply)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        server.close()
        await server.wait_closed()
        for writer in writers:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def http_reply(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    return head.encode() + b"\r\n" + body


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (http_reply("500 Internal Server Error", b'{"error":"boom"}'), 'answered HTTP 500: {"error":"boom"}'),
        (http_reply("200 OK", b"<html>not rspamd</html>", "text/html"), "not a /checkv2 reply: invalid JSON"),
        (http_reply("200 OK", b'{"score": 3}'), "not a /checkv2 reply: no 'action' key"),
        (http_reply("200 OK", b'{"action": "reject", "score": "high"}'), "'score' is 'high', not a number"),
        (b"garbage\r\n\r\n", "failed: "),
    ],
    ids=["http-500", "not-json", "no-action", "bad-score", "not-http"],
)
async def test_broken_peer_is_a_gap(reply: bytes, expected: str) -> None:
    async with broken_peer(reply) as url:
        result = await scan(url, business_mail())
    assert result.verdict is Verdict.CLEAN
    assert result.confidence == 0.0
    assert result.error.startswith(f"rspamd at {url}")
    assert expected in result.error


async def test_silent_peer_times_out() -> None:
    async with broken_peer(None) as url:
        started = time.monotonic()
        result = await scan(url, business_mail(), timeout=0.3)
        elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 2.0
    assert result.verdict is Verdict.CLEAN
    assert result.error == f"rspamd at {url} timed out after 0.3s"


# --- the request and the mapping, without a server -----------------------------------------------------------


def test_request_headers_repeat_rcpt_and_drop_line_breaks() -> None:
    env = Envelope(
        mail_from="",
        rcpt_tos=("a@contoso.com", "b@contoso.com\r\nX-Evil: 1"),
        received_at=dt.datetime.now(dt.UTC),
        network_message_id="nmid-1",
        peer_ip="2001:db8::1",
        helo="",
    )
    headers = request_headers(env, password="pw")
    assert headers == [
        (b"From", b"<>"),
        (b"Rcpt", b"a@contoso.com"),
        (b"Rcpt", b"b@contoso.com  X-Evil: 1"),
        (b"IP", b"2001:db8::1"),
        (b"Queue-Id", b"nmid-1"),
        (b"Password", b"pw"),
    ]


def reply(action: str, score: float, symbols: dict[str, object], **extra: object) -> bytes:
    return json.dumps({"action": action, "score": score, "required_score": 15.0, "symbols": symbols, **extra}).encode()


def test_antivirus_symbol_is_malware_named_by_the_virus() -> None:
    body = reply("reject", 20.0, {"CLAM_VIRUS": {"score": 20.0, "options": ["Win.Test.EICAR_HDB-1"]}})
    judged = judge(parse_reply(body), RspamdMapping())
    assert judged.verdict is Verdict.MALWARE
    assert judged.threat_names[0] == "Win.Test.EICAR_HDB-1"
    assert judged.detection_methods["Malware"] == ("Antimalware protection",)
    assert judged.detection_methods["Spam"] == ("Mixed analysis detection",)
    assert judged.policy_family == EmailActionPolicy.ANTIMALWARE.value
    assert judged.spam_confidence_level == 9


def test_dmarc_reject_is_spoof_phishing() -> None:
    body = reply("add header", 7.0, {"DMARC_POLICY_REJECT": {"score": 2.0, "options": ["contoso.com : No valid SPF"]}})
    judged = judge(parse_reply(body), RspamdMapping())
    assert judged.verdict is Verdict.PHISH
    assert judged.detection_methods["Phish"] == ("Spoof DMARC",)
    assert judged.policy_family == EmailActionPolicy.ANTIPHISH_SPOOF.value
    assert "DMARC_POLICY_REJECT(2)[contoso.com : No valid SPF]" in judged.explanation
    assert judged.dmarc_policy == "reject"


def test_dmarc_quarantine_symbol_names_the_policy_and_others_none() -> None:
    quarantine = reply("add header", 7.0, {"DMARC_POLICY_QUARANTINE": {"score": 1.5}})
    assert judge(parse_reply(quarantine), RspamdMapping()).dmarc_policy == "quarantine"
    passing = reply("no action", 0.0, {"DMARC_POLICY_ALLOW": {"score": -0.5}})
    assert judge(parse_reply(passing), RspamdMapping()).dmarc_policy == ""


@pytest.mark.parametrize(
    ("action", "score", "verdict", "scl"),
    [
        ("no action", -1.0, Verdict.CLEAN, 0),
        ("no action", 2.0, Verdict.CLEAN, 1),
        ("greylist", 4.5, Verdict.CLEAN, 1),
        ("soft reject", 9.0, Verdict.CLEAN, 1),
        ("add header", 6.5, Verdict.SPAM, 5),
        ("rewrite subject", 11.0, Verdict.SPAM, 6),
        ("reject", 16.0, Verdict.HIGH_CONFIDENCE_SPAM, 9),
        ("quarantine", 8.0, Verdict.SPAM, 5),
        ("some custom action", 3.0, Verdict.CLEAN, 1),
    ],
)
def test_actions_and_scl(action: str, score: float, verdict: Verdict, scl: int) -> None:
    judged = judge(parse_reply(reply(action, score, {"SOME_RULE": {"score": score}})), RspamdMapping())
    assert (judged.verdict, judged.spam_confidence_level) == (verdict, scl)


def test_skipped_message_has_scl_minus_one() -> None:
    judged = judge(parse_reply(reply("no action", 0.0, {}, is_skipped=True)), RspamdMapping())
    assert (judged.verdict, judged.spam_confidence_level) == (Verdict.CLEAN, -1)
    assert "skipped" in judged.explanation


def test_clean_rule_silences_a_default_rule() -> None:
    mapping = RspamdMapping.from_dict({"symbols": [{"match": "PHISHING", "verdict": "Clean"}]})
    body = reply("no action", 2.0, {"PHISHING": {"score": 2.0, "options": ["paypal.com->evil.example"]}})
    assert judge(parse_reply(body), RspamdMapping()).verdict is Verdict.PHISH
    assert judge(parse_reply(body), mapping).verdict is Verdict.CLEAN


def test_mapping_loads_from_toml_and_json(tmp_path: Path) -> None:
    toml_file = tmp_path / "rspamd-mapping.toml"
    toml_file.write_text(
        'spam_score = 5.0\n[actions]\n"add header" = "Junk"\n'
        '[[symbols]]\nmatch = "MY_LOCAL_*"\nverdict = "High confidence phishing"\nconfidence = 0.7\n'
    )
    mapping = RspamdMapping.load(toml_file)
    assert mapping.spam_score == 5.0
    assert mapping.actions["add header"] is Verdict.JUNK
    assert mapping.actions["reject"] is Verdict.HIGH_CONFIDENCE_SPAM
    assert mapping.symbols[0].verdict is Verdict.HIGH_CONFIDENCE_PHISH
    assert len(mapping.symbols) == len(RspamdMapping().symbols) + 1

    json_file = tmp_path / "rspamd-mapping.json"
    json_file.write_text(json.dumps({"replace_default_symbols": True, "symbols": [{"match": "X", "verdict": "Spam"}]}))
    assert [rule.match for rule in RspamdMapping.load(json_file).symbols] == ["X"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"symbol": []}, "unknown key(s) ['symbol']"),
        ({"symbols": [{"match": "X", "verdict": "Bad"}]}, "symbols[0]: unknown verdict 'Bad'"),
        ({"symbols": [{"match": "X"}]}, "symbols[0]: 'match' and 'verdict' are required"),
        ({"symbols": [{"match": "X", "verdict": "Spam", "confidence": 3}]}, "'confidence' must be a number"),
        ({"actions": {"reject": "Nope"}}, "actions.reject: unknown verdict 'Nope'"),
        ({"spam_score": "high"}, "'spam_score' must be a number"),
    ],
)
def test_bad_mapping_is_a_config_error(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RspamdMapping.from_dict(data)
    assert message in str(caught.value)


async def test_engine_from_settings_owns_its_client(rspamd: RspamdServer, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, rspamd_url=rspamd.url + "/")
    engines = build_engines(settings)
    engine = next(e for e in engines if e.name == "rspamd")
    assert isinstance(engine, RspamdEngine)
    assert engine.url == rspamd.url
    result = await engine.evaluate(parsed(business_mail(GTUBE)), envelope(), TENANT)
    assert result.verdict is Verdict.HIGH_CONFIDENCE_SPAM
    await engine.aclose()
    assert engine.client.is_closed

"""The chunked DATA reader against aiosmtpd's own line-by-line `smtp_DATA`, on the same streams.

The reference is aiosmtpd's unmodified method, run on a stand-in protocol object that records the
replies and the content handed to the DATA hook; ramparts' `GatewaySMTP.smtp_DATA` runs on an
identical stand-in. Both must give the same replies, the same content, and leave the same bytes
(pipelined commands) in the stream.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from aiosmtpd.smtp import SMTP
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ramparts.mailflow.smtp import GatewaySMTP
from ramparts.mailflow.smtp_data import (
    DataState,
    first_long_line_end,
    read_data,
    unstuff,
)

TRAILER = b"RSET\r\n"
BIG_LIMIT = 1 << 24


class StandIn:
    """What `smtp_DATA` uses of the protocol object."""

    def __init__(self, reader: asyncio.StreamReader, *, size_limit: int | None, line_limit: int) -> None:
        self._reader = reader
        self._writer = None
        self.transport = object()
        self.data_size_limit = size_limit
        self.line_length_limit = line_limit
        self._decode_data = False
        self.enable_SMTPUTF8 = True
        self._handle_hooks = {"DATA": self._hook}
        self.envelope = SmtpEnvelope()
        self.envelope.rcpt_tos = ["megan@contoso.com"]
        self.replies: list[str] = []
        self.delivered: list[bytes] = []

    async def check_helo_needed(self, helo: str = "HELO") -> bool:
        return False

    async def check_auth_needed(self, caller_method: str) -> bool:
        return False

    async def push(self, status: str) -> None:
        self.replies.append(status)

    async def _hook(self) -> str:
        pass  # pragma: no cover

    async def _call_handler_hook(self, command: str) -> str:
        assert command == "DATA"
        self.delivered.append(bytes(self.envelope.original_content or b""))
        return "250 queued"

    def _set_post_data_state(self) -> None:
        self.envelope = SmtpEnvelope()

    def _end_transaction(self) -> None:
        self._set_post_data_state()


async def _run(
    method: Any, chunks: list[bytes], *, reader_limit: int, size_limit: int | None, line_limit: int
) -> tuple[list[str], list[bytes], bytes]:
    """Run one smtp_DATA on a stream fed chunk by chunk; (replies, delivered, bytes left in the stream)."""
    reader = asyncio.StreamReader(limit=reader_limit)
    stand_in = StandIn(reader, size_limit=size_limit, line_limit=line_limit)
    task = asyncio.create_task(method(stand_in, ""))
    for chunk in chunks:
        reader.feed_data(chunk)
        await asyncio.sleep(0)  # a yield, not a wait: the reader sees each chunk on its own
    reader.feed_eof()
    await task
    return stand_in.replies, stand_in.delivered, await reader.read()


def _split(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    return [stream[a:b] for a, b in itertools.pairwise(points) if b > a]


def both(
    stream: bytes, cuts: list[int], *, reader_limit: int, size_limit: int | None, line_limit: int
) -> tuple[Any, Any]:
    chunks = _split(stream, cuts)

    async def main() -> tuple[Any, Any]:
        # aiosmtpd's reader gets a limit it never reaches: its ideal line-by-line semantics.
        reference = await _run(
            SMTP.smtp_DATA, [stream], reader_limit=BIG_LIMIT, size_limit=size_limit, line_limit=line_limit
        )
        ours = await _run(
            GatewaySMTP.smtp_DATA, chunks, reader_limit=reader_limit, size_limit=size_limit, line_limit=line_limit
        )
        return reference, ours

    return asyncio.run(main())


tokens = st.sampled_from(
    [b"a", b"bc", b".", b"..", b"\r", b"\n", b"\r\n", b".\r\n", b"\r\n.", b"\r\n..", b"\r\n.\r", b"x" * 30, b"\xff"]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.lists(tokens, max_size=60).map(b"".join),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
    reader_limit=st.integers(min_value=5, max_value=80),
    size_limit=st.one_of(st.none(), st.integers(min_value=0, max_value=150)),
    line_limit=st.integers(min_value=3, max_value=60),
)
@example(body=b"", cuts=[], reader_limit=64, size_limit=None, line_limit=1001)
@example(body=b"\r\n", cuts=[1, 2, 3], reader_limit=5, size_limit=None, line_limit=1001)
@example(body=b"..\r\n.x\r\n", cuts=[2, 4, 7], reader_limit=5, size_limit=None, line_limit=1001)
@example(body=b"abcdef\r\na\r\n", cuts=[], reader_limit=64, size_limit=8, line_limit=5)  # long line ends at the limit
@example(body=b"abcdef\r\na\r\n", cuts=[], reader_limit=64, size_limit=7, line_limit=5)  # ... one byte past it
def test_same_result_as_aiosmtpd_line_by_line(
    body: bytes, cuts: list[int], reader_limit: int, size_limit: int | None, line_limit: int
) -> None:
    # The body may hold the end-of-data line itself: both must stop at the first one.
    stream = body + b"\r\n.\r\n" + TRAILER
    reference, ours = both(stream, cuts, reader_limit=reader_limit, size_limit=size_limit, line_limit=line_limit)
    assert ours == reference


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=100_000), max_size=20),
    size_limit=st.one_of(st.none(), st.integers(min_value=1000, max_value=40_000)),
)
def test_long_lines_and_size_limit_at_realistic_scale(
    lines: list[int], cuts: list[int], size_limit: int | None
) -> None:
    body = b"".join((b"." if n % 7 == 0 else b"") + b"y" * n + b"\r\n" for n in lines)
    stream = body + b".\r\n" + TRAILER
    reference, ours = both(stream, cuts, reader_limit=1024, size_limit=size_limit, line_limit=1001)
    assert ours == reference


def test_empty_message_right_after_354() -> None:
    reference, ours = both(b".\r\n" + TRAILER, [1, 2], reader_limit=64, size_limit=None, line_limit=1001)
    assert ours == reference == (["354 End data with <CR><LF>.<CR><LF>", "250 queued"], [b""], TRAILER)


def test_end_of_data_split_across_reads() -> None:
    stream = b"Subject: x\r\n\r\nbody\r\n.\r\n" + TRAILER
    for cut in range(len(stream) - len(TRAILER) + 1):
        for second in (cut + 1, cut + 2, cut + 3):
            reference, ours = both(stream, [cut, second], reader_limit=6, size_limit=None, line_limit=1001)
            assert ours == reference
            assert ours[1] == [b"Subject: x\r\n\r\nbody\r\n"]
            assert ours[2] == TRAILER


def test_too_much_data_is_drained_then_refused() -> None:
    body = b"z" * 90 + b"\r\n"
    reference, ours = both(
        body * 30 + b".\r\n" + TRAILER, [100, 1000], reader_limit=64, size_limit=500, line_limit=1001
    )
    assert ours == reference
    assert ours[0][-1] == "552 Error: Too much mail data"
    assert ours[1] == [] and ours[2] == TRAILER


def test_a_long_line_before_the_size_limit_gives_500_and_after_it_552() -> None:
    long_line = b"w" * 1200 + b"\r\n"
    early = both(long_line + b"a\r\n" * 600 + b".\r\n", [], reader_limit=4096, size_limit=1500, line_limit=1001)
    late = both(b"a\r\n" * 600 + long_line + b".\r\n", [], reader_limit=4096, size_limit=1500, line_limit=1001)
    assert early[0] == early[1] and early[1][0][-1] == "500 Line too long (see RFC5321 4.5.3.1.6)"
    assert late[0] == late[1] and late[1][0][-1] == "552 Error: Too much mail data"


class CountingReader(asyncio.StreamReader):
    def __init__(self, limit: int) -> None:
        super().__init__(limit=limit)
        self.calls = 0

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        self.calls += 1
        return await super().readuntil(separator)

    async def readexactly(self, n: int) -> bytes:
        self.calls += 1
        return await super().readexactly(n)

    async def read(self, n: int = -1) -> bytes:
        self.calls += 1
        return await super().read(n)


def test_a_buffered_50_kb_message_takes_two_reads_not_one_per_line() -> None:
    body = b"".join(b"line %05d of a fifty kilobyte message, with some padding text here\r\n" % i for i in range(700))

    async def main() -> tuple[int, bytes]:
        reader = CountingReader(256 * 1024)
        reader.feed_data(body + b".\r\n" + TRAILER)
        result = await read_data(reader, size_limit=None, line_limit=1001)
        assert result.state is DataState.NOMINAL
        return reader.calls, result.content

    calls, content = asyncio.run(main())
    assert content == body
    assert calls == 2


def test_unstuff_removes_one_leading_dot_per_line() -> None:
    assert unstuff(b"..a\r\n.b\r\nc.\r\n...\r\n") == b".a\r\nb\r\nc.\r\n..\r\n"
    assert unstuff(b"") == b""


def test_first_long_line_end_counts_the_crlf_and_ignores_an_unfinished_line() -> None:
    assert first_long_line_end(b"abc\r\nabcd\r\n", 5) == 11
    assert first_long_line_end(b"abc\r\nabc\r\n", 5) is None
    assert first_long_line_end(b"abc\r\nabcdefgh", 5) is None

"""An open-loop HTTP/1.1 load generator that costs the client little, so that it measures the server.

httpx spends ~1 ms of CPU per request; at a few hundred requests a second that saturates the client's
core before the server's, and the client's own queueing shows up as server latency. Here every request
is encoded once up front, answers are parsed by httptools (the C parser uvicorn uses), and requests go
over a pool of keep-alive connections.

Latency is measured from the time the schedule says a request is due, not from when a connection was
free to send it (no coordinated omission): a server that falls behind shows its backlog in full.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httptools


def encode_request(method: str, url: str, headers: dict[str, str], body: Any | None = None) -> bytes:
    parts = urlsplit(url)
    payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    lines = [
        f"{method} {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1",
        f"Host: {parts.netloc}",
    ]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


@dataclass
class _Connection(asyncio.Protocol):
    """One keep-alive connection; answers arrive in order, one request in flight at a time."""

    done: asyncio.Future[int] | None = None
    transport: asyncio.Transport | None = None
    status: int = 0
    closed: bool = False
    parser: Any = field(init=False)

    def __post_init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._finish(0)
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._finish(0)

    def on_message_complete(self) -> None:
        self._finish(self.parser.get_status_code())

    def _finish(self, status: int) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(status)

    async def send(self, request: bytes) -> int:
        assert self.transport is not None
        if self.closed:
            return 0
        self.done = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.done


async def open_loop(
    url: str, requests: Sequence[bytes], rate: float, *, connections: int = 32, timeout: float = 30.0
) -> list[float]:
    """Send requests[i] at start + i/rate, each on an idle connection (a new one when none is idle);
    returns each request's latency in ms from its due time (timeout or error: `timeout` seconds)."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    idle: list[_Connection] = []

    async def connect() -> _Connection:
        _, protocol = await loop.create_connection(_Connection, host, port)
        return protocol

    idle.extend(await asyncio.gather(*(connect() for _ in range(connections))))
    latencies: list[float] = [timeout * 1000.0] * len(requests)

    async def one(index: int, due: float) -> None:
        while idle and idle[-1].closed:  # the server closed an idle keep-alive connection
            idle.pop()
        connection = idle.pop() if idle else await connect()
        try:
            status = await asyncio.wait_for(connection.send(requests[index]), timeout)
        except (TimeoutError, OSError):
            connection.closed = True
            status = 0
        if 200 <= status < 300:
            latencies[index] = (time.perf_counter() - due) * 1000.0
        if not connection.closed:
            idle.append(connection)
        elif connection.transport is not None:
            connection.transport.close()

    tasks = []
    start = time.perf_counter() + 0.05
    for index in range(len(requests)):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    for connection in idle:
        if connection.transport is not None:
            connection.transport.close()
    return latencies

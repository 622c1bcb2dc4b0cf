"""Per-client limits of the SMTP listener: concurrent connections and a message rate (token bucket).

Both are keyed by the client's IP address and take an injected monotonic clock, so tests never sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

Monotonic = Callable[[], float]


class ConnectionLimiter:
    """At most `limit` open connections per client; 0 means no limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def acquire(self, client: str) -> bool:
        current = self._open.get(client, 0)
        if self.limit and current >= self.limit:
            return False
        self._open[client] = current + 1
        return True

    def release(self, client: str) -> None:
        current = self._open.get(client, 0) - 1
        if current > 0:
            self._open[client] = current
        else:
            self._open.pop(client, None)

    def open_connections(self, client: str) -> int:
        return self._open.get(client, 0)

    @property
    def total(self) -> int:
        return sum(self._open.values())


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per client: `per_minute` tokens, refilled continuously; 0 means no limit.

    The bucket holds a minute's worth, so a client may burst up to `per_minute` messages and then
    sends at the steady rate.
    """

    def __init__(self, per_minute: int, *, monotonic: Monotonic = time.monotonic, max_clients: int = 100_000) -> None:
        self.per_minute = per_minute
        self.monotonic = monotonic
        self.max_clients = max_clients
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, client: str) -> bool:
        """Take one token for the client; False when it has none left."""
        if self.per_minute <= 0:
            return True
        now = self.monotonic()
        capacity = float(self.per_minute)
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                self._prune(now)
            bucket = self._buckets[client] = _Bucket(capacity, now)
        else:
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * capacity / 60.0)
            bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def retry_after(self, client: str) -> float:
        """Seconds until the client has a token again (0 when it has one now)."""
        bucket = self._buckets.get(client)
        if self.per_minute <= 0 or bucket is None:
            return 0.0
        capacity = float(self.per_minute)
        tokens = min(capacity, bucket.tokens + (self.monotonic() - bucket.updated) * capacity / 60.0)
        return max(0.0, (1.0 - tokens) * 60.0 / capacity)

    def _prune(self, now: float) -> None:
        """Forget clients whose bucket has refilled: they are indistinguishable from new ones."""
        capacity = float(self.per_minute)
        full = [
            client
            for client, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * capacity / 60.0 >= capacity
        ]
        for client in full:
            del self._buckets[client]

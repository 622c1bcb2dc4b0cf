"""The DNS resolver behind SPF, DKIM and DMARC: dnspython with a bounded, TTL-aware cache.

`ZoneResolver` answers from a local RFC 1035 zone file instead (the `dns_zone_file` setting; the demo
writes one for its sending domains): names not in the file are NXDOMAIN, and nothing goes on the network.

Lookups are synchronous (pyspf and dkimpy call them from inside their own code); async callers go
through `Resolver.run_in_thread` or the `a*` helpers. `cache_only()` gives a view that answers from the
cache and raises `CacheMiss` otherwise, so that a check whose lookups are all cached can run on the
event loop without a thread hop.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar, cast

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.resolver
import dns.zone

from ramparts.errors import ConfigError, RampartsError

if TYPE_CHECKING:
    from ramparts.config import Settings

RecordType = Literal["TXT", "A", "AAAA", "MX", "PTR"]
Answer = list[str] | list[tuple[bytes, ...]] | list[tuple[int, str]]
T = TypeVar("T")


class DnsTempError(RampartsError):
    """A lookup that may succeed later: timeout, SERVFAIL, no reachable nameserver."""

    code = "dnsTempError"


class CacheMiss(RampartsError):
    """Raised by a cache-only view when an answer is not cached; the caller retries with the network."""

    code = "dnsCacheMiss"


@dataclass(frozen=True, slots=True)
class ResolverSettings:
    nameserver: str = ""
    """"host" or "host:port" ("[::1]:53" for IPv6); empty = the system configuration."""
    timeout: float = 2.0
    max_ttl: float = 3600.0
    min_ttl: float = 30.0
    negative_ttl: float = 300.0
    """How long NXDOMAIN / no-answer is remembered (bounded by max_ttl)."""
    temperror_ttl: float = 30.0
    """How long a timeout or SERVFAIL is remembered: a dead nameserver costs one timeout, not one per message."""
    max_entries: int = 50_000
    breaker_threshold: int = 3
    """After this many timeouts in a row the nameserver counts as down ..."""
    breaker_seconds: float = 60.0
    """... and lookups fail at once (temperror) for this long, instead of each waiting for its timeout."""


def parse_nameserver(text: str) -> tuple[str, int]:
    """("127.0.0.1", 5353) from "127.0.0.1:5353"; port 53 when absent."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 53
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, int(port)
    return text, 53


class _Lookups(ABC):
    """Typed accessors over one `_get`; shared by the resolver and its cache-only view."""

    @abstractmethod
    def _get(self, name: str, rdtype: RecordType) -> Answer: ...

    def txt(self, name: str) -> list[str]:
        """TXT records, each record's strings joined; [] for NXDOMAIN or no TXT."""
        return [b"".join(parts).decode("utf-8", "replace") for parts in self.txt_raw(name)]

    def txt_raw(self, name: str) -> list[tuple[bytes, ...]]:
        return cast("list[tuple[bytes, ...]]", self._get(name, "TXT"))

    def a(self, name: str) -> list[str]:
        return cast("list[str]", self._get(name, "A"))

    def aaaa(self, name: str) -> list[str]:
        return cast("list[str]", self._get(name, "AAAA"))

    def mx(self, name: str) -> list[tuple[int, str]]:
        return cast("list[tuple[int, str]]", self._get(name, "MX"))

    def ptr(self, name: str) -> list[str]:
        return cast("list[str]", self._get(name, "PTR"))


class Resolver(_Lookups):
    def __init__(
        self, settings: ResolverSettings | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings or ResolverSettings()
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, Answer | DnsTempError]] = {}
        self._lock = threading.Lock()
        self._setup_error = ""
        self._timeouts_in_a_row = 0
        self._down_until = 0.0
        self.lookups = 0
        """Network lookups made (cache misses), for tests and metrics."""
        if self.settings.nameserver:
            host, port = parse_nameserver(self.settings.nameserver)
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [host]
            self._resolver.port = port
        else:
            try:
                self._resolver = dns.resolver.Resolver(configure=True)
            except dns.resolver.NoResolverConfiguration as exc:
                self._resolver = dns.resolver.Resolver(configure=False)
                self._setup_error = f"no system DNS configuration: {exc}"
        self._resolver.timeout = self.settings.timeout
        self._resolver.lifetime = self.settings.timeout
        self._resolver.cache = None

    def cache_only(self) -> CachedView:
        return CachedView(self)

    async def run_in_thread(self, func: Callable[[], T]) -> T:
        return await asyncio.to_thread(func)

    async def atxt(self, name: str) -> list[str]:
        return await asyncio.to_thread(self.txt, name)

    async def aa(self, name: str) -> list[str]:
        return await asyncio.to_thread(self.a, name)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def cached(self, name: str, rdtype: RecordType) -> Answer | DnsTempError | None:
        """The live cached answer (or cached temporary error), None when not cached."""
        key = (_normalise(name), rdtype)
        entry = self._cache.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            with self._lock:
                self._cache.pop(key, None)
            return None
        return value

    def _get(self, name: str, rdtype: RecordType) -> Answer:
        value = self.cached(name, rdtype)
        if value is None:
            value, ttl = self._query(_normalise(name), rdtype)
            self._store((_normalise(name), rdtype), value, ttl)
        if isinstance(value, DnsTempError):
            raise value
        return value

    def _store(self, key: tuple[str, str], value: Answer | DnsTempError, ttl: float) -> None:
        with self._lock:
            if len(self._cache) >= self.settings.max_entries:
                # Oldest insertion first: cheap and good enough for a handful of hot domains.
                for stale in list(self._cache)[: max(1, self.settings.max_entries // 10)]:
                    del self._cache[stale]
            self._cache[key] = (self._clock() + ttl, value)

    def _query(self, name: str, rdtype: RecordType) -> tuple[Answer | DnsTempError, float]:
        s = self.settings
        self.lookups += 1
        if self._setup_error:
            return DnsTempError(self._setup_error), s.temperror_ttl
        if not name or len(name) > 253 or any(not 0 < len(label) < 64 for label in name.split(".")):
            return [], s.negative_ttl
        remaining = self._down_until - self._clock()
        if remaining > 0:
            return DnsTempError(f"{rdtype} {name}: nameserver not answering"), min(s.temperror_ttl, remaining)
        try:
            answer = self._resolver.resolve(name, rdtype, search=False, raise_on_no_answer=False)
        except dns.exception.Timeout as exc:
            self._timeouts_in_a_row += 1
            if self._timeouts_in_a_row >= s.breaker_threshold:
                self._down_until = self._clock() + s.breaker_seconds
                self._timeouts_in_a_row = 0
            return DnsTempError(f"{rdtype} {name}: {exc.__class__.__name__}"), s.temperror_ttl
        except dns.resolver.NXDOMAIN:
            self._timeouts_in_a_row = 0
            return [], min(s.negative_ttl, s.max_ttl)
        except dns.resolver.NoNameservers as exc:
            return DnsTempError(f"{rdtype} {name}: {exc.__class__.__name__}"), s.temperror_ttl
        except (dns.resolver.YXDOMAIN, dns.name.NameTooLong, dns.name.EmptyLabel, dns.name.LabelTooLong):
            return [], s.negative_ttl
        except dns.exception.DNSException as exc:
            return DnsTempError(f"{rdtype} {name}: {exc.__class__.__name__}: {exc}"), s.temperror_ttl
        self._timeouts_in_a_row = 0
        rrset = answer.rrset
        if rrset is None:
            return [], min(s.negative_ttl, s.max_ttl)
        return _values(rrset, rdtype), min(max(float(rrset.ttl), s.min_ttl), s.max_ttl)


class CachedView(_Lookups):
    """The same lookup methods, answering only from the cache; `CacheMiss` otherwise."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver

    def _get(self, name: str, rdtype: RecordType) -> Answer:
        value = self._resolver.cached(name, rdtype)
        if value is None:
            raise CacheMiss(f"{rdtype} {name}")
        if isinstance(value, DnsTempError):
            raise value
        return value


class ZoneResolver(_Lookups):
    """Answers from one zone file and nothing else: NXDOMAIN (an empty answer) for every name not in it.

    The file is read with the root as its origin, so it can hold several domains, each after its own
    `$ORIGIN`. CNAMEs inside the file are followed; wildcards are not expanded.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._zone = dns.zone.from_file(os.fspath(path), origin=dns.name.root, relativize=False, check_origin=False)
        except (OSError, dns.exception.DNSException) as exc:
            raise ConfigError(f"cannot read the DNS zone file {path}: {exc}") from exc

    def cache_only(self) -> ZoneResolver:
        """Every answer is local, so the cache-only view is the resolver itself."""
        return self

    def _get(self, name: str, rdtype: RecordType) -> Answer:
        try:
            owner = dns.name.from_text(_normalise(name) or ".")
        except dns.exception.DNSException:
            return []
        wanted = dns.rdatatype.from_text(rdtype)
        for _ in range(8):
            node = self._zone.get_node(owner)
            if node is None:
                return []
            rdataset = node.get_rdataset(dns.rdataclass.IN, wanted)
            if rdataset is not None:
                return _values(rdataset, rdtype)
            alias = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if alias is None:
                return []
            owner = alias[0].target
        return []


Lookup = Resolver | CachedView | ZoneResolver
"""What the checks take: the resolver itself, its cache-only view, or a zone file's answers."""

DnsSource = Resolver | ZoneResolver
"""What an engine is built with."""


def resolver_from_settings(settings: Settings) -> DnsSource:
    """The zone file when `dns_zone_file` is set (relative paths are inside the data directory), else the network."""
    if settings.dns_zone_file is not None:
        return ZoneResolver(settings.data_dir / settings.dns_zone_file)
    return Resolver(ResolverSettings(nameserver=settings.dns_nameserver, timeout=settings.dns_timeout))


def _values(rrset: dns.rdataset.Rdataset, rdtype: RecordType) -> Answer:
    if rdtype == "TXT":
        return [tuple(rdata.strings) for rdata in rrset]
    if rdtype in ("A", "AAAA"):
        return [str(rdata.address) for rdata in rrset]
    if rdtype == "MX":
        return [(int(rdata.preference), rdata.exchange.to_text(omit_final_dot=True)) for rdata in rrset]
    return [rdata.target.to_text(omit_final_dot=True) for rdata in rrset]


def _normalise(name: str) -> str:
    return name.strip().rstrip(".").lower()

from __future__ import annotations

import asyncio

import pytest

from ramparts.detection.dns import CacheMiss, DnsTempError, Resolver, ResolverSettings, parse_nameserver
from tests.detection.dnsserver import running

ZONE = {
    "example.org": {
        "TXT": ["v=spf1 ip4:192.0.2.0/24 -all", "k" * 600],
        "A": ["192.0.2.1"],
        "AAAA": ["2001:db8::1"],
        "MX": ["10 mx1.example.org.", "20 mx2.example.org."],
    },
    "1.2.0.192.in-addr.arpa": {"PTR": ["host.example.org."]},
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_parse_nameserver() -> None:
    assert parse_nameserver("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_nameserver("10.0.0.2") == ("10.0.0.2", 53)
    assert parse_nameserver("[::1]:5300") == ("::1", 5300)


def test_lookups_of_each_type_against_the_local_server() -> None:
    with running(ZONE) as server:
        resolver = Resolver(ResolverSettings(nameserver=server.address, timeout=0.5))
        assert sorted(resolver.txt("example.org")) == ["k" * 600, "v=spf1 ip4:192.0.2.0/24 -all"]
        assert resolver.a("Example.ORG.") == ["192.0.2.1"]
        assert resolver.aaaa("example.org") == ["2001:db8::1"]
        assert sorted(resolver.mx("example.org")) == [(10, "mx1.example.org"), (20, "mx2.example.org")]
        assert resolver.ptr("1.2.0.192.in-addr.arpa") == ["host.example.org"]
        assert resolver.txt("missing.example.org") == []  # NXDOMAIN
        assert resolver.a("1.2.0.192.in-addr.arpa") == []  # name exists, no A record


def test_servfail_and_timeout_raise_temp_errors_and_are_remembered_briefly() -> None:
    clock = FakeClock()
    with running(ZONE) as server:
        server.servfail.add("broken.example.org")
        server.drop.add("silent.example.org")
        resolver = Resolver(ResolverSettings(nameserver=server.address, timeout=0.2, temperror_ttl=30), clock=clock)
        with pytest.raises(DnsTempError, match=r"broken\.example\.org"):
            resolver.txt("broken.example.org")
        with pytest.raises(DnsTempError, match=r"silent\.example\.org"):
            resolver.txt("silent.example.org")
        with pytest.raises(DnsTempError):
            resolver.txt("broken.example.org")
        assert server.queries[("broken.example.org", "TXT")] == 1
        server.servfail.clear()
        server.add("broken.example.org", "TXT", "fixed")
        clock.now += 31
        assert resolver.txt("broken.example.org") == ["fixed"]


def test_cache_honours_ttl_bounds_and_cache_only_view() -> None:
    clock = FakeClock()
    with running(ZONE) as server:
        server.ttl = 5  # below min_ttl: the cache keeps it for min_ttl
        resolver = Resolver(ResolverSettings(nameserver=server.address, timeout=0.5, min_ttl=60), clock=clock)
        view = resolver.cache_only()
        with pytest.raises(CacheMiss):
            view.a("example.org")
        assert resolver.a("example.org") == ["192.0.2.1"]
        assert view.a("example.org") == ["192.0.2.1"]
        clock.now += 59
        assert resolver.a("example.org") == ["192.0.2.1"]
        assert server.queries[("example.org", "A")] == 1
        assert resolver.lookups == 1
        clock.now += 2
        assert resolver.a("example.org") == ["192.0.2.1"]
        assert server.queries[("example.org", "A")] == 2


def test_cache_is_bounded() -> None:
    with running(ZONE) as server:
        resolver = Resolver(ResolverSettings(nameserver=server.address, timeout=0.5, max_entries=10))
        for i in range(25):
            resolver.txt(f"n{i}.example.org")
        assert len(resolver._cache) <= 10


def test_async_helper_runs_in_a_thread() -> None:
    with running(ZONE) as server:
        resolver = Resolver(ResolverSettings(nameserver=server.address, timeout=0.5))
        assert asyncio.run(resolver.aa("example.org")) == ["192.0.2.1"]
        assert "v=spf1 ip4:192.0.2.0/24 -all" in asyncio.run(resolver.atxt("example.org"))


def test_a_nameserver_that_stops_answering_is_skipped_for_a_while() -> None:
    clock = FakeClock()
    with running(ZONE) as server:
        server.drop.update({"a.example.org", "b.example.org", "c.example.org", "d.example.org"})
        settings = ResolverSettings(nameserver=server.address, timeout=0.1, breaker_threshold=2, breaker_seconds=60)
        resolver = Resolver(settings, clock=clock)
        for name in ("a.example.org", "b.example.org", "c.example.org"):
            with pytest.raises(DnsTempError):
                resolver.txt(name)
        assert server.queries[("c.example.org", "TXT")] == 0  # not asked: the breaker was open
        with pytest.raises(DnsTempError, match="nameserver not answering"):
            resolver.a("example.org")
        clock.now += 61
        assert resolver.a("example.org") == ["192.0.2.1"]

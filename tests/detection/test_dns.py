from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ramparts.config import load_settings
from ramparts.detection.dns import (
    CacheMiss,
    DnsTempError,
    Resolver,
    ResolverSettings,
    ZoneResolver,
    parse_nameserver,
    resolver_from_settings,
)
from ramparts.errors import ConfigError
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


ZONE_FILE = """
$TTL 600
$ORIGIN example.org.
@                 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
@                 IN A 192.0.2.1
@                 IN MX 10 mx1
_dmarc            IN TXT "v=DMARC1; p=reject"
s1._domainkey     IN TXT ( "v=DKIM1; k=rsa; "
                           "p=MIGfMA0GCSqGSIb3" )
www               IN CNAME example.org.
$ORIGIN example.net.
@                 IN TXT "v=spf1 include:example.org ~all"
"""


@pytest.fixture
def zone(tmp_path: Path) -> ZoneResolver:
    path = tmp_path / "demo.zone"
    path.write_text(ZONE_FILE)
    return ZoneResolver(path)


def test_zone_answers_txt_of_several_domains_from_the_file(zone: ZoneResolver) -> None:
    assert zone.txt("example.org") == ["v=spf1 ip4:192.0.2.0/24 -all"]
    assert zone.txt("_DMARC.Example.org.") == ["v=DMARC1; p=reject"]
    assert zone.txt("example.net") == ["v=spf1 include:example.org ~all"]
    assert zone.a("example.org") == ["192.0.2.1"]
    assert zone.mx("example.org") == [(10, "mx1.example.org")]


def test_zone_multi_string_txt_is_joined_and_kept_apart_raw(zone: ZoneResolver) -> None:
    assert zone.txt("s1._domainkey.example.org") == ["v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3"]
    assert zone.txt_raw("s1._domainkey.example.org") == [(b"v=DKIM1; k=rsa; ", b"p=MIGfMA0GCSqGSIb3")]


def test_zone_names_not_in_it_are_nxdomain_and_cnames_are_followed(zone: ZoneResolver) -> None:
    assert zone.txt("missing.example.org") == []
    assert zone.txt("google.com") == []  # no network: outside the file nothing exists
    assert zone.aaaa("example.org") == []  # the name exists, without that type
    assert zone.txt("_dmarc.example.net") == []
    assert zone.a("www.example.org") == ["192.0.2.1"]
    assert zone.txt("") == []
    assert zone.cache_only() is zone  # every answer is local: no CacheMiss, no thread hop


def test_zone_file_that_cannot_be_read_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.zone"):
        ZoneResolver(tmp_path / "missing.zone")
    broken = tmp_path / "broken.zone"
    broken.write_text('$ORIGIN example.org.\n@ IN TXT "unterminated\n')
    with pytest.raises(ConfigError, match=r"broken\.zone"):
        ZoneResolver(broken)


def test_resolver_from_settings_picks_the_zone_file_inside_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "dns").mkdir(parents=True)
    (data / "dns" / "local.zone").write_text(ZONE_FILE)
    chosen = resolver_from_settings(load_settings(data, dns_zone_file=Path("dns/local.zone")))
    assert isinstance(chosen, ZoneResolver)
    assert chosen.txt("example.org") == ["v=spf1 ip4:192.0.2.0/24 -all"]
    network = resolver_from_settings(load_settings(data, dns_nameserver="127.0.0.1:5353", dns_timeout=0.5))
    assert isinstance(network, Resolver)
    assert network.settings.nameserver == "127.0.0.1:5353"

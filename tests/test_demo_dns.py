from __future__ import annotations

import base64
import ipaddress
import random
import stat
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ramparts.demo_dns import DemoDns, DkimKey, SendingDomain
from ramparts.detection.dns import ZoneResolver

DOMAINS = (
    SendingDomain("adatum.com", "v=spf1 ip4:203.0.113.0/27 -all", "v=DMARC1; p=reject", "s1", ("203.0.113.0/27",)),
    SendingDomain("attacker.example", "v=spf1 ip4:45.13.22.0/24 -all", "", "k1", ("45.13.22.0/24",)),
    SendingDomain("parked.example", spf="v=spf1 -all", dmarc="v=DMARC1; p=reject"),
    SendingDomain("nothing.example"),
)
RAW = (
    b"From: Adatum <orders@adatum.com>\nTo: megan.bowen@contoso.com\nSubject: Order 42\n"
    b"Date: Mon, 01 Jan 2024 10:00:00 +0000\nMessage-ID: <1@adatum.com>\n\nPlease confirm the order.\n"
)


def zone_of(dns: DemoDns, tmp_path: Path) -> ZoneResolver:
    return ZoneResolver(dns.write(tmp_path / "zone" / "demo.zone"))


def verify(raw: bytes, zone: ZoneResolver) -> bool:
    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        found = zone.txt(name.decode())
        return found[0].encode() if found else None

    return bool(dkim.verify(raw, dnsfunc=dnsfunc))


def test_generated_key_is_a_valid_rsa_key_whose_public_half_is_the_record() -> None:
    key = DkimKey.generate(random.Random("test"))
    loaded = serialization.load_pem_private_key(key.pem(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.key_size == 1024
    assert loaded.private_numbers().public_numbers.n == key.modulus
    published = serialization.load_der_public_key(base64.b64decode(key.record.partition("p=")[2]))
    assert isinstance(published, rsa.RSAPublicKey)
    assert published.public_numbers().n == key.modulus
    assert DkimKey.from_pem(key.pem()) == key


def test_keys_follow_the_seed() -> None:
    assert DemoDns(DOMAINS, 7).key("adatum.com") == DemoDns(DOMAINS, 7).key("adatum.com")
    assert DemoDns(DOMAINS, 7).key("adatum.com") != DemoDns(DOMAINS, 8).key("adatum.com")
    assert DemoDns(DOMAINS, 7).key("adatum.com") != DemoDns(DOMAINS, 7).key("attacker.example")


def test_the_zone_publishes_spf_dmarc_and_dkim_and_nothing_for_silent_domains(tmp_path: Path) -> None:
    dns = DemoDns(DOMAINS, 7)
    zone = zone_of(dns, tmp_path)
    assert zone.txt("adatum.com") == ["v=spf1 ip4:203.0.113.0/27 -all"]
    assert zone.txt("_dmarc.adatum.com") == ["v=DMARC1; p=reject"]
    assert zone.txt("s1._domainkey.adatum.com") == [dns.key("adatum.com").record]
    assert zone.txt("_dmarc.parked.example") == ["v=DMARC1; p=reject"]
    assert zone.txt("_dmarc.attacker.example") == []
    assert zone.txt("nothing.example") == []


def test_signatures_verify_against_the_zone_and_forgeries_do_not(tmp_path: Path) -> None:
    dns = DemoDns(DOMAINS, 7)
    zone = zone_of(dns, tmp_path)
    signed = dns.sign(RAW, "adatum.com")
    assert signed.startswith(b"DKIM-Signature: v=1; a=rsa-sha256;")
    assert verify(signed, zone)
    assert not verify(dns.sign(RAW, "adatum.com", key_of="attacker.example"), zone)
    assert not verify(signed.replace(b"Please confirm", b"Please pay"), zone)


def test_keys_are_kept_private_in_the_key_dir_and_reused_whatever_the_seed(tmp_path: Path) -> None:
    first = DemoDns(DOMAINS, 7, key_dir=tmp_path / "keys")
    record = first.key("adatum.com").record
    path = tmp_path / "keys" / "s1._domainkey.adatum.com.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    again = DemoDns(DOMAINS, 99, key_dir=tmp_path / "keys")
    assert again.key("adatum.com").record == record


@pytest.mark.parametrize("domain", ["adatum.com", "attacker.example"])
def test_client_addresses_are_inside_the_domains_networks(domain: str) -> None:
    dns = DemoDns(DOMAINS, 7)
    rng = random.Random(1)
    network = ipaddress.ip_network(dns[domain].networks[0])
    addresses = {dns.address_in(domain, rng) for _ in range(50)}
    assert all(ipaddress.ip_address(a) in network for a in addresses)
    assert len(addresses) > 5

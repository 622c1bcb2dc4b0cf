from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ramparts.detection.dns import Resolver, ResolverSettings
from tests.detection.dnsserver import ZoneServer, running

BASE_ZONE = {
    "adatum.com": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]},
    "_dmarc.adatum.com": {"TXT": ["v=DMARC1; p=reject; rua=mailto:dmarc@adatum.com"]},
    "contoso.com": {"TXT": ["v=spf1 ip4:198.51.100.0/24 -all"]},
    "_dmarc.contoso.com": {"TXT": ["v=DMARC1; p=quarantine"]},
}


@dataclass(frozen=True)
class DkimKey:
    private_pem: bytes
    record: str
    """The TXT record to publish: v=DKIM1; k=rsa; p=..."""


@pytest.fixture(scope="session")
def dkim_key() -> DkimKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return DkimKey(private, "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode())


@pytest.fixture
def dns_server(dkim_key: DkimKey) -> Iterator[ZoneServer]:
    zone = {name: {kind: list(values) for kind, values in records.items()} for name, records in BASE_ZONE.items()}
    zone["sel1._domainkey.adatum.com"] = {"TXT": [dkim_key.record]}
    with running(zone) as server:
        yield server


@pytest.fixture
def resolver(dns_server: ZoneServer) -> Resolver:
    return Resolver(ResolverSettings(nameserver=dns_server.address, timeout=0.5))

"""The demo's DNS: SPF, DMARC and DKIM records of its sending domains, their DKIM keys, and a zone file.

`ramparts demo` writes the zone into the data directory and points `dns_zone_file` at it, so that the
real SPF, DKIM and DMARC checks pass, soft-fail or fail for demo mail as they would on the Internet,
with no network. The generator signs mail with dkimpy using the keys whose public halves are in the zone.

Keys are 1024-bit RSA (what many large senders still publish, and dkimpy's minimum), made by a prime
search driven by a `random.Random` seeded with the demo's seed and the key's DNS name: the same seed
gives the same keys. They are not secret-grade and sign demo mail only; the private halves stay in the
data directory.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import itertools
import math
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dkim
import dkim.crypto

RSA_BITS = 1024
_E = 65537
_WINDOW = 2048
"""Odd numbers sieved at a time in the prime search."""


def _small_primes(limit: int) -> tuple[int, ...]:
    sieve = bytearray(b"\x01") * limit
    for n in range(2, math.isqrt(limit) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytes(len(range(n * n, limit, n)))
    return tuple(n for n in range(3, limit) if sieve[n])


_SMALL_PRIMES = _small_primes(1 << 14)
_RSA_OID = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1 rsaEncryption


@dataclass(frozen=True, slots=True)
class SendingDomain:
    name: str
    spf: str = ""
    """The TXT record at the domain; "" = no SPF record."""
    dmarc: str = ""
    """The TXT record at _dmarc.<name>; "" = none (receivers then look at the organizational domain)."""
    selector: str = ""
    """DKIM selector; "" = the domain does not sign."""
    networks: tuple[str, ...] = ()
    """Where the domain's own mail leaves from (the demo picks SMTP client addresses inside)."""


@dataclass(frozen=True, slots=True)
class DkimKey:
    modulus: int
    private_exponent: int
    prime1: int
    prime2: int

    @property
    def record(self) -> str:
        """The DKIM TXT record publishing the public half."""
        public = _seq(_der_int(self.modulus), _der_int(_E))
        spki = _seq(_seq(_der(0x06, _RSA_OID), _der(0x05, b"")), _der(0x03, b"\x00" + public))
        return "v=DKIM1; k=rsa; p=" + base64.b64encode(spki).decode()

    def pem(self) -> bytes:
        """PKCS#1 RSAPrivateKey, the "BEGIN RSA PRIVATE KEY" PEM that dkimpy and OpenSSL read."""
        p, q, d = self.prime1, self.prime2, self.private_exponent
        numbers = (0, self.modulus, _E, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p))
        body = base64.encodebytes(_seq(*map(_der_int, numbers))).replace(b"\n", b"")
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return b"\n".join([b"-----BEGIN RSA PRIVATE KEY-----", *lines, b"-----END RSA PRIVATE KEY-----", b""])

    @classmethod
    def from_pem(cls, data: bytes) -> DkimKey:
        fields = dkim.crypto.parse_pem_private_key(data)
        return cls(fields["modulus"], fields["privateExponent"], fields["prime1"], fields["prime2"])

    @classmethod
    def generate(cls, rng: random.Random, bits: int = RSA_BITS) -> DkimKey:
        while True:
            p, q = _prime(bits // 2, rng), _prime(bits // 2, rng)
            if p != q:
                return cls(p * q, pow(_E, -1, (p - 1) * (q - 1)), p, q)


@functools.cache
def _seeded_key(seed: int, domain: str, selector: str) -> DkimKey:
    return DkimKey.generate(random.Random(f"{seed}/{selector}._domainkey.{domain}"))


class DemoDns:
    """The records and keys of a set of sending domains; keys come from `key_dir` when already there."""

    def __init__(self, domains: Sequence[SendingDomain], seed: int, *, key_dir: Path | None = None) -> None:
        self.domains = {d.name: d for d in domains}
        self.seed = seed
        self.key_dir = key_dir
        self._keys: dict[str, DkimKey] = {}

    def __getitem__(self, name: str) -> SendingDomain:
        return self.domains[name]

    def key(self, name: str) -> DkimKey:
        """The domain's DKIM key: read from key_dir, else made from the seed (and saved to key_dir)."""
        if name in self._keys:
            return self._keys[name]
        selector = self.domains[name].selector
        path = self.key_dir / f"{selector}._domainkey.{name}.pem" if self.key_dir else None
        if path is not None and path.exists():
            key = DkimKey.from_pem(path.read_bytes())
        else:
            key = _seeded_key(self.seed, name, selector)
            if path is not None:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(key.pem())
        self._keys[name] = key
        return key

    def sign(self, raw: bytes, domain: str, *, key_of: str = "") -> bytes:
        """raw with a DKIM-Signature of `domain` on top; `key_of` names another domain whose key forges it."""
        selector = self.domains[domain].selector.encode()
        pem = self.key(key_of or domain).pem()
        header: bytes = dkim.sign(raw, selector, domain.encode(), pem, linesep=b"\n")
        return header + raw

    def address_in(self, domain: str, rng: random.Random) -> str:
        """An SMTP client address the domain's SPF record allows."""
        return address_in(self.domains[domain].networks, rng)

    def zone_text(self) -> str:
        lines = [
            "; The demo's sending domains: SPF, DMARC and DKIM records (RFC 1035 zone file).",
            "; Written by `ramparts demo` on every run; read through the dns_zone_file setting.",
            "$TTL 3600",
        ]
        for domain in self.domains.values():
            records: list[tuple[str, str]] = []
            if domain.spf:
                records.append(("@", domain.spf))
            if domain.dmarc:
                records.append(("_dmarc", domain.dmarc))
            if domain.selector:
                records.append((f"{domain.selector}._domainkey", self.key(domain.name).record))
            if records:
                lines += ["", f"$ORIGIN {domain.name}."]
                lines += [f"{owner:<24} IN TXT {_txt_strings(text)}" for owner, text in records]
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.zone_text())
        return path


def address_in(networks: Sequence[str], rng: random.Random) -> str:
    """A host address in one of the networks (a single address for a /32)."""
    network = ipaddress.ip_network(rng.choice(networks))
    if network.num_addresses <= 2:
        return str(network[0])
    return str(network[rng.randint(1, min(network.num_addresses - 2, 250))])


def _txt_strings(text: str) -> str:
    """A TXT value as quoted strings of at most 255 bytes (longer records are split, as DKIM keys are)."""
    escaped = [text[i : i + 250].replace("\\", "\\\\").replace('"', '\\"') for i in range(0, len(text), 250)]
    quoted = [f'"{part}"' for part in escaped]
    return quoted[0] if len(quoted) == 1 else "( " + " ".join(quoted) + " )"


def _miller_rabin(n: int, rng: random.Random, rounds: int = 7) -> bool:
    """7 rounds: FIPS 186-4's count for the primes of a 1024-bit key (after sieving)."""
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rng: random.Random) -> int:
    """A prime of exactly `bits` bits with the top two set (so p*q has 2*bits bits) and p-1 prime to e.

    The odd numbers after a random start are sieved by the primes below 2**14 first, so that Miller-Rabin
    runs on about one number in ten instead of one in four.
    """
    while True:
        start = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        alive = bytearray(b"\x01") * _WINDOW  # alive[i] stands for start + 2*i
        for p in _SMALL_PRIMES:
            first = (p - start % p) * ((p + 1) // 2) % p  # start + 2*first is a multiple of p
            alive[first::p] = bytes(len(range(first, _WINDOW, p)))
        for i in itertools.compress(range(_WINDOW), alive):
            candidate = start + 2 * i
            if candidate.bit_length() == bits and (candidate - 1) % _E and _miller_rabin(candidate, rng):
                return candidate


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _der_int(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _seq(*parts: bytes) -> bytes:
    return _der(0x30, b"".join(parts))

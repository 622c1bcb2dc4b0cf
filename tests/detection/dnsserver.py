"""A tiny authoritative DNS server for tests, on 127.0.0.1 and a free UDP port.

It is a test peer standing in for the real authoritative servers of the sender domains: it answers
from a zone dict, so that SPF, DKIM and DMARC run their real DNS code paths without the network.
Names listed in `servfail` answer SERVFAIL; names in `drop` get no answer at all (a timeout).
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.TXT import TXT

Zone = dict[str, dict[str, list[str]]]
"""name -> record type -> values; TXT values are plain strings (split into 255-byte chunks here)."""


class ZoneServer:
    def __init__(self, zone: Zone | None = None, *, ttl: int = 300) -> None:
        self.zone: Zone = {name.lower().rstrip("."): records for name, records in (zone or {}).items()}
        self.servfail: set[str] = set()
        self.drop: set[str] = set()
        self.ttl = ttl
        self.queries: Counter[tuple[str, str]] = Counter()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        self.port = int(self._socket.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="test-dns", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add(self, name: str, rdtype: str, *values: str) -> None:
        self.zone.setdefault(name.lower().rstrip("."), {}).setdefault(rdtype, []).extend(values)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self._answer(wire)
            if reply is not None:
                self._socket.sendto(reply, peer)

    def _answer(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries[(name, rdtype)] += 1
        if name in self.drop:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        records = self.zone.get(name)
        if records is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response.to_wire()
        values = records.get(rdtype, [])
        if values:
            rrset = dns.rrset.RRset(question.name, dns.rdataclass.IN, question.rdtype)
            for value in values:
                if rdtype == "TXT":
                    data = value.encode()
                    chunks = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
                    rrset.add(TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks), self.ttl)
                else:
                    rrset.add(dns.rdata.from_text(dns.rdataclass.IN, question.rdtype, value), self.ttl)
            response.answer.append(rrset)
        return response.to_wire()


@contextmanager
def running(zone: Zone | None = None) -> Iterator[ZoneServer]:
    server = ZoneServer(zone)
    server.start()
    try:
        yield server
    finally:
        server.stop()

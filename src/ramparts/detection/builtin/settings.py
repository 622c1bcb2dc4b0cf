"""Settings of the builtin engine, passed in by whoever builds it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BuiltinSettings:
    check_authentication: bool = True
    """Run SPF, DKIM and DMARC (needs DNS); off = AuthenticationDetails stay empty."""
    trusted_authserv_ids: tuple[str, ...] = ()
    """Authentication-Results headers from these authserv-ids are believed instead of checking again."""
    internal_networks: tuple[str, ...] = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "::1/128")
    """Peers in these networks are the organisation's own relays: no intra-org spoof verdict for them."""
    dkim_min_key_bits: int = 1024
    max_dkim_signatures: int = 5
    max_archive_members: int = 200
    max_scan_bytes: int = 20 * 1024 * 1024
    """Attachments (and archive members) larger than this are not scanned for EICAR or macros."""

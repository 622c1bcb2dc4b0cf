"""Delivery to a downstream mail server over SMTP or LMTP.

The downstream server files the message; ramparts tells it where with X-Ramparts-Folder and the
usual spam flags, so a Sieve rule (or Exchange transport rule) can put Junk where it belongs.
"""

from __future__ import annotations

import smtplib
import threading

from ramparts.delivery.mailbox import Folder, StoredCopy
from ramparts.errors import ConfigError


class RelayError(Exception):
    """The downstream server refused or could not be reached; the message stays in the spool."""


class RelayBackend:
    name = "relay"

    def __init__(self, host: str, port: int, *, protocol: str = "smtp", timeout: float = 30.0) -> None:
        if protocol not in ("smtp", "lmtp"):
            raise ConfigError(f"relay protocol must be smtp or lmtp, not {protocol!r}")
        self.host, self.port, self.protocol, self.timeout = host, port, protocol, timeout
        self._local = threading.local()

    @classmethod
    def from_address(cls, address: str, protocol: str = "smtp") -> RelayBackend:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"relay_host must be host:port, not {address!r}")
        return cls(host, int(port), protocol=protocol)

    def _client(self) -> smtplib.SMTP:
        client: smtplib.SMTP | None = getattr(self._local, "client", None)
        if client is not None:
            try:
                if client.noop()[0] == 250:
                    return client
            except smtplib.SMTPException:
                pass
        if self.protocol == "lmtp":
            client = smtplib.LMTP(self.host, self.port, timeout=self.timeout)
            client.ehlo_or_helo_if_needed()
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            client.ehlo()
        self._local.client = client
        return client

    def deliver(
        self, recipient: str, network_message_id: str, raw: bytes, folder: Folder, *, received: float | None = None
    ) -> str:
        headers = f"X-Ramparts-NetworkMessageId: {network_message_id}\r\nX-Ramparts-Folder: {folder.value}\r\n"
        if folder is Folder.JUNK:
            headers += "X-Spam-Flag: YES\r\n"
        try:
            client = self._client()
            refused: dict[str, tuple[int, bytes]] = client.sendmail("", [recipient], headers.encode() + raw)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise RelayError(f"relay to {self.host}:{self.port} failed: {exc}") from exc
        if refused:
            raise RelayError(f"relay to {self.host}:{self.port} refused {recipient}: {refused[recipient]}")
        return f"relay:{self.host}:{self.port}:{network_message_id}"

    def close(self) -> None:
        client: smtplib.SMTP | None = getattr(self._local, "client", None)
        self._local.client = None
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()

    def locate(self, recipient: str, network_message_id: str, *, ref: str = "") -> StoredCopy | None:
        return None

    def move(self, recipient: str, network_message_id: str, folder: Folder, *, ref: str = "") -> StoredCopy | None:
        return None

    def remove(self, recipient: str, network_message_id: str, *, ref: str = "") -> bool:
        return False

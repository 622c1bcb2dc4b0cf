"""Relay delivery against a real SMTP server (aiosmtpd) standing in for the downstream mail server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from ramparts.delivery.mailbox import Folder
from ramparts.delivery.relay import RelayBackend, RelayError
from ramparts.errors import ConfigError
from tests.conftest import free_port


class Collect:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def downstream() -> Iterator[tuple[Collect, int]]:
    handler = Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_relay_hands_over_with_folder_headers(downstream: tuple[Collect, int]) -> None:
    handler, port = downstream
    relay = RelayBackend("127.0.0.1", port)
    ref = relay.deliver("bob@contoso.com", "nmid-9", b"Subject: x\r\n\r\nhello\r\n", Folder.JUNK)
    relay.close()
    assert ref.endswith("nmid-9")
    rcpts, content = handler.messages[0]
    assert rcpts == ["bob@contoso.com"]
    assert b"X-Ramparts-Folder: Junk" in content
    assert b"X-Spam-Flag: YES" in content
    assert content.endswith(b"hello\r\n")


def test_refused_recipient_raises_relay_error(downstream: tuple[Collect, int]) -> None:
    _, port = downstream
    relay = RelayBackend("127.0.0.1", port)
    with pytest.raises(RelayError, match="refused"):
        relay.deliver("nobody@contoso.com", "n", b"Subject: x\r\n\r\n", Folder.INBOX)
    relay.close()


def test_unreachable_downstream_raises_relay_error() -> None:
    port = free_port()
    with pytest.raises(RelayError, match="failed"):
        RelayBackend("127.0.0.1", port, timeout=2).deliver("b@c.com", "n", b"x", Folder.INBOX)


def test_bad_relay_address_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        RelayBackend.from_address("nohost")

"""The interface of a mailbox backend, and the folders ramparts files mail into."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from ramparts.domain.enums import DeliveryLocation


class Folder(enum.StrEnum):
    INBOX = "Inbox"
    JUNK = "Junk"
    DELETED = "Deleted Items"


FOLDER_FOR_LOCATION = {
    DeliveryLocation.INBOX: Folder.INBOX,
    DeliveryLocation.JUNK: Folder.JUNK,
    DeliveryLocation.DELETED_ITEMS: Folder.DELETED,
}
LOCATION_FOR_FOLDER = {folder: location for location, folder in FOLDER_FOR_LOCATION.items()}


@dataclass(frozen=True, slots=True)
class StoredCopy:
    """Where a delivered copy is now, as the backend sees it."""

    ref: str
    folder: Folder
    read: bool


class MailboxBackend(Protocol):
    name: str

    def deliver(
        self, recipient: str, network_message_id: str, raw: bytes, folder: Folder, *, received: float | None = None
    ) -> str:
        """Deliver one copy; delivering the same (recipient, message, received time) twice keeps one copy.
        Returns its ref."""
        ...

    def locate(self, recipient: str, network_message_id: str, *, ref: str = "") -> StoredCopy | None:
        """Find the copy, wherever the user moved it; None when the user deleted it. `ref` (what deliver or
        move returned) is where to look first."""
        ...

    def move(self, recipient: str, network_message_id: str, folder: Folder, *, ref: str = "") -> StoredCopy | None:
        """Move the copy to a folder; None when it is gone."""
        ...

    def remove(self, recipient: str, network_message_id: str, *, ref: str = "") -> bool:
        """Take the copy out of the mailbox (into quarantine); False when it was already gone."""
        ...

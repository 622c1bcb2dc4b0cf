"""Which mailbox backend the settings choose (`mailbox_backend`, or the relay when relay_host is set)."""

from __future__ import annotations

from ramparts.config import Settings
from ramparts.delivery.mailbox import MailboxBackend
from ramparts.errors import ConfigError

BACKENDS = ("maildir", "relay", "imap")


def backend_for(settings: Settings) -> MailboxBackend:
    choice = settings.mailbox_backend or ("relay" if settings.relay_host else "maildir")
    if choice == "relay":
        from ramparts.delivery.relay import RelayBackend

        return RelayBackend.from_address(settings.relay_host, settings.relay_protocol)
    if choice == "imap":
        from ramparts.delivery.imap import ImapBackend, ImapSettings

        return ImapBackend(
            ImapSettings(
                host=settings.imap_host,
                port=settings.imap_port,
                tls=settings.imap_tls,
                master_user=settings.imap_master_user,
                master_password=settings.imap_master_password,
                separator=settings.imap_master_separator,
                junk_folder=settings.imap_junk_folder,
                deleted_folder=settings.imap_deleted_folder,
                timeout=settings.imap_timeout,
            )
        )
    if choice == "maildir":
        from ramparts.delivery.maildir import MaildirBackend

        return MaildirBackend(settings.mail_dir)
    raise ConfigError(f"mailbox_backend must be one of {', '.join(BACKENDS)}, not {choice!r}")

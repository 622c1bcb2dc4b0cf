"""Mailbox backends: Maildir per recipient, or a downstream server over SMTP/LMTP; post-delivery moves."""

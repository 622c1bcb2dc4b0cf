"""Apps, client secrets, signed access tokens and the audit log.

Public API (stable; other packages import these names from here):

    register_app, rotate_secret, revoke_app, verify_client, list_apps, find_app   (apps.py)
    issue_token, verify_token, Principal                                           (tokens.py)
    load_signing_key                                                               (keys.py)
    record                                                                         (audit.py)
    scope constants                                                                (scopes.py)
"""

from __future__ import annotations

from ramparts.identity.apps import find_app, list_apps, register_app, revoke_app, rotate_secret, verify_client
from ramparts.identity.audit import record
from ramparts.identity.keys import load_signing_key
from ramparts.identity.scopes import (
    ADMIN,
    ALL_SCOPES,
    ANALYZED_MESSAGE_READ,
    ANALYZED_MESSAGE_READ_WRITE,
    THREAT_HUNTING_READ,
    VERDICT_SUBMIT,
)
from ramparts.identity.tokens import Principal, issue_token, verify_token

__all__ = [
    "ADMIN",
    "ALL_SCOPES",
    "ANALYZED_MESSAGE_READ",
    "ANALYZED_MESSAGE_READ_WRITE",
    "THREAT_HUNTING_READ",
    "VERDICT_SUBMIT",
    "Principal",
    "find_app",
    "issue_token",
    "list_apps",
    "load_signing_key",
    "record",
    "register_app",
    "revoke_app",
    "rotate_secret",
    "verify_client",
    "verify_token",
]

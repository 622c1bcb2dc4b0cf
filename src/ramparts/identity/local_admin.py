"""The built-in "ramparts-cli" admin app, whose credentials the server leaves for local tools.

At each start the server makes sure data_dir/admin-credentials.json (mode 0600) holds the client id
and a working secret of an unrevoked admin app with Ramparts.Admin and ThreatHunting.Read.All. The
command line reads it to get a token when it must go through the running server (DuckDB allows one
process), e.g. `ramparts hunt`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from ramparts.errors import AuthError
from ramparts.identity.apps import register_app, rotate_secret, verify_client
from ramparts.identity.models import AppRegistration
from ramparts.identity.scopes import ADMIN, THREAT_HUNTING_READ

FILE_NAME = "admin-credentials.json"
APP_NAME = "ramparts-cli"
SCOPES = (ADMIN, THREAT_HUNTING_READ)


@dataclass(frozen=True, slots=True)
class LocalAdmin:
    client_id: str
    client_secret: str


def credentials_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def read_local_admin(data_dir: Path) -> LocalAdmin | None:
    try:
        raw = json.loads(credentials_path(data_dir).read_text())
        return LocalAdmin(str(raw["client_id"]), str(raw["client_secret"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, replacing any older one atomically."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def ensure_local_admin(session: Session, data_dir: Path) -> LocalAdmin:
    """Keep the stored credentials when they still work; otherwise register or re-key the app and
    write the file again. Commits."""
    current = read_local_admin(data_dir)
    if current is not None:
        try:
            app = verify_client(session, current.client_id, current.client_secret)
        except AuthError:
            pass
        else:
            if app.kind == "admin" and set(SCOPES) <= set(app.scopes):
                return current
    existing = session.get(AppRegistration, current.client_id) if current is not None else None
    if existing is not None and existing.revoked_at is None and existing.kind == "admin":
        secret = rotate_secret(session, existing.client_id, actor="server")
        admin = LocalAdmin(existing.client_id, secret)
    else:
        app, secret = register_app(session, name=APP_NAME, kind="admin", scopes=SCOPES, actor="server")
        admin = LocalAdmin(app.client_id, secret)
    session.commit()
    data_dir.mkdir(parents=True, exist_ok=True)
    _write_private(
        credentials_path(data_dir),
        json.dumps({"client_id": admin.client_id, "client_secret": admin.client_secret}, indent=2),
    )
    return admin

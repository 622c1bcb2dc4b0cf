from __future__ import annotations

import json
import stat
from pathlib import Path

from sqlalchemy.orm import Session

from ramparts.identity import ADMIN, THREAT_HUNTING_READ, revoke_app, verify_client
from ramparts.identity.local_admin import credentials_path, ensure_local_admin, read_local_admin


def test_credentials_file_is_private_and_works(session: Session, tmp_path: Path) -> None:
    admin = ensure_local_admin(session, tmp_path)
    path = credentials_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"client_id": admin.client_id, "client_secret": admin.client_secret}
    app = verify_client(session, admin.client_id, admin.client_secret)
    assert app.kind == "admin"
    assert {ADMIN, THREAT_HUNTING_READ} <= set(app.scopes)


def test_a_working_credential_is_kept_across_starts(session: Session, tmp_path: Path) -> None:
    first = ensure_local_admin(session, tmp_path)
    assert ensure_local_admin(session, tmp_path) == first


def test_a_revoked_or_damaged_credential_is_replaced(session: Session, tmp_path: Path) -> None:
    first = ensure_local_admin(session, tmp_path)
    revoke_app(session, first.client_id)
    session.commit()
    second = ensure_local_admin(session, tmp_path)
    assert second.client_id != first.client_id
    assert read_local_admin(tmp_path) == second
    credentials_path(tmp_path).write_text(json.dumps({"client_id": second.client_id, "client_secret": "lost"}))
    third = ensure_local_admin(session, tmp_path)
    assert third.client_id == second.client_id
    assert third.client_secret != "lost"
    verify_client(session, third.client_id, third.client_secret)
    assert stat.S_IMODE(credentials_path(tmp_path).stat().st_mode) == 0o600

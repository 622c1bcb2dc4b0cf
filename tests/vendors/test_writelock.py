"""The vendor API's write lock serialises writers across processes (the server and its applier)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from ramparts.store.db import make_engine
from ramparts.vendors.writelock import write_lock
from tests.vendors.support import World

_TRY_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit(3)
"""


def _other_process_may_write(lock_file: Path) -> bool:
    code = subprocess.run([sys.executable, "-c", _TRY_LOCK, str(lock_file)], check=False).returncode
    assert code in (0, 3), code
    return code == 0


def test_another_process_waits_while_the_lock_is_held(world: World) -> None:
    lock = write_lock(world.services)
    database = Path(world.services.settings.control_url.removeprefix("sqlite:///"))
    lock_file = database.with_name(database.name + ".write-lock")
    with lock:
        assert lock_file.exists()
        assert not _other_process_may_write(lock_file)
    assert _other_process_may_write(lock_file)


def test_without_sqlite_only_threads_are_serialised(world: World) -> None:
    sqlite_sessions = world.services.sessions
    world.services.sessions = sessionmaker(make_engine("postgresql://x/y"))  # never connects
    world.services.extras.pop("vendors.write_lock", None)
    lock = write_lock(world.services)
    try:
        with lock:
            assert lock._fd == -1
    finally:
        world.services.sessions = sqlite_sessions

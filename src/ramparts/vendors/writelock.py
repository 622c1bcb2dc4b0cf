"""One writer at a time on the control-plane database from the vendor API: intake requests (in the
server) and the applier (in its own process) take this lock around their write and commit.

SQLite lets one connection write at a time, and a connection that finds the database locked waits in
SQLite's busy handler, which sleeps in steps of up to 100 ms: under a few hundred requests a second
the waits pile up into seconds. Threads queued on a Python lock, and processes blocked in flock(2),
instead run the moment it is free. The lock file lives beside the SQLite database; with another
database (PostgreSQL) only the in-process lock is taken: its row locks wait without sleeping.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path

from ramparts.services import Services

_KEY = "vendors.write_lock"
_made = threading.Lock()


class WriteLock:
    def __init__(self, lock_file: Path | None) -> None:
        self._thread_lock = threading.Lock()
        self._fd = -1
        if lock_file is not None:
            self._fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        if self._fd >= 0:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._thread_lock.release()
                raise

    def __exit__(self, *exc: object) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1


def write_lock(services: Services) -> WriteLock:
    found = services.extras.get(_KEY)
    if found is None:
        with _made:
            found = services.extras.get(_KEY)
            if found is None:
                found = services.extras[_KEY] = WriteLock(_lock_file(services))
                services.on_close.append(found.close)
    assert isinstance(found, WriteLock)
    return found


def _lock_file(services: Services) -> Path | None:
    url = services.sessions.kw["bind"].url
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or not os.path.isabs(database):  # or an in-memory database
        return None
    return Path(database + ".write-lock")

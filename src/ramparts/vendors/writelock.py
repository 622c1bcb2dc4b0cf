"""One writer at a time on the control-plane database from the vendor API: intake requests and the
applier take this lock around their write and commit.

SQLite lets one connection write at a time, and a connection that finds the database locked waits in
SQLite's busy handler, which sleeps in steps of up to 100 ms: under a few hundred requests a second
the waits pile up into seconds. Threads queued on a Python lock instead run the moment it is free.
"""

from __future__ import annotations

import threading

from ramparts.services import Services

_KEY = "vendors.write_lock"
_made = threading.Lock()


def write_lock(services: Services) -> threading.Lock:
    found = services.extras.get(_KEY)
    if found is None:
        with _made:
            found = services.extras.setdefault(_KEY, threading.Lock())
    assert isinstance(found, type(_made))
    return found

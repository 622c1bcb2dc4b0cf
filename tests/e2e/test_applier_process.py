"""The vendor verdict applier's own process under `ramparts serve`: stopped with the server, also
when a service manager signals the whole process group, and never outliving a killed server."""

from __future__ import annotations

import os
import signal
import time

from tests.e2e.conftest import ServerProcess
from tests.e2e.test_smtp_process import children, gone


def _wait_gone(pid: int, what: str) -> None:
    deadline = time.monotonic() + 10
    while not gone(pid):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_sigterm_to_every_process_of_the_server_stops_it_once_and_cleanly(ramparts_server: ServerProcess) -> None:
    server = ramparts_server
    assert server.process is not None
    [applier] = children(server, "applier_process")
    smtp = children(server, "smtp_process")
    for pid in (server.process.pid, applier, *smtp):  # what systemd's KillMode=control-group does
        os.kill(pid, signal.SIGTERM)
    assert server.process.wait(60) == 0, server.log_tail()
    _wait_gone(applier, "the applier process outlived the server")
    log = server.log_path.read_text()
    assert "vendor applier process stopped after applying" in log
    assert "restarting it" not in log  # the applier did not stop on its own: the server stopped it


def test_kill_9_of_the_server_takes_the_applier_process_with_it(server_process: ServerProcess) -> None:
    server = server_process
    server.add_tenant("contoso", "example.com", "alice@example.com:Alice Example")
    server.start()
    [applier] = children(server, "applier_process")
    server.kill()
    _wait_gone(applier, "the applier process outlived a killed server")

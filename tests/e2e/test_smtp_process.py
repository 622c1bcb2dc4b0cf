"""The SMTP listener's own process under `ramparts serve`: restarted when it dies, stopped with the server."""

from __future__ import annotations

import os
import signal
import smtplib
import time
from pathlib import Path

from tests.e2e.conftest import ServerProcess
from tests.e2e.test_crash_recovery import maildir_message_ids, message, wait_for


def children(server: ServerProcess, module: str) -> list[int]:
    """The server's child processes running `module` (e.g. "smtp_process")."""
    assert server.process is not None
    listed: list[str] = []
    for task in Path(f"/proc/{server.process.pid}/task").iterdir():  # children are listed per thread
        try:
            listed += (task / "children").read_text().split()
        except FileNotFoundError:  # the thread ended
            continue
    found = []
    for child in listed:
        try:
            if module in Path(f"/proc/{child}/cmdline").read_text():
                found.append(int(child))
        except FileNotFoundError:  # exited (and was reaped) since the parent's list was read
            continue
    return found


def smtp_children(server: ServerProcess) -> list[int]:
    return children(server, "smtp_process")


def send_one(server: ServerProcess, index: int) -> bool:
    _, recipient, raw = message(index)
    try:
        with smtplib.SMTP(*server.smtp_address, timeout=5) as client:
            client.sendmail("bounce@partner.example", [recipient], raw)
    except (OSError, smtplib.SMTPException):
        return False
    return True


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"


def test_a_killed_smtp_process_is_restarted_and_mail_flows_again(ramparts_server: ServerProcess) -> None:
    server = ramparts_server
    [first] = smtp_children(server)
    assert send_one(server, 0)
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: smtp_children(server) not in ([], [first]), 30, "a new SMTP process", server)
    [second] = smtp_children(server)
    assert second != first
    # The listening socket stayed open in the parent: a client that connects now waits in the backlog.
    wait_for(lambda: send_one(server, 1), 30, "mail accepted by the new SMTP process", server)
    mail_dir = server.data_dir / "mailboxes"
    wait_for(lambda: len(maildir_message_ids(mail_dir)) == 2, 30, "both messages delivered", server)
    assert "the SMTP process exited with -9; restarting it" in server.log_path.read_text()


def test_sigterm_stops_the_smtp_process_too(ramparts_server: ServerProcess) -> None:
    server = ramparts_server
    [child] = smtp_children(server)
    assert server.stop() == 0, server.log_tail()
    deadline = time.monotonic() + 10
    while not gone(child):
        assert time.monotonic() < deadline, "the SMTP process outlived the server"
        time.sleep(0.05)
    assert "SMTP process stopped after accepting" in server.log_path.read_text()


def test_kill_9_of_the_server_takes_the_smtp_process_with_it(server_process: ServerProcess) -> None:
    server = server_process
    server.add_tenant("contoso", "example.com", "alice@example.com:Alice Example")
    server.start()
    [child] = smtp_children(server)
    server.kill()
    deadline = time.monotonic() + 10
    while not gone(child):
        assert time.monotonic() < deadline, "the SMTP process outlived a killed server"
        time.sleep(0.05)
    server.start()  # the port is free again
    assert send_one(server, 2)

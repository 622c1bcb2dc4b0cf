"""A real Dovecot for the IMAP backend's tests: generated config, free port, Maildir under a tmp dir.

Installed by scripts/install-system-deps.sh; started in the foreground (`dovecot -F -c conf`) and
stopped at teardown. Users come from a passwd-file, and one master user may log in as any of them
(`user*master`), as a gateway does.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port

MASTER, MASTER_PASSWORD = "ramparts", "master-secret"
USER_PASSWORD = "user-secret"
NO_MOVE_CAPABILITY = "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SEARCHRES UIDPLUS NAMESPACE"


@dataclass
class Dovecot:
    root: Path
    port: int
    process: subprocess.Popen[bytes]

    def mail_path(self, user: str) -> Path:
        return self.root / "mail" / user

    def user_session(self, user: str) -> imaplib.IMAP4:
        """A plain login as the user (what their mail client sees)."""
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(user, USER_PASSWORD)
        return conn

    def folder_ids(self, user: str, folder: str) -> dict[str, bool]:
        """network message id -> \\Seen, for every undeleted message in the folder."""
        conn = self.user_session(user)
        try:
            typ, _ = conn.select(f'"{folder}"')
            if typ != "OK":
                return {}
            typ, data = conn.uid("SEARCH", "UNDELETED")
            found: dict[str, bool] = {}
            for uid in data[0].split():
                _, fetched = conn.uid("FETCH", uid, "(FLAGS BODY.PEEK[HEADER.FIELDS (X-Ramparts-NetworkMessageId)])")
                head = next(p for p in fetched if isinstance(p, tuple))
                nmid = head[1].decode().partition(":")[2].strip()
                found[nmid] = b"\\Seen" in head[0]
            return found
        finally:
            conn.logout()

    def logins(self, user: str) -> int:
        """Successful IMAP logins as the user so far, as the server logged them (master logins included)."""
        log = self.root / "dovecot.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return text.count(f"imap-login: Info: Login: user=<{user}>")

    def kill_sessions(self) -> int:
        """Kills every imap process (each serves one client connection), as a crash or an admin's kick
        would: the clients see their connection closed. Returns how many there were."""
        killed = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                name, _, rest = stat.read_text().partition(") ")
                if rest.split()[1] == str(self.process.pid) and name.endswith("(imap"):
                    os.kill(int(stat.parent.name), signal.SIGKILL)
                    killed += 1
        return killed

    def restart(self) -> None:
        """Stops the server, its client connections with it, and starts it again on the same port, with
        the same mail. (A plain SIGTERM leaves the imap processes serving their clients.)"""
        self._terminate()
        self.process = _launch(self.root / "dovecot.conf", self.port, self.root / "dovecot.log")

    def _terminate(self) -> None:
        if self.process.poll() is None:
            self.kill_sessions()
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.root, ignore_errors=True)


def _config(root: Path, port: int, users: list[str], capability: str, uid: int, gid: int) -> str:
    (root / "users").write_text("".join(f"{u}:{{PLAIN}}{USER_PASSWORD}::::::\n" for u in users))
    (root / "masters").write_text(f"{MASTER}:{{PLAIN}}{MASTER_PASSWORD}::::::\n")
    override = f"imap_capability = {capability}\n" if capability else ""
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
default_internal_user = root
default_internal_group = root
default_login_user = dovenull
first_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u
{override}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    user = root
  }}
  unix_listener stats-writer {{
    user = root
  }}
}}
passdb {{
  driver = passwd-file
  args = {root}/masters
  master = yes
  pass = yes
}}
passdb {{
  driver = passwd-file
  args = {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(3000):
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited: {log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                if probe.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.02)
    raise RuntimeError("dovecot did not start listening")


def _mail_owner() -> tuple[int, int]:
    """Dovecot never gives mail processes uid 0: as root, mail belongs to the dovecot user."""
    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    entry = pwd.getpwnam("dovecot")
    return entry.pw_uid, entry.pw_gid


def start_dovecot(users: list[str], *, capability: str = "") -> Dovecot:
    """Under a fresh directory in /tmp (pytest's tmp dirs are private to their owner, and the mail
    processes run as another user when the tests run as root); stop() removes it."""
    root = Path(tempfile.mkdtemp(prefix="ramparts-dovecot-"))
    uid, gid = _mail_owner()
    (root / "mail").mkdir()
    os.chown(root / "mail", uid, gid)
    os.chmod(root, 0o755)
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(_config(root, port, users, capability, uid, gid))
    return Dovecot(root, port, _launch(conf, port, root / "dovecot.log"))


def _launch(conf: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    process = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(port, process, log)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process


def running(users: list[str], *, capability: str = "") -> Iterator[Dovecot]:
    server = start_dovecot(users, capability=capability)
    try:
        yield server
    finally:
        server.stop()

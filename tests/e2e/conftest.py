"""The whole server as users run it: `python -m ramparts serve` in a subprocess, on free ports, with a
temporary data directory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import free_port

START_TIMEOUT = 60.0


def ramparts_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ramparts", *args]


@dataclass
class ServerProcess:
    data_dir: Path
    smtp_port: int
    http_port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _logs: list[object] = field(default_factory=list)

    @property
    def smtp_address(self) -> tuple[str, int]:
        return "127.0.0.1", self.smtp_port

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def spool_incoming(self) -> Path:
        return self.data_dir / "spool" / "incoming"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a `ramparts` command on this data directory."""
        return subprocess.run(
            ramparts_command(*args), capture_output=True, text=True, check=check, timeout=120, env=self._env()
        )

    def add_tenant(self, name: str, domain: str, *users: str) -> None:
        extra = [part for user in users for part in ("--user", user)]
        self.cli("tenant", "add", "--data-dir", str(self.data_dir), name, "--domain", domain, *extra)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPARTS_")}
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n===== start {self.starts} =====\n".encode())
        log.flush()
        self._logs.append(log)
        self.process = subprocess.Popen(
            ramparts_command(
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--smtp",
                f"127.0.0.1:{self.smtp_port}",
                "--http",
                f"127.0.0.1:{self.http_port}",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self._env(),
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Poll until server.json names this process and the SMTP port answers."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        info_path = self.data_dir / "server.json"
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"ramparts serve exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"ramparts serve not ready after {timeout} s:\n{self.log_tail()}")
            try:
                info = json.loads(info_path.read_text())
            except (OSError, ValueError):
                info = {}
            if info.get("pid") == self.process.pid and _accepts(self.smtp_address):
                assert info["smtp"] == f"127.0.0.1:{self.smtp_port}"
                assert info["http"] == self.http_url
                return
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as in a crash or an OOM kill."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait for the graceful stop; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
            raise AssertionError(f"ramparts serve did not stop in {timeout} s:\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        for log in self._logs:
            log.close()  # type: ignore[attr-defined]


def _accepts(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    """A `ramparts serve` on free ports and a fresh data directory, not yet started."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    server = ServerProcess(data_dir, free_port(), free_port(), tmp_path / "server.log")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def ramparts_server(server_process: ServerProcess) -> ServerProcess:
    """A running `ramparts serve` with one tenant, contoso, accepting example.com."""
    server_process.add_tenant("contoso", "example.com", "alice@example.com:Alice Example")
    server_process.start()
    return server_process

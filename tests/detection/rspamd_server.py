"""A real rspamd for tests: Debian's rspamd 3.4 with its stock rules, on free ports of 127.0.0.1, offline.

The config tree is the system one (/etc/rspamd, for the rules and scores) under a top-level rspamd.conf
written here, with `LOCAL_CONFDIR` pointing at a temporary directory whose `local.d/` switches off every
module that needs the network or Redis (DNS lists, SPF/DKIM/DMARC, fuzzy, reputation, greylisting...).
The resolver points at a dead local port, so anything left that asks DNS fails at once instead of waiting.
No Redis: statistic.conf (Bayes) is not included. pid, log, socket and databases stay in the temp dir.

rspamd refuses to run its workers as root unless told `-u/-g` or `--insecure` (`-i`); the fixture passes
`-i` when it runs as root (the temp dir is root's, so dropping to the _rspamd user would need chowns).

rspamd compiles its Hyperscan databases (the TLD list, the regexp rules) on first start: about 30 s on two
busy cores, about 1 s with a warm cache. The cache lives outside the temp dir (RAMPARTS_TEST_RSPAMD_CACHE,
default ~/.cache/ramparts/rspamd-hs) so that only the first run of a machine pays for it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import free_port

RSPAMD = shutil.which("rspamd") or "/usr/bin/rspamd"
SYSTEM_CONFDIR = Path("/etc/rspamd")
START_DEADLINE = 180.0
"""Seconds to wait for /ping on a cold Hyperscan cache on a loaded CI machine."""

CONTROLLER_PASSWORD = "test-controller-secret"

# Modules that would reach the network (DNS, HTTP) or need Redis; each gets `enabled = false;`.
DISABLED_MODULES = (
    "arc",
    "asn",
    "dkim",
    "dmarc",
    "emails",
    "fuzzy_check",
    "greylist",
    "hfilter",
    "history_redis",
    "mid",
    "multimap",
    "mx_check",
    "neural",
    "ratelimit",
    "rbl",
    "replies",
    "reputation",
    "spf",
    "surbl",
    "url_redirector",
    "whitelist",
)

CONFIG = """\
# Written by tests/detection/rspamd_server.py: the stock rules without statistic.conf (Bayes needs Redis).
lua = "$RULESDIR/rspamd.lua"
.include "$CONFDIR/metrics.conf"
.include "$CONFDIR/actions.conf"
.include "$CONFDIR/groups.conf"
.include "$CONFDIR/composites.conf"
.include "$CONFDIR/modules.conf"
.include "$CONFDIR/settings.conf"

options {{
  pidfile = "$RUNDIR/rspamd.pid";
  filters = "chartable,regexp";
  cache_file = "$DBDIR/symbols.cache";
  dynamic_conf = "$DBDIR/rspamd_dynamic";
  history_file = "$DBDIR/rspamd.history";
  stats_file = "$DBDIR/stats.ucl";
  control_socket = "$DBDIR/rspamd.sock mode=0600";
  tempdir = "$DBDIR";
  hs_cache_dir = "{hs_cache}";
  url_tld = "$SHAREDIR/effective_tld_names.dat";
  map_watch_interval = 1h;
  allow_raw_input = true;
  task_timeout = 8s;
  explicit_modules = ["settings"];
  local_addrs = [];
  dns {{ nameserver = ["127.0.0.1:{dead_port}"]; timeout = 0.2s; retransmits = 1; sockets = 1; }}
}}

logging {{
  type = "file";
  filename = "$LOGDIR/rspamd.log";
  level = "notice";
}}

worker "normal" {{
  bind_socket = "127.0.0.1:{normal_port}";
  .include "$CONFDIR/worker-normal.inc"
  count = 1;
}}

worker "controller" {{
  bind_socket = "127.0.0.1:{controller_port}";
  count = 1;
  password = "{password}";
  secure_ip = "192.0.2.1";
}}
"""


@dataclass(frozen=True, slots=True)
class RspamdServer:
    url: str
    """The normal worker (what the engine talks to)."""
    controller_url: str
    """The controller; it also answers /checkv2, but only with `Password: CONTROLLER_PASSWORD`."""
    controller_password: str
    workdir: Path

    @property
    def log_path(self) -> Path:
        return self.workdir / "log" / "rspamd.log"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _cache_dir() -> Path:
    configured = os.environ.get("RAMPARTS_TEST_RSPAMD_CACHE")
    path = Path(configured) if configured else Path.home() / ".cache" / "ramparts" / "rspamd-hs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_config(workdir: Path, normal_port: int, controller_port: int) -> Path:
    """The config dir for one instance; returns the top-level rspamd.conf."""
    for sub in ("local.d", "db", "run", "log"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    for module in DISABLED_MODULES:
        (workdir / "local.d" / f"{module}.conf").write_text("enabled = false;\n")
    # Phishing checks stay on (URL text vs. href); only the Phishtank DNS feed goes.
    (workdir / "local.d" / "phishing.conf").write_text("phishtank_enabled = false;\nopenphish_enabled = false;\n")
    conf = workdir / "rspamd.conf"
    conf.write_text(
        CONFIG.format(
            hs_cache=_cache_dir(),
            dead_port=free_port(),
            normal_port=normal_port,
            controller_port=controller_port,
            password=CONTROLLER_PASSWORD,
        )
    )
    return conf


def command(workdir: Path, conf: Path) -> list[str]:
    """The rspamd command line: foreground, our config, our directories."""
    args = [RSPAMD, "-f", "-c", str(conf)]
    if os.geteuid() == 0:
        args.append("-i")
    for name, value in (
        ("CONFDIR", SYSTEM_CONFDIR),
        ("LOCAL_CONFDIR", workdir),
        ("DBDIR", workdir / "db"),
        ("RUNDIR", workdir / "run"),
        ("LOGDIR", workdir / "log"),
    ):
        args += ["--var", f"{name}={value}"]
    return args


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the group of the rspamd we started (its workers)
        process.wait(timeout=5)


@contextmanager
def running_rspamd() -> Iterator[RspamdServer]:
    """Start rspamd, wait for /ping (deadline-polled) and one warm-up scan, stop it on exit."""
    with tempfile.TemporaryDirectory(prefix="ramparts-rspamd-") as tmp:
        workdir = Path(tmp)
        normal_port, controller_port = free_port(), free_port()
        conf = write_config(workdir, normal_port, controller_port)
        server = RspamdServer(
            url=f"http://127.0.0.1:{normal_port}",
            controller_url=f"http://127.0.0.1:{controller_port}",
            controller_password=CONTROLLER_PASSWORD,
            workdir=workdir,
        )
        with (workdir / "log" / "stdout.log").open("wb") as output:
            process = subprocess.Popen(
                command(workdir, conf), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            _wait_ready(server, process)
            yield server
        finally:
            _stop(process)


def _wait_ready(server: RspamdServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_DEADLINE
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process.poll() is not None:
                stdout = (server.workdir / "log" / "stdout.log").read_text(errors="replace")
                raise RuntimeError(f"rspamd exited with {process.returncode}:\n{stdout}\n{server.log_tail()}")
            try:
                ready = client.get(f"{server.url}/ping").text.strip() == "pong"
                ready = ready and client.get(f"{server.controller_url}/ping").text.strip() == "pong"
            except httpx.TransportError:
                ready = False
            if ready:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"rspamd did not answer /ping within {START_DEADLINE:g}s:\n{server.log_tail()}")
            time.sleep(0.1)
        # the first scan of a fresh worker loads lazily (~0.4 s); pay for it here, not in a timed test
        client.post(f"{server.url}/checkv2", content=b"Subject: warm-up\r\n\r\nwarm-up\r\n", timeout=30.0)

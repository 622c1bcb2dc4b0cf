"""Finding the running server of a data directory (DuckDB allows one writing process: CLI tools
that need the store talk to the server over HTTP while it runs)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class RunningServer:
    pid: int
    http: str
    smtp: str


def server_file(data_dir: Path) -> Path:
    return data_dir / "server.json"


def running_server(data_dir: Path) -> RunningServer | None:
    """The server described by data_dir/server.json, if its process is alive."""
    try:
        info = json.loads(server_file(data_dir).read_text())
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return RunningServer(pid, str(info.get("http", "")), str(info.get("smtp", "")))

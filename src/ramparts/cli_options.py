"""Options and helpers shared by every `ramparts` command group."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session, sessionmaker

from ramparts.config import load_settings
from ramparts.store.db import open_control_plane

DataDir = Annotated[Path, typer.Option("--data-dir", envvar="RAMPARTS_DATA_DIR", help="Where ramparts keeps its data.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ACTOR = "cli"


def control_plane(data_dir: Path) -> sessionmaker[Session]:
    return open_control_plane(load_settings(data_dir).control_url)


def emit_json(value: dict[str, Any] | list[dict[str, Any]]) -> None:
    sys.stdout.write(json.dumps(value) + "\n")

"""The docs must keep up: every CLI command, setting and HTTP route is named in docs/."""

from __future__ import annotations

from pathlib import Path

import typer.main

from ramparts.api.app import create_app
from ramparts.cli import app as cli_app
from ramparts.config import Settings, load_settings
from ramparts.services import open_services

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _commands(command: object, prefix: str = "") -> list[str]:
    found: list[str] = []
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found.append(f"{prefix}{name}")
        found.extend(_commands(sub, f"{prefix}{name} "))
    return found


def test_every_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    missing = [name for name in _commands(typer.main.get_command(cli_app)) if f"ramparts {name}" not in text]
    assert not missing, f"commands missing from docs/cli.md: {missing}"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"`{name}`" not in text and f"`{name}," not in text]
    assert not missing, f"settings missing from docs/configuration.md: {missing}"


def test_every_route_is_documented(tmp_path: Path) -> None:
    services = open_services(load_settings(tmp_path / "data"))
    try:
        paths = create_app(services).openapi()["paths"]
    finally:
        services.close()
    text = (DOCS / "api.md").read_text()
    missing = [path for path in paths if path not in text]
    assert not missing, f"routes missing from docs/api.md: {missing}"

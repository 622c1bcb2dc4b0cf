"""The native engines a deployment runs, built from Settings."""

from __future__ import annotations

from ramparts.config import Settings
from ramparts.detection.builtin.engine import BuiltinEngine
from ramparts.detection.engine import Engine


def build_engines(settings: Settings) -> list[Engine]:
    """The builtin engine always; rspamd when settings.rspamd_url is set."""
    engines: list[Engine] = [BuiltinEngine.from_settings(settings)]
    if settings.rspamd_url:
        from ramparts.detection.rspamd import RspamdEngine

        engines.append(RspamdEngine.from_settings(settings))
    return engines

"""How ramparts writes instants in its JSON: ISO 8601 in UTC with a Z, as Microsoft Graph does."""

from __future__ import annotations

import datetime as dt


def iso_utc(value: dt.datetime) -> str:
    """2026-03-01T12:00:00.5Z; a time without a zone is taken as UTC."""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")

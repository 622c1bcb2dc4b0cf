"""ramparts: an open, self-hostable email-security hub."""

from __future__ import annotations

__version__ = "0.1.0"

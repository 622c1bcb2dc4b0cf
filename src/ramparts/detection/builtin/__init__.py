"""The builtin detection engine: authentication, tenant lists, attachments, phishing, bulk and spam."""

from __future__ import annotations

from ramparts.detection.builtin.engine import BuiltinEngine
from ramparts.detection.builtin.settings import BuiltinSettings

__all__ = ["BuiltinEngine", "BuiltinSettings"]

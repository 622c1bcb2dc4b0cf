"""Imports every module that declares control-plane tables, so that Base.metadata knows them all.

Alembic's autogenerate and the tests read Base.metadata after importing this module.
"""

from __future__ import annotations

from ramparts import saved_queries
from ramparts.identity import models as identity_models
from ramparts.store import models
from ramparts.store.base import Base
from ramparts.vendors import models as vendor_models

__all__ = ["Base", "identity_models", "models", "saved_queries", "vendor_models"]

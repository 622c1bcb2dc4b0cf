"""Regenerates the single initial migration from the models (allowed until the first release).

Run: .venv/bin/python scripts/regen-migration.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from ramparts.store.db import MIGRATIONS, alembic_config, make_engine

versions = MIGRATIONS / "versions"
for old in versions.glob("*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as tmp:
    engine = make_engine(f"sqlite:///{Path(tmp) / 'empty.sqlite3'}")
    command.revision(alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001")
print(sorted(p.name for p in versions.glob("*.py")))

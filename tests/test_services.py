from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from ramparts.config import load_settings
from ramparts.services import open_services


def test_a_helper_process_has_no_telemetry_store_of_its_own(tmp_path: Path) -> None:
    """DuckDB admits one writing process: the server's helpers must hand telemetry over, never write it."""
    services = open_services(load_settings(tmp_path / "data"), telemetry_here=False)
    try:
        assert not (tmp_path / "data" / "telemetry.duckdb").exists()
        with pytest.raises(RuntimeError, match="server writes telemetry"):
            services.telemetry.append("EmailEvents", pa.table({"x": [1]}))
        with pytest.raises(RuntimeError, match="server writes telemetry"):
            services.telemetry.query("SELECT 1")
    finally:
        services.close()

"""The interface every telemetry backend implements (DuckDB embedded, ClickHouse at scale)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import pyarrow as pa


class TelemetryStore(Protocol):
    dialect: str

    def append(self, table: str, batch: pa.Table) -> None:
        """Append rows whose schema is ddl.arrow_schema(table); all or nothing."""
        ...

    def update_latest(self, network_message_id: str, recipient: str, location: str, action: str) -> None:
        """Point EmailEvents' Latest* columns of one message copy at its new location."""
        ...

    def has_rows(self, table: str, network_message_id: str) -> bool: ...

    def query(
        self, sql: str, params: Sequence[Any] = (), row_cap: int | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run read-only SQL in the store's dialect."""
        ...

    def close(self) -> None: ...

"""CREATE TABLE statements for the hunting tables, derived from schema.py for each SQL dialect."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from ramparts.telemetry.schema import TABLES, KqlType, Table

SQL_TYPES: Mapping[str, Mapping[KqlType, str]] = {
    "duckdb": {
        "datetime": "TIMESTAMPTZ",
        "string": "VARCHAR",
        "long": "BIGINT",
        "int": "INTEGER",
        "bool": "BOOLEAN",
        "real": "DOUBLE",
        "dynamic": "JSON",
        "timespan": "INTERVAL",
        "guid": "VARCHAR",
    },
    "clickhouse": {
        "datetime": "Nullable(DateTime64(6, 'UTC'))",
        "string": "Nullable(String)",
        "long": "Nullable(Int64)",
        "int": "Nullable(Int32)",
        "bool": "Nullable(Bool)",
        "real": "Nullable(Float64)",
        "dynamic": "Nullable(String)",
        "timespan": "Nullable(Int64)",
        "guid": "Nullable(String)",
    },
}

ARROW_TYPES: Mapping[KqlType, pa.DataType] = {
    "datetime": pa.timestamp("us", tz="UTC"),
    "string": pa.string(),
    "long": pa.int64(),
    "int": pa.int32(),
    "bool": pa.bool_(),
    "real": pa.float64(),
    "dynamic": pa.string(),
    "timespan": pa.duration("us"),
    "guid": pa.string(),
}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_table_sql(table: Table, dialect: str) -> str:
    types = SQL_TYPES[dialect]
    columns = ", ".join(f"{quote(c.name)} {types[c.type]}" for c in table.columns)
    if dialect == "clickhouse":
        return (
            f"CREATE TABLE IF NOT EXISTS {quote(table.name)} ({columns}) "
            "ENGINE = MergeTree ORDER BY tuple() SETTINGS allow_nullable_key = 1"
        )
    return f"CREATE TABLE IF NOT EXISTS {quote(table.name)} ({columns})"


def create_tables_sql(dialect: str) -> list[str]:
    return [create_table_sql(table, dialect) for table in TABLES.values()]


def arrow_schema(table: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in table.columns])

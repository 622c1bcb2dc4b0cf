"""KQL scalar types as the compiler sees them, and how each is carried in SQL.

Representation (both engines):
  string   VARCHAR / String; NULL is read as "" (KQL strings are never null)
  long/int BIGINT / INTEGER
  real     DOUBLE
  bool     BOOLEAN
  datetime TIMESTAMPTZ (DuckDB, session time zone UTC) / DateTime64(6, 'UTC')
  timespan BIGINT microseconds (so arithmetic and bin() are integer maths on both engines)
  dynamic  JSON text (DuckDB JSON = VARCHAR, ClickHouse String) read with the engines' JSON functions
  guid     VARCHAR / String
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from sqlglot import exp

NUMERIC: Final = frozenset({"int", "long", "real"})
KQL_TYPES: Final = frozenset({"string", "long", "int", "real", "bool", "datetime", "timespan", "dynamic", "guid"})
TYPE_ALIASES: Final = {
    "double": "real",
    "decimal": "real",
    "float": "real",
    "boolean": "bool",
    "date": "datetime",
    "time": "timespan",
    "uniqueid": "guid",
    "int32": "int",
    "int64": "long",
}
NULL: Final = "null"  # the type of a bare null literal; fits any other type

SQL_TYPE: Final = {
    "string": "VARCHAR",
    "guid": "VARCHAR",
    "dynamic": "VARCHAR",
    "long": "BIGINT",
    "int": "INT",
    "real": "DOUBLE",
    "bool": "BOOLEAN",
    "timespan": "BIGINT",
    "null": "VARCHAR",
}

US_PER_SECOND: Final = 1_000_000


def normalize_type(name: str) -> str | None:
    lower = name.lower()
    lower = TYPE_ALIASES.get(lower, lower)
    return lower if lower in KQL_TYPES else None


class _NoConst:
    def __repr__(self) -> str:
        return "NOCONST"


NOCONST: Final = _NoConst()


@dataclass(frozen=True)
class Typed:
    """A lowered scalar: its SQL tree, its KQL type and, for literals known at compile time, the value."""

    sql: exp.Expr
    type: str
    const: object = field(default=NOCONST)

    @property
    def is_const(self) -> bool:
        return self.const is not NOCONST


def unify(a: str, b: str) -> str:
    """The type of iff/case/coalesce branches: equal types, numeric widening, null fits anything."""
    if a == b or b == NULL:
        return a
    if a == NULL:
        return b
    if a in NUMERIC and b in NUMERIC:
        return "real" if "real" in (a, b) else "long"
    if "dynamic" in (a, b):
        return "dynamic"
    return "string"


def comparable(a: str, b: str) -> bool:
    if NULL in (a, b) or a == b or "dynamic" in (a, b):
        return True
    if a in NUMERIC and b in NUMERIC:
        return True
    if "bool" in (a, b) and ({a, b} - {"bool"}) <= {"string", "int", "long"}:
        return True  # lenient: Defender exposes some flags as strings or ints (IsClickedThrough == "true")
    return {a, b} <= {"string", "guid"}

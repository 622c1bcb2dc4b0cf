"""Names and scopes: which columns a row has, what `let` names mean, and where a name came from.

The lowering passes ask the binder to resolve a name (a column of the current row, a scalar or
tabular `let`, a user function, a table of the schema) and to report unknown names as KqlError
with the position of the name.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from ramparts.errors import KqlError
from ramparts.hunting import ast
from ramparts.hunting.dialects import Flavor
from ramparts.hunting.lexer import error_at
from ramparts.hunting.types import Typed
from ramparts.telemetry.schema import Table

TIME_ALIASES = {"TimeGenerated": "Timestamp"}  # Sentinel's name for Defender's Timestamp


@dataclass
class Relation:
    """A lowered tabular expression: a query and its output columns in order."""

    query: exp.Query
    columns: list[tuple[str, str]]
    # the select can take more WHERE conditions without a new subquery (plain column list, no
    # grouping, limit, distinct or window)
    filterable: bool = False
    order: list[exp.Ordered] = field(default_factory=list)  # ORDER BY over output column names
    render: str | None = None

    def column_type(self, name: str) -> str | None:
        for column, kind in self.columns:
            if column == name:
                return kind
        return None

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]


@dataclass
class ScalarLet:
    expr: ast.Expr
    env: Env


@dataclass
class TabularLet:
    query: ast.Tabular | ast.Expr
    env: Env


@dataclass
class FunctionLet:
    func: ast.LetFunction
    env: Env
    name: str


@dataclass
class BoundScalar:
    value: Typed


@dataclass
class BoundTabular:
    relation: Relation


Entry = ScalarLet | TabularLet | FunctionLet | BoundScalar | BoundTabular


@dataclass
class Context:
    """Everything fixed for one compilation."""

    text: str
    flavor: Flavor
    schema: Mapping[str, Table]
    now: dt.datetime
    tenant_id: str | None
    timespan: tuple[dt.datetime, dt.datetime] | None
    tables_read: list[str] = field(default_factory=list)
    alias_counter: int = 0
    call_depth: int = 0
    discover: Callable[[str], list[tuple[Any, ...]]] | None = None

    def error(self, pos: int, message: str) -> KqlError:
        return error_at(self.text, pos, message)

    def alias(self, prefix: str = "t") -> str:
        self.alias_counter += 1
        return f"_{prefix}{self.alias_counter}"


@dataclass
class Env:
    """`let` names visible at a point of the query; inner scopes (function bodies) chain outward."""

    names: dict[str, Entry] = field(default_factory=dict)
    parent: Env | None = None

    def lookup(self, name: str) -> Entry | None:
        env: Env | None = self
        while env is not None:
            if name in env.names:
                return env.names[name]
            env = env.parent
        return None

    def child(self) -> Env:
        return Env({}, self)


@dataclass
class RowScope:
    """The columns of the rows an expression is evaluated on. `qualifier` prefixes column references
    (join sides); `extra` holds columns bound in the same operator (extend a = 1, b = a + 1)."""

    columns: list[tuple[str, str]]
    qualifier: str | None = None
    used: set[str] = field(default_factory=set)

    def find(self, name: str) -> tuple[str, str] | None:
        for column, kind in self.columns:
            if column == name:
                return column, kind
        alias = TIME_ALIASES.get(name)
        if alias is not None:
            return self.find(alias)
        return None

    def ref(self, name: str) -> exp.Column:
        self.used.add(name)
        column = exp.Column(this=exp.Identifier(this=name, quoted=True))  # as exp.column(), built directly
        if self.qualifier is not None:
            column.set("table", exp.Identifier(this=self.qualifier, quoted=True))
        return column


def match_names(pattern: str, names: list[str]) -> list[str]:
    if "*" not in pattern:
        return [pattern] if pattern in names else []
    return [name for name in names if fnmatch.fnmatchcase(name, pattern)]


def tables_matching(schema: Mapping[str, Table], pattern: str) -> list[str]:
    return [name for name in schema if fnmatch.fnmatchcase(name, pattern)]

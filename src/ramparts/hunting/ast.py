"""The KQL syntax tree: plain dataclasses, each node with the offset of its first token."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Node:
    pos: int  # offset into the query text; the binder turns it into line and column


# ---------------------------------------------------------------- scalar expressions


@dataclass
class Literal(Node):
    kind: str  # string, long, real, bool, datetime, timespan, null, dynamic, guid, type
    value: object


@dataclass
class Name(Node):
    name: str


@dataclass
class Star(Node):
    pass


@dataclass
class Unary(Node):
    op: str  # -, +, not
    operand: Expr


@dataclass
class Binary(Node):
    op: str  # and, or, ==, !=, <, +, has, !contains, =~, matches regex, ...
    left: Expr
    right: Expr


@dataclass
class InList(Node):
    op: str  # in, !in, in~, !in~, has_any, has_all
    left: Expr
    items: list[Expr]  # a single Tabular item means a subquery


@dataclass
class Between(Node):
    negated: bool
    operand: Expr
    low: Expr
    high: Expr


@dataclass
class Call(Node):
    name: str
    args: list[Expr]
    named: dict[str, Expr] = field(default_factory=dict)


@dataclass
class Member(Node):
    target: Expr
    name: str


@dataclass
class Index(Node):
    target: Expr
    index: Expr


@dataclass
class DynamicLit(Node):
    """dynamic([...]) / dynamic({...}) / dynamic(null): the JSON value, known at compile time."""

    value: object


@dataclass
class TabularExpr(Node):
    """A tabular expression used where a scalar is expected (in (...), toscalar(...))."""

    query: Tabular


Expr = Literal | Name | Star | Unary | Binary | InList | Between | Call | Member | Index | DynamicLit | TabularExpr


@dataclass
class Assign(Node):
    """`name = expr`, `(a, b) = expr`, or a bare `expr` (names empty)."""

    names: list[str]
    expr: Expr


# ---------------------------------------------------------------- tabular expressions


@dataclass
class Operator(Node):
    name: str


@dataclass
class Where(Operator):
    predicate: Expr


@dataclass
class Project(Operator):
    """project, extend: assignments; project-away/-keep/-reorder: names (wildcards allowed)."""

    items: list[Assign]


@dataclass
class NameList(Operator):
    names: list[tuple[str, int]]  # name (may hold *), position
    directions: list[str] = field(default_factory=list)  # project-reorder asc/desc (ignored)


@dataclass
class Rename(Operator):
    pairs: list[tuple[str, str, int]]  # new, old, position


@dataclass
class Summarize(Operator):
    aggs: list[Assign]
    by: list[Assign]


@dataclass
class SortKey:
    expr: Expr
    desc: bool
    nulls_first: bool | None


@dataclass
class Sort(Operator):
    keys: list[SortKey]


@dataclass
class Top(Operator):
    count: Expr
    keys: list[SortKey]


@dataclass
class Take(Operator):
    count: Expr


@dataclass
class Distinct(Operator):
    items: list[Expr]  # [Star] for distinct *


@dataclass
class Count(Operator):
    pass


@dataclass
class Join(Operator):
    kind: str
    right: Tabular
    on: list[tuple[Expr, Expr]]  # left expr, right expr


@dataclass
class Union(Operator):
    sources: list[Tabular]
    withsource: str | None
    isfuzzy: bool
    kind: str = "outer"  # outer: all columns; inner: only the columns every source has


@dataclass
class MvExpand(Operator):
    items: list[tuple[str | None, Expr, str | None]]  # new name, expr, typeof(...)
    limit: Expr | None
    index_name: str | None = None  # with_itemindex=Name
    kind: str = "bag"  # bag: {key: value} per property; array: [key, value]


@dataclass
class Parse(Operator):
    kind: str  # simple, regex, relaxed
    source: Expr
    pattern: list[tuple[str, str | None]]  # ("lit", text) | ("col", name or None for *), with types below
    types: dict[str, str]
    flags: str
    where: bool = False  # parse-where: rows the pattern does not match are dropped


@dataclass
class Render(Operator):
    chart: str


@dataclass
class Invoke(Operator):
    call: Call


@dataclass
class SeriesAgg:
    assign: Assign
    default: Expr | None


@dataclass
class MakeSeries(Operator):
    """make-series aggs on axis [from start] [to end] step step [by ...] (or `in range(start, end, step)`)."""

    aggs: list[SeriesAgg]
    axis: Expr
    start: Expr | None
    end: Expr | None
    step: Expr
    by: list[Assign]
    kind: str | None


@dataclass
class Evaluate(Operator):
    """evaluate plugin(args) [: (OutputSchema)]: the plugin call as written."""

    call: Call
    schema: list[tuple[str, str]] | None = None  # (name, type) from `: (...)`; None when not given
    schema_star: bool = False  # the schema starts with `*`: keep the input's columns too


@dataclass
class Unsupported(Operator):
    """An operator we parse but cannot compile (make-series, evaluate...): the binder raises."""


@dataclass
class AsOp(Operator):
    alias: str


@dataclass
class Tabular(Node):
    """source | op | op ..."""

    source: Source
    ops: list[Operator]


@dataclass
class TableRef(Node):
    name: str


@dataclass
class FuncSource(Node):
    call: Call


@dataclass
class Datatable(Node):
    columns: list[tuple[str, str]]
    values: list[Expr]


@dataclass
class Print(Node):
    items: list[Assign]


@dataclass
class Range(Node):
    column: str
    start: Expr
    stop: Expr
    step: Expr


@dataclass
class UnsupportedSource(Node):
    what: str


@dataclass
class Nested(Node):
    query: Tabular


Source = TableRef | FuncSource | Datatable | Print | Range | Union | UnsupportedSource | Nested


# ---------------------------------------------------------------- statements


@dataclass
class Param:
    name: str
    type: str  # a scalar type name, or "table" for a tabular parameter
    default: Expr | None


@dataclass
class LetFunction(Node):
    params: list[Param]
    body: list[Statement]  # lets inside the body, then one expression statement


@dataclass
class Let(Node):
    name: str
    value: Expr | Tabular | LetFunction


@dataclass
class ExprStatement(Node):
    value: Expr | Tabular


Statement = Let | ExprStatement


@dataclass
class Script(Node):
    statements: list[Statement]

"""A lowered query tree -> SQL text for one engine (parentheses, ClickHouse settings)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from ramparts.hunting.dialects import Flavor, lit
from ramparts.hunting.prune import descendants, prune

# Runs one SQL query on the engine the query is compiled for and returns its rows. The compiler
# calls it for plugins whose output columns depend on the data (evaluate bag_unpack, pivot).
Discover = Callable[[str], list[tuple[Any, ...]]]

# ClickHouse settings that make its SQL follow standard semantics the lowering relies on:
# outer joins yield NULL (not type defaults) for missing rows; a column name wins over an alias
# of the same name in the same SELECT.
CLICKHOUSE_SETTINGS: Mapping[str, int] = {"join_use_nulls": 1, "prefer_column_name_to_alias": 1}


def parenthesize(query: exp.Query) -> exp.Query:
    """Lowering nests operator nodes freely; sqlglot prints them without adding parentheses, so
    every operator operand that is itself an operator is wrapped (a - b) // c."""
    for node in descendants(query):
        if isinstance(node, exp.Binary) and not isinstance(node, exp.Dot | exp.PropertyEQ):
            for key in ("this", "expression"):
                child = node.args.get(key)
                if isinstance(child, exp.Binary) and not isinstance(child, exp.Dot):
                    node.set(key, exp.Paren(this=child))
    return query


# one instance per dialect name: sqlglot's `Expr.sql(dialect=...)` builds a new Dialect per call
_DIALECTS: dict[str, Dialect] = {}


def _coalesce_args(node: exp.Expr) -> list[exp.Expr] | None:
    if isinstance(node, exp.Coalesce):
        return [node.this, *node.expressions]
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "coalesce":
        return list(node.expressions)
    return None


def _blank_coalesce(node: exp.Expr) -> exp.Expr | None:
    """X of COALESCE(X, '') (how a string reads NULL as ""), else None."""
    args = _coalesce_args(node)
    return args[0] if args is not None and len(args) == 2 and _is_blank(args[1]) else None


def _is_blank(node: exp.Expr) -> bool:
    return isinstance(node, exp.Literal) and node.is_string and node.this == ""


def _never_blank(node: exp.Expr, like: bool) -> bool:
    """A string literal that "" cannot equal (or, as a LIKE pattern, match)."""
    if not (isinstance(node, exp.Literal) and node.is_string):
        return False
    return bool(node.this.strip("%")) if like else node.this != ""


def _false_coalesce(node: exp.Expr) -> exp.Expr | None:
    """p of COALESCE(p, FALSE), else None."""
    args = _coalesce_args(node)
    if args is not None and len(args) == 2 and isinstance(args[1], exp.Boolean) and not args[1].this:
        return args[0]
    return None


def _relax(node: exp.Expr, clickhouse: bool) -> exp.Expr:
    """A condition where only TRUE counts (WHERE, HAVING, CASE WHEN, countif), so NULL may stand for
    FALSE: drop the COALESCE(x, '') that reads a NULL string as "" where "" could not make the
    condition true anyway (x LIKE '%term%', x = 'value', lower(x) IN ('a', 'b'), x <> '', x has
    'term'), and COALESCE(p, FALSE). Walks through AND/OR only: under NOT, NULL and FALSE differ.
    Returns the node to use in place of node."""
    if isinstance(node, exp.Paren):
        node.set("this", _relax(node.this, clickhouse))
        return node
    inner = _false_coalesce(node)
    if inner is not None:
        return _relax(inner, clickhouse)
    if isinstance(node, exp.And):
        left = node.this.unnest() if isinstance(node.this, exp.Paren) else node.this
        if isinstance(left, exp.Like | exp.ILike) and _never_blank(left.expression, like=True):
            text = _blank_coalesce(left.this)
            right = node.expression
            if text is not None and not any(isinstance(n, exp.Subquery | exp.Select) for n in descendants(right)):
                # NULL text makes the left side NULL, so the AND is never TRUE whatever the right reads
                for found in list(right.find_all(exp.Coalesce, exp.Anonymous)):
                    if _blank_coalesce(found) == text:
                        plain = text.copy()
                        found.replace(exp.Anonymous(this="assumeNotNull", expressions=[plain]) if clickhouse else plain)
        node.set("this", _relax(node.this, clickhouse))
        node.set("expression", _relax(node.expression, clickhouse))
        return node
    if isinstance(node, exp.Or):
        node.set("this", _relax(node.this, clickhouse))
        node.set("expression", _relax(node.expression, clickhouse))
        return node
    parts = (_has_parts(node) or _has_parts(node, cs=True)) if clickhouse else None
    if parts is not None:
        text = _blank_coalesce(parts[0])
        if text is not None:  # NULL text makes every part NULL, and so the bitOr
            for found in list(node.find_all(exp.Coalesce, exp.Anonymous)):
                if _blank_coalesce(found) == text:
                    found.replace(text.copy())
        return node
    if _blank_fails(node):
        _drop_blank_coalesce(node)
    return node


def _blank_fails(node: exp.Expr) -> bool:
    """A comparison of a string with constants that "" does not make TRUE."""
    if isinstance(node, exp.Like | exp.ILike | exp.EQ):
        return _never_blank(node.expression, like=not isinstance(node, exp.EQ))
    if isinstance(node, exp.NEQ):
        return _is_blank(node.expression)
    if isinstance(node, exp.In):  # a plain list, not a subquery
        extra = any(v for k, v in node.args.items() if k not in ("this", "expressions"))
        return bool(node.expressions) and not extra and all(_never_blank(e, like=False) for e in node.expressions)
    return False


def _drop_blank_coalesce(node: exp.Expr) -> None:
    """node.this without the COALESCE(x, '') it reads x through, directly or under LOWER/UPPER (which keep
    "" as ""), for a comparison that "" does not make TRUE: a NULL x then makes it NULL instead of FALSE."""
    operand = node.this
    target = operand.this if isinstance(operand, exp.Lower | exp.Upper) else operand
    text = _blank_coalesce(target)
    if text is None:
        return
    if target is operand:
        node.set("this", text)
    else:
        operand.set("this", text)


def _has_parts(node: exp.Expr, cs: bool = False) -> tuple[exp.Expr, str, exp.Expr, exp.Expr] | None:
    """(text, term, token test, bounded regex) of ClickHouse's `text has "term"` (`has_cs` with cs), which
    string_ops writes as `bitOr(hasTokenCaseInsensitive(text, 'term'), (NOT isValidASCII(text)) AND
    ((text ILIKE '%term%') AND <bounded regex>))` (hasToken and LIKE for has_cs)."""
    node = node.unnest()
    if not (isinstance(node, exp.Anonymous) and str(node.this) == "bitOr" and len(node.expressions) == 2):
        return None
    token, rare = node.expressions[0], node.expressions[1].unnest()
    token_name = "hastoken" if cs else "hastokencaseinsensitive"
    if not (isinstance(token, exp.Anonymous) and str(token.this).lower() == token_name):
        return None
    if not isinstance(rare, exp.And) or not isinstance(rare.this.unnest(), exp.Not):
        return None
    exact = rare.expression.unnest()
    if not isinstance(exact, exp.And):
        return None
    like, regex = exact.this.unnest(), exact.expression.unnest()
    if type(like) is not (exp.Like if cs else exp.ILike):
        return None
    pattern = like.expression
    if not (isinstance(pattern, exp.Literal) and pattern.is_string and pattern.this.startswith("%")):
        return None
    term = pattern.this[1:-1]
    if not (pattern.this.endswith("%") and term.isascii() and term.isalnum()):
        return None
    return like.this, term, token, regex


def _or_operands(node: exp.Expr) -> list[exp.Expr]:
    node = node.unnest()
    if isinstance(node, exp.Or):
        return _or_operands(node.this) + _or_operands(node.expression)
    return [node]


def _in_or(node: exp.Expr) -> bool:
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    return isinstance(parent, exp.Or)


def _fuse_has_or(node: exp.Or) -> exp.Expr:
    """`a has "x" or a has "y"` on ClickHouse: one multiSearchAnyCaseInsensitive(a, ['x', 'y']) pass
    instead of an ILIKE per term, then the exact tests (only where a term occurs at all)."""
    operands = _or_operands(node)
    parts = [_has_parts(o) for o in operands]
    fused: list[exp.Expr] = []
    done: set[int] = set()
    for i, part in enumerate(parts):
        if i in done:
            continue
        if part is None:
            fused.append(operands[i])
            continue
        same = [j for j in range(i, len(parts)) if (other := parts[j]) is not None and other[0] == part[0]]
        if not 2 <= len(same) <= 255:  # multiSearchAny takes at most 255 needles
            fused.append(operands[i])
            continue
        done.update(same)
        group = [p for j in same if (p := parts[j]) is not None]
        terms = exp.Array(expressions=[lit(term) for _, term, _, _ in group])
        tests = [token for _, _, token, _ in group] + [exp.Paren(this=regex) for _, _, _, regex in group]
        exact = tests[0]
        for test in tests[1:]:
            exact = exp.Or(this=exact, expression=test)
        search = exp.Anonymous(this="multiSearchAnyCaseInsensitive", expressions=[part[0], terms])
        fused.append(exp.Paren(this=exp.And(this=search, expression=exp.Paren(this=exact))))
    if len(fused) == len(operands):
        return node
    result = fused[0]
    for operand in fused[1:]:
        result = exp.Or(this=result, expression=operand)
    return exp.Paren(this=result)


def relax_conditions(query: exp.Expr, flavor: Flavor) -> None:
    """_relax every condition of the tree whose NULL counts as FALSE (and on ClickHouse, fuse the
    substring tests of `has` terms or-ed together over one text)."""
    clickhouse = flavor.name == "clickhouse"
    for node in descendants(query):
        if clickhouse and isinstance(node, exp.Or) and not _in_or(node):
            fused = _fuse_has_or(node)
            if fused is not node:
                node.replace(fused)
                continue
        if isinstance(node, exp.Select):
            for key in ("where", "having", "qualify"):
                clause = node.args.get(key)
                if clause is not None and clause.this is not None:
                    clause.set("this", _relax(clause.this, clickhouse))
        elif isinstance(node, exp.CountIf):
            # both engines' countif is NULL when no condition is TRUE or FALSE: countif reads it as 0
            node.set("this", _relax(node.this, clickhouse))
        elif isinstance(node, exp.Case) and node.this is None:  # CASE WHEN p (not CASE x WHEN v)
            for branch in node.args.get("ifs") or []:
                branch.set("this", _relax(branch.this, clickhouse))


def to_sql(query: exp.Query, flavor: Flavor) -> str:
    """The SQL text of a query tree (the tree is changed in place: pass a copy to keep it)."""
    query = prune(query)
    relax_conditions(query, flavor)
    query = parenthesize(query)
    if flavor.name == "clickhouse":
        settings = [exp.EQ(this=exp.var(k), expression=lit(v)) for k, v in CLICKHOUSE_SETTINGS.items()]
        if not isinstance(query, exp.Select):
            query = exp.select(exp.Star()).from_(query.subquery("_q", copy=False), copy=False)
        query.set("settings", settings)
    dialect = _DIALECTS.get(flavor.DIALECT)
    if dialect is None:
        dialect = _DIALECTS[flavor.DIALECT] = Dialect.get_or_raise(flavor.DIALECT)
    # copy=False: the tree is ours and thrown away; sqlglot's default copies all of it first
    return dialect.generate(query, copy=False)

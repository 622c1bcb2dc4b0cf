"""KQL string operators (has, contains, startswith, endswith, matches regex, in, has_any...).

`has` matches whole terms: the needle must be bounded by the start or end of the text or by a
character that is not ASCII alphanumeric (RE2 `[[:alnum:]]`), case-insensitively unless `_cs`.
`contains`/`startswith`/`endswith` are case-insensitive unless `_cs`. NULL strings read as "".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from ramparts.hunting import ast
from ramparts.hunting.binder import BoundTabular, TabularLet
from ramparts.hunting.dialects import fn, lit
from ramparts.hunting.lower_scalar import TERM_BOUND_L, TERM_BOUND_R, re_escape
from ramparts.hunting.types import Typed

if TYPE_CHECKING:
    from ramparts.hunting.lower_scalar import ScalarLowerer


def _regex(lowerer: ScalarLowerer, needle: Typed, prefix: str, suffix: str, cs: bool) -> exp.Expr:
    flags = "" if cs else "(?i)"
    if needle.is_const and isinstance(needle.const, str):
        return lit(flags + prefix + re_escape(needle.const) + suffix)
    escaped = lowerer.flavor.regex_escape(lowerer.as_string(needle))
    return lowerer.flavor.concat([lit(flags + prefix), escaped, lit(suffix)])


def _plain_ascii(term: str) -> bool:
    """A term a LIKE pattern can hold as is (no wildcard or escape characters) and that folds case the
    same way in LIKE and in the regex."""
    return term.isascii() and not any(c in term for c in "%_\\")


def _term_regex(items: list[str], cs: bool, prefix: bool = True, suffix: bool = True) -> str:
    body = "|".join(re_escape(item) for item in items)
    return ("" if cs else "(?i)") + (TERM_BOUND_L if prefix else "") + f"({body})" + (TERM_BOUND_R if suffix else "")


def _token_test(text: exp.Expr, term: str, cs: bool, prefilter: exp.Expr, regex: exp.Expr) -> exp.Expr:
    """ClickHouse's `has` for an ASCII alphanumeric term: `prefilter AND (hasToken OR regex)` computed as
    `bitOr(hasToken, NOT isValidASCII(text) AND prefilter AND regex)`, one pass of the token search
    instead of a substring pass and then a second pass over the rows it keeps.

    hasToken's tokens are runs of ASCII alphanumerics and bytes >= 0x80, so hasToken implies the
    prefilter and the regex, and on ASCII-only text it equals the regex; only text with a byte >= 0x80
    needs the regex. bitOr evaluates both sides (`OR` would run its right side on a filtered copy of
    the rows hasToken rejects, nearly all of them); the AND inside reaches the prefilter and the regex
    only for non-ASCII rows."""
    token = fn("hasToken" if cs else "hasTokenCaseInsensitive", text.copy(), lit(term))
    non_ascii = exp.Paren(this=exp.Not(this=fn("isValidASCII", text.copy())))
    rare = exp.And(this=non_ascii, expression=exp.And(this=prefilter, expression=regex))
    return fn("bitOr", token, rare)


def string_operator(lowerer: ScalarLowerer, node: ast.Binary, op: str, left: Typed, right: Typed) -> Typed:
    negated = op.startswith("!") or op in ("notcontains", "notcontains_cs", "notlike")
    base = op.lstrip("!")
    base = {"notcontains": "contains", "notcontains_cs": "contains_cs", "notlike": "like"}.get(base, base)
    cs = base.endswith("_cs")
    stem = base.removesuffix("_cs")
    text = lowerer.as_string(left)
    sql: exp.Expr
    if stem == "has":
        if right.is_const and right.const == "":
            sql = exp.true()
        else:
            sql = exp.RegexpLike(this=text, expression=_regex(lowerer, right, TERM_BOUND_L, TERM_BOUND_R, cs))
            if right.is_const and isinstance(right.const, str) and _plain_ascii(right.const):
                # a substring test first, much cheaper than the bounded regex, skips most rows
                like = exp.Like if cs else exp.ILike
                prefilter = like(this=text.copy(), expression=lit(f"%{right.const}%"))
                if lowerer.flavor.name == "clickhouse" and right.const.isascii() and right.const.isalnum():
                    sql = _token_test(text, right.const, cs, prefilter, sql)
                else:
                    sql = exp.Paren(this=exp.And(this=prefilter, expression=sql))
    elif stem == "hasprefix":
        sql = exp.RegexpLike(this=text, expression=_regex(lowerer, right, TERM_BOUND_L, "", cs))
    elif stem == "hassuffix":
        sql = exp.RegexpLike(this=text, expression=_regex(lowerer, right, "", TERM_BOUND_R, cs))
    elif (
        stem in ("contains", "startswith", "endswith")
        and right.is_const
        and isinstance(right.const, str)
        and _plain_ascii(right.const)
    ):
        # a constant needle: one (I)LIKE, which the engines run far faster than lower() + strpos
        pattern = {"contains": "%{}%", "startswith": "{}%", "endswith": "%{}"}[stem].format(right.const)
        sql = (exp.Like if cs else exp.ILike)(this=text, expression=lit(pattern))
    elif stem in ("contains", "startswith", "endswith"):
        needle = lowerer.as_string(right)
        if not cs:
            text = exp.Lower(this=text)
            if right.is_const and isinstance(right.const, str):
                needle = lit(right.const.lower())
            else:
                needle = exp.Lower(this=needle)
        if stem == "contains":
            sql = exp.GT(this=exp.StrPosition(this=text, substr=needle), expression=lit(0))
        elif stem == "startswith":
            sql = exp.StartsWith(this=text, expression=needle)
        else:
            sql = exp.EndsWith(this=text, expression=needle)
    elif base == "matches regex":
        sql = exp.RegexpLike(this=text, expression=lowerer.as_string(right))
    elif stem == "like":
        sql = exp.Like(this=text, expression=lowerer.as_string(right))
    else:
        raise lowerer.error(node, f"unknown operator '{op}'")
    if negated:
        sql = exp.Not(this=exp.Paren(this=sql))
    return Typed(sql, "bool")


def _constant_items(lowerer: ScalarLowerer, items: list[ast.Expr]) -> list[Typed] | None:
    """The list's values when every item is a constant (dynamic arrays are flattened)."""
    values: list[Typed] = []
    for item in items:
        value = lowerer.lower(item)
        if not value.is_const:
            return None
        if value.type == "dynamic" and isinstance(value.const, list):
            for element in value.const:
                if isinstance(element, list | dict):
                    return None
                kind = "string" if isinstance(element, str) else "bool" if isinstance(element, bool) else "real"
                kind = "long" if isinstance(element, int) and not isinstance(element, bool) else kind
                values.append(Typed(lit(element), kind, element))
        else:
            values.append(value)
    return values


def _tabular_item(lowerer: ScalarLowerer, items: list[ast.Expr]) -> ast.Expr | None:
    if len(items) != 1:
        return None
    item = items[0]
    if isinstance(item, ast.TabularExpr):
        return item
    if isinstance(item, ast.Name) and lowerer.scope.find(item.name) is None:
        entry = lowerer.env.lookup(item.name)
        if isinstance(entry, TabularLet | BoundTabular) or (entry is None and item.name in lowerer.ctx.schema):
            return item
    return None


def in_operator(lowerer: ScalarLowerer, node: ast.InList) -> Typed:
    op = node.op
    negated = op.startswith("!")
    base = op.lstrip("!")
    left = lowerer.lower(node.left)
    tabular = _tabular_item(lowerer, node.items)
    if base in ("has_any", "has_all"):
        return _has_any(lowerer, node, base, negated, left, tabular is not None)
    insensitive = base == "in~"
    if tabular is not None:
        relation = lowerer.tabular.relation_of(tabular, lowerer.env)
        column = lowerer.subquery_column(node, relation)
        assert isinstance(column.sql, exp.Select)
        subquery = column.sql
        value = left.sql
        if column.type in ("string", "guid", "dynamic") or left.type in ("string", "dynamic"):
            value = lowerer.as_string(left)
            inner = subquery.selects[0]
            inner_value = lowerer.as_string(Typed(inner, column.type))
            if insensitive:
                value, inner_value = exp.Lower(this=value), exp.Lower(this=inner_value)
            subquery = subquery.select(inner_value, append=False)
        sql: exp.Expr = exp.In(this=value, query=exp.Subquery(this=subquery))
        return Typed(exp.Not(this=exp.Paren(this=sql)) if negated else sql, "bool")
    constants = _constant_items(lowerer, node.items)
    if constants is None:
        if len(node.items) == 1:
            array = lowerer.lower(node.items[0])
            if array.type == "dynamic":
                needle = lowerer.as_string(left)
                strings = lowerer.flavor.json_strings(array.sql)
                if insensitive:
                    x = exp.to_identifier("x")
                    strings = fn(
                        "list_transform" if lowerer.flavor.name == "duckdb" else "arrayMap",
                        *(
                            (strings, exp.Lambda(this=exp.Lower(this=exp.column(x)), expressions=[x]))
                            if lowerer.flavor.name == "duckdb"
                            else (exp.Lambda(this=exp.Lower(this=exp.column(x)), expressions=[x]), strings)
                        ),
                    )
                    needle = exp.Lower(this=needle)
                sql = lowerer.flavor.array_contains(strings, needle)
                sql = fn("coalesce", sql, exp.false())
                return Typed(exp.Not(this=exp.Paren(this=sql)) if negated else sql, "bool")
        values = [lowerer.lower(item) for item in node.items]
    else:
        values = constants
    if not values:
        return Typed(exp.true() if negated else exp.false(), "bool")
    stringy = left.type in ("string", "guid", "dynamic") or any(v.type in ("string", "guid") for v in values)
    if stringy:
        target = lowerer.as_string(left)
        items = [lowerer.as_string(v) for v in values]
        if insensitive:
            target = exp.Lower(this=target)
            items = [
                lit(v.const.lower()) if isinstance(v.const, str) else exp.Lower(this=e)
                for v, e in zip(values, items, strict=True)
            ]
    else:
        target, items = left.sql, [v.sql for v in values]
    sql = exp.In(this=target, expressions=items)
    return Typed(exp.Not(this=exp.Paren(this=sql)) if negated else sql, "bool")


def _has_any(lowerer: ScalarLowerer, node: ast.InList, base: str, negated: bool, left: Typed, tabular: bool) -> Typed:
    text = lowerer.as_string(left)
    flavor = lowerer.flavor
    constants = None if tabular else _constant_items(lowerer, node.items)
    runtime_array: exp.Expr | None = None
    if tabular:
        relation = lowerer.tabular.relation_of(node.items[0], lowerer.env)
        column = lowerer.subquery_column(node, relation)
        assert isinstance(column.sql, exp.Select)
        inner = column.sql.selects[0]
        array_query = column.sql.select(
            flavor.agg_list(lowerer.as_string(Typed(inner, column.type)), False), append=False
        )
        runtime_array = exp.Subquery(this=array_query)
    elif constants is None and len(node.items) == 1:
        only = lowerer.lower(node.items[0])
        if only.type == "dynamic":
            runtime_array = flavor.json_strings(only.sql)
    if runtime_array is not None:
        if base == "has_all":
            raise lowerer.error(node, "has_all over a run-time list is not supported yet")
        alternation = flavor.escaped_alternation(runtime_array)
        regex = flavor.concat([lit("(?i)" + TERM_BOUND_L + "("), alternation, lit(")" + TERM_BOUND_R)])
        sql: exp.Expr = exp.And(
            this=exp.NEQ(this=alternation.copy(), expression=lit("")),
            expression=exp.RegexpLike(this=text, expression=regex),
        )
        sql = fn("coalesce", sql, exp.false())
        return Typed(exp.Not(this=exp.Paren(this=sql)) if negated else sql, "bool")
    if constants is None or not all(isinstance(v.const, str | int | float) for v in constants):
        values = [lowerer.lower(item) for item in node.items]
        if any(v.type == "dynamic" and not v.is_const for v in values):
            raise lowerer.error(node, f"{base} mixing constants and run-time arrays is not supported yet")
        parts = [
            exp.RegexpLike(this=text, expression=_regex(lowerer, v, TERM_BOUND_L, TERM_BOUND_R, False)) for v in values
        ]
    else:
        needles = [str(v.const) for v in constants if str(v.const) != ""]
        if not needles:
            sql0: exp.Expr = exp.false()
            return Typed(exp.Not(this=sql0) if negated else sql0, "bool")
        if base == "has_any":
            parts = [exp.RegexpLike(this=text, expression=lit(_term_regex(needles, False)))]
        else:
            parts = [exp.RegexpLike(this=text, expression=lit(_term_regex([n], False))) for n in needles]
    sql = parts[0]
    for part in parts[1:]:
        sql = exp.Or(this=sql, expression=part) if base == "has_any" else exp.And(this=sql, expression=part)
    sql = exp.Paren(this=sql)
    return Typed(exp.Not(this=sql) if negated else sql, "bool")

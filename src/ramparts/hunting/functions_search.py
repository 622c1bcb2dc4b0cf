"""Scalar functions that find text in text: indexof, countof, strcat_delim."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from ramparts.hunting import ast
from ramparts.hunting.dialects import cast, fn, lit
from ramparts.hunting.functions import register
from ramparts.hunting.types import Typed

if TYPE_CHECKING:
    from ramparts.hunting.lower_scalar import ScalarLowerer


def _const_int(lo: ScalarLowerer, node: ast.Call, value: Typed, what: str) -> int:
    if not isinstance(value.const, int) or isinstance(value.const, bool):
        raise lo.error(node, f"{node.name}() needs a constant {what}")
    return value.const


@register("indexof")
def _indexof(lo: ScalarLowerer, node: ast.Call) -> Typed:
    """indexof(source, lookup [, start [, length [, occurrence]]]): the 0-based position of the
    occurrence-th match that lies wholly inside source[start, start + length), or -1."""
    args = lo.args(node, 2, 5)
    text, needle = lo.as_string(args[0]), lo.as_string(args[1])
    start = _const_int(lo, node, args[2], "start") if len(args) > 2 else 0
    length = _const_int(lo, node, args[3], "length") if len(args) > 3 else -1
    occurrence = _const_int(lo, node, args[4], "occurrence") if len(args) > 4 else 1
    if occurrence < 1 or length < -1:
        raise lo.error(node, "indexof() needs an occurrence of at least 1 and a length of -1 or more")
    if occurrence > 10:
        raise lo.error(node, "indexof() looks for at most the 10th occurrence")
    size = exp.Length(this=text.copy())
    begin: exp.Expr = lit(start)
    if start < 0:  # from the end
        begin = fn("greatest", exp.Add(this=size.copy(), expression=lit(start)), lit(0))

    def find(at: exp.Expr) -> exp.Expr:
        """The first match wholly inside text[at, at + length), or -1 (like .NET's IndexOf)."""
        span = size.copy() if length == -1 else lit(length)
        region = exp.Substring(this=text.copy(), start=exp.Add(this=at.copy(), expression=lit(1)), length=span)
        found = exp.StrPosition(this=region, substr=needle.copy())
        position = exp.Add(this=at.copy(), expression=exp.Sub(this=found.copy(), expression=lit(1)))
        return exp.Case(ifs=[exp.If(this=exp.GT(this=found, expression=lit(0)), true=position)], default=lit(-1))

    # each further occurrence is searched from one past the previous match, over the same length
    sql = find(begin)
    for _ in range(occurrence - 1):
        previous = exp.Paren(this=sql)
        missing = exp.EQ(this=previous.copy(), expression=lit(-1))
        sql = exp.Case(
            ifs=[exp.If(this=missing, true=lit(-1))], default=find(exp.Add(this=previous, expression=lit(1)))
        )
    return Typed(cast(sql, "BIGINT"), "long")


@register("countof")
def _countof(lo: ScalarLowerer, node: ast.Call) -> Typed:
    """countof(text, search [, kind]): plain matches may overlap ("aaaa" holds "aa" 3 times); regex
    matches do not."""
    args = lo.args(node, 2, 3)
    text, needle = lo.as_string(args[0]), lo.as_string(args[1])
    kind = args[2].const if len(args) == 3 else "normal"
    if kind not in ("normal", "regex"):
        raise lo.error(node, "countof()'s kind must be 'normal' or 'regex'")
    flavor = lo.flavor
    if kind == "regex":
        matches = flavor.regex_extract_all(text, needle, 0)
        return Typed(cast(exp.ArraySize(this=matches), "BIGINT"), "long")
    width = exp.Length(this=needle.copy())
    at = exp.Substring(this=text.copy(), start=exp.Add(this=exp.column("i"), expression=lit(1)), length=width.copy())
    hit = exp.Case(ifs=[exp.If(this=exp.EQ(this=at, expression=needle.copy()), true=lit(1.0))], default=lit(0.0))
    hits = flavor.array_map(flavor.array_range(exp.Length(this=text.copy())), "i", hit)
    total = cast(flavor.array_sum(hits), "BIGINT")
    sql = exp.Case(ifs=[exp.If(this=exp.EQ(this=width, expression=lit(0)), true=lit(0))], default=total)
    return Typed(cast(sql, "BIGINT"), "long")


@register("strcat_delim")
def _strcat_delim(lo: ScalarLowerer, node: ast.Call) -> Typed:
    if len(node.args) < 3:
        raise lo.error(node, "strcat_delim() takes a delimiter and at least two values")
    values = [lo.as_string(lo.lower(arg)) for arg in node.args]
    delimiter, parts = values[0], values[1:]
    joined: list[exp.Expr] = [parts[0]]
    for part in parts[1:]:
        joined += [delimiter.copy(), part]
    return Typed(lo.flavor.concat(joined), "string")

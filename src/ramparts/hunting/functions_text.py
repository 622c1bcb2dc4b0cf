"""Scalar functions over strings, regular expressions and dynamic (JSON) values."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from ramparts.hunting import ast
from ramparts.hunting.dialects import cast, fn, lit
from ramparts.hunting.functions import FUNCTIONS, register
from ramparts.hunting.lower_scalar import json_const
from ramparts.hunting.types import NUMERIC, Typed, normalize_type

if TYPE_CHECKING:
    from ramparts.hunting.lower_scalar import ScalarLowerer


def _const_str(lo: ScalarLowerer, node: ast.Call, value: Typed, what: str) -> str:
    if not isinstance(value.const, str):
        raise lo.error(node, f"'{node.name}' needs a constant {what}")
    return value.const


@register("strcat")
def _strcat(lo: ScalarLowerer, node: ast.Call) -> Typed:
    if not node.args:
        raise lo.error(node, "strcat() needs arguments")
    parts = [lo.as_string(lo.lower(arg)) for arg in node.args]
    return Typed(parts[0] if len(parts) == 1 else lo.flavor.concat(parts), "string")


@register("substring")
def _substring(lo: ScalarLowerer, node: ast.Call) -> Typed:
    args = lo.args(node, 2, 3)
    text = lo.as_string(args[0])
    # a negative start counts from the end: substring("123456", -2, 2) == "56"
    offset = exp.Case(
        ifs=[
            exp.If(
                this=exp.LT(this=args[1].sql, expression=lit(0)),
                true=exp.Add(this=exp.Length(this=text.copy()), expression=args[1].sql.copy()),
            )
        ],
        default=args[1].sql.copy(),
    )
    start = exp.Add(this=fn("greatest", offset, lit(0)), expression=lit(1))
    if len(args) == 3:
        return Typed(exp.Substring(this=text, start=start, length=args[2].sql), "string")
    return Typed(exp.Substring(this=text, start=start, length=exp.Length(this=text)), "string")


@register("split")
def _split(lo: ScalarLowerer, node: ast.Call) -> Typed:
    args = lo.args(node, 2, 3)
    parts = lo.flavor.split(lo.as_string(args[0]), lo.as_string(args[1]))
    array = Typed(lo.flavor.to_json(parts), "dynamic")
    if len(args) == 3:
        element = lo.flavor.json_get(array.sql, cast(args[2].sql, "BIGINT"))
        wrapped = lo.flavor.concat([lit("["), element, lit("]")])
        return Typed(
            exp.Case(ifs=[exp.If(this=exp.Is(this=element, expression=exp.Null()), true=lit("[]"))], default=wrapped),
            "dynamic",
        )
    return array


@register("strcat_array")
def _strcat_array(lo: ScalarLowerer, node: ast.Call) -> Typed:
    array, sep = lo.args(node, 2)
    return Typed(lo.flavor.array_join(lo.flavor.json_strings(array.sql), lo.as_string(sep)), "string")


@register("replace_string", "replace")
def _replace_string(lo: ScalarLowerer, node: ast.Call) -> Typed:
    args = lo.args(node, 3)
    if node.name.lower() == "replace":  # legacy replace(regex, rewrite, text)
        pattern, repl, text = (lo.as_string(a) for a in args)
        return Typed(lo.flavor.regex_replace(text, pattern, repl), "string")
    text, old, new = (lo.as_string(a) for a in args)
    return Typed(lo.flavor.replace(text, old, new), "string")


@register("replace_regex")
def _replace_regex(lo: ScalarLowerer, node: ast.Call) -> Typed:
    text, pattern, repl = (lo.as_string(a) for a in lo.args(node, 3))
    return Typed(lo.flavor.regex_replace(text, pattern, repl), "string")


def _trim(where: str) -> object:
    def handler(lo: ScalarLowerer, node: ast.Call) -> Typed:
        pattern, text = lo.args(node, 2)
        regex = _const_str(lo, node, pattern, "regular expression")
        start, end = f"^(?:{regex})+", f"(?:{regex})+$"
        full = {"both": f"{start}|{end}", "start": start, "end": end}[where]
        return Typed(lo.flavor.regex_replace(lo.as_string(text), lit(full), lit("")), "string")

    return handler


FUNCTIONS["trim"] = _trim("both")  # type: ignore[assignment]
FUNCTIONS["trim_start"] = _trim("start")  # type: ignore[assignment]
FUNCTIONS["trim_end"] = _trim("end")  # type: ignore[assignment]


@register("extract")
def _extract(lo: ScalarLowerer, node: ast.Call) -> Typed:
    if not 3 <= len(node.args) <= 4:
        raise lo.error(node, "extract() takes a regex, a group number, a text and an optional typeof()")
    pattern, group, text = (lo.lower(a) for a in node.args[:3])
    if not isinstance(group.const, int):
        raise lo.error(node, "extract() needs a constant capture group number")
    result = Typed(lo.flavor.regex_extract(lo.as_string(text), lo.as_string(pattern), group.const), "string")
    if len(node.args) == 4:
        kind = lo.lower(node.args[3])
        target = normalize_type(str(kind.const)) if isinstance(kind.const, str) else None
        if target is None:
            raise lo.error(node, "extract()'s fourth argument must be typeof(type)")
        if target != "string":
            return lo.convert(result, target)
    return Typed(exp.Coalesce(this=result.sql, expressions=[lit("")]), "string")


@register("extract_all", "extractall")
def _extract_all(lo: ScalarLowerer, node: ast.Call) -> Typed:
    """extract_all(regex, [captureGroups,] text): every match; with one capture group (or one chosen)
    an array of strings, with several an array of one array per match."""
    args = lo.args(node, 2, 3)
    pattern = _const_str(lo, node, args[0], "regular expression")
    text = lo.as_string(args[-1])
    try:
        compiled: re.Pattern[str] | None = re.compile(pattern.replace("(?i)", ""))
    except re.error:
        compiled = None
    groups = compiled.groups if compiled is not None else 1
    chosen = list(range(1, groups + 1)) if groups else [0]
    if len(args) == 3:
        wanted = args[1].const
        if not isinstance(wanted, list) or not wanted:
            raise lo.error(node, "extract_all()'s capture groups must be a constant dynamic array")
        names = compiled.groupindex if compiled is not None else {}
        chosen = []
        for group in wanted:
            index = names.get(group) if isinstance(group, str) else group
            if not isinstance(index, int) or isinstance(index, bool) or not 1 <= index <= groups:
                raise lo.error(node, f"extract_all() has no capture group {group!r}")
            chosen.append(index)
    flavor = lo.flavor
    if len(chosen) == 1:
        return Typed(flavor.to_json(flavor.regex_extract_all(text, lit(pattern), chosen[0])), "dynamic")
    per_group = [flavor.regex_extract_all(text.copy(), lit(pattern), g) for g in chosen]
    position = exp.Add(this=exp.column("ix"), expression=lit(1))
    row: list[exp.Expr] = [lit("[")]
    for i, array in enumerate(per_group):
        element = fn("coalesce", flavor.array_get(array, position.copy()), lit(""))
        row += [lit(",")] if i else []
        row.append(flavor.to_json(element))
    row.append(lit("]"))
    rows = flavor.array_map(flavor.array_range(exp.ArraySize(this=per_group[0].copy())), "ix", flavor.concat(row))
    joined = fn("coalesce", flavor.array_join(rows, lit(",")), lit(""))
    return Typed(flavor.concat([lit("["), joined, lit("]")]), "dynamic")


@register("parse_url")
def _parse_url(lo: ScalarLowerer, node: ast.Call) -> Typed:
    (url,) = lo.args(node, 1)
    text = lo.as_string(url)
    regex = r"^(?:([A-Za-z][A-Za-z0-9+.-]*)://)?(?:([^:@/]*)(?::([^@/]*))?@)?([^:/?#]*)(?::(\d+))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$"
    fields = [("Scheme", 1), ("Host", 4), ("Port", 5), ("Path", 6), ("Username", 2), ("Password", 3), ("Fragment", 8)]
    parts: list[exp.Expr] = [lit("{")]
    for i, (name, group) in enumerate(fields):
        value = exp.Coalesce(this=lo.flavor.regex_extract(text, lit(regex), group), expressions=[lit("")])
        parts += [lit(("," if i else "") + f'"{name}":'), lo.flavor.to_json(value)]
    parts += [
        lit(',"Query Parameters":'),
        _query_parameters(lo, lo.flavor.regex_extract(text, lit(regex), 7)),
        lit("}"),
    ]
    return Typed(lo.flavor.concat(parts), "dynamic")


def _query_parameters(lo: ScalarLowerer, query: exp.Expr) -> exp.Expr:
    """A URL's query string ``k1=v1&k2=v2`` as a JSON bag; a parameter without ``=`` has an empty value."""
    flavor = lo.flavor
    pair = exp.column("qp")
    key = fn("coalesce", flavor.regex_extract(pair, lit("^([^=]*)"), 1), lit(""))
    value = fn("coalesce", flavor.regex_extract(pair.copy(), lit("^[^=]*=(.*)$"), 1), lit(""))
    members = flavor.array_map(
        flavor.split(query.copy(), lit("&")),
        "qp",
        flavor.concat([flavor.to_json(key), lit(":"), flavor.to_json(value)]),
    )
    empty = exp.Or(
        this=exp.Is(this=query.copy(), expression=exp.Null()), expression=exp.EQ(this=query.copy(), expression=lit(""))
    )
    bag = flavor.concat([lit("{"), flavor.array_join(members, lit(",")), lit("}")])
    return exp.Case(ifs=[exp.If(this=empty, true=lit("{}"))], default=bag)


# ------------------------------------------------------------------ dynamic


@register("array_length")
def _array_length(lo: ScalarLowerer, node: ast.Call) -> Typed:
    (value,) = lo.args(node, 1)
    if isinstance(value.const, list):
        return Typed(lit(len(value.const)), "long", len(value.const))
    return Typed(
        cast(
            lo.flavor.json_length(lo.convert(value, "dynamic").sql if value.type != "dynamic" else value.sql), "BIGINT"
        ),
        "long",
    )


@register("bag_keys")
def _bag_keys(lo: ScalarLowerer, node: ast.Call) -> Typed:
    (value,) = lo.args(node, 1)
    return Typed(lo.flavor.json_keys(value.sql), "dynamic")


def _json_of(lo: ScalarLowerer, value: Typed) -> exp.Expr:
    """A value as JSON text to embed in a built array or bag."""
    if value.type == "dynamic":
        return fn("coalesce", value.sql, lit("null"))
    if value.type == "datetime":
        return fn("coalesce", lo.flavor.to_json(lo.convert(value, "string").sql), lit("null"))
    if value.type in ("string", "guid"):
        return lo.flavor.to_json(lo.as_string(value))
    return fn("coalesce", lo.flavor.to_json(value.sql), lit("null"))


@register("pack_array", "make_array")
def _pack_array(lo: ScalarLowerer, node: ast.Call) -> Typed:
    values = [lo.lower(arg) for arg in node.args]
    parts: list[exp.Expr] = [lit("[")]
    for i, value in enumerate(values):
        if i:
            parts.append(lit(","))
        parts.append(_json_of(lo, value))
    parts.append(lit("]"))
    return Typed(lo.flavor.concat(parts), "dynamic")


@register("pack", "bag_pack", "pack_dictionary")
def _pack(lo: ScalarLowerer, node: ast.Call) -> Typed:
    if len(node.args) % 2:
        raise lo.error(node, f"'{node.name}' takes key and value pairs")
    values = [lo.lower(arg) for arg in node.args]
    parts: list[exp.Expr] = [lit("{")]
    for i in range(0, len(values), 2):
        if i:
            parts.append(lit(","))
        parts += [lo.flavor.to_json(lo.as_string(values[i])), lit(":"), _json_of(lo, values[i + 1])]
    parts.append(lit("}"))
    return Typed(lo.flavor.concat(parts), "dynamic")


@register("set_has_element", "array_index_of")
def _set_has_element(lo: ScalarLowerer, node: ast.Call) -> Typed:
    array, item = lo.args(node, 2)
    if node.name.lower() == "array_index_of":
        raise lo.error(node, "array_index_of() is not supported yet")
    strings = lo.flavor.json_strings(array.sql)
    return Typed(fn("coalesce", lo.flavor.array_contains(strings, lo.as_string(item)), exp.false()), "bool")


@register("gettype")
def _gettype(lo: ScalarLowerer, node: ast.Call) -> Typed:
    (value,) = lo.args(node, 1)
    if value.type == "dynamic":
        raise lo.error(node, "gettype() of a dynamic value is not supported yet")
    return Typed(lit(value.type), "string", value.type)


@register("base64_encode_tostring", "base64_encodestring", "base64_decode_tostring", "base64_decodestring")
def _base64(lo: ScalarLowerer, node: ast.Call) -> Typed:
    (value,) = lo.args(node, 1)
    encode = "encode" in node.name.lower()
    return Typed(lo.flavor.base64(lo.as_string(value), encode), "string")


@register("pack_all")
def _pack_all(lo: ScalarLowerer, node: ast.Call) -> Typed:
    lo.args(node, 0, 1)
    parts: list[exp.Expr] = [lit("{")]
    for i, (name, kind) in enumerate(lo.scope.columns):
        value = Typed(lo.scope.ref(name), kind)
        parts += [lit(("," if i else "") + json_const(name) + ":"), _json_of(lo, value)]
    parts.append(lit("}"))
    return Typed(lo.flavor.concat(parts), "dynamic")


_ = NUMERIC


@register("array_sum")
def _array_sum(lo: ScalarLowerer, node: ast.Call) -> Typed:
    """The sum of a dynamic array's elements as a real; null when one is not a number."""
    (value,) = lo.args(node, 1)
    if value.type != "dynamic":
        raise lo.error(node, f"array_sum() needs a dynamic array, not {value.type}")
    flavor = lo.flavor
    numbers = flavor.array_map(flavor.json_strings(value.sql), "x", flavor.try_cast(exp.column("x"), "real", "string"))
    return Typed(flavor.array_sum(numbers), "real")


@register("array_slice")
def _array_slice(lo: ScalarLowerer, node: ast.Call) -> Typed:
    """array_slice(arr, start, end): elements start..end inclusive; negative indexes count from the end."""
    array, first, last = lo.args(node, 3)
    if array.type != "dynamic":
        raise lo.error(node, f"array_slice() needs a dynamic array, not {array.type}")
    flavor = lo.flavor
    elements = flavor.json_elements(array.sql)
    size = exp.ArraySize(this=elements.copy())

    def position(index: Typed) -> exp.Expr:
        from_end = exp.Add(this=size.copy(), expression=index.sql.copy())
        absolute = exp.Case(
            ifs=[exp.If(this=exp.LT(this=index.sql, expression=lit(0)), true=from_end)], default=index.sql.copy()
        )
        return exp.Add(this=absolute, expression=lit(1))

    sliced = flavor.array_slice_between(elements, position(first), position(last))
    joined = fn("coalesce", flavor.array_join(sliced, lit(",")), lit(""))
    return Typed(flavor.concat([lit("["), joined, lit("]")]), "dynamic")

"""ClickHouse's choices for the places where the engines differ (see dialects.Flavor)."""

from __future__ import annotations

import datetime as dt

from sqlglot import exp

from ramparts.hunting.dialects import Flavor, cast, fn, lit, translate_format

_TRY_FUNCS = {"long": "toInt64OrNull", "int": "toInt32OrNull", "real": "toFloat64OrNull"}
_NUM_FUNCS = {"long": "toInt64", "int": "toInt32", "real": "toFloat64"}
_TRUNC = {
    "year": "toStartOfYear",
    "quarter": "toStartOfQuarter",
    "month": "toStartOfMonth",
    "day": "toStartOfDay",
    "hour": "toStartOfHour",
    "minute": "toStartOfMinute",
}
_PARTS = {
    "year": "toYear",
    "month": "toMonth",
    "day": "toDayOfMonth",
    "hour": "toHour",
    "minute": "toMinute",
    "second": "toSecond",
    "dayofyear": "toDayOfYear",
    "quarter": "toQuarter",
}


class ClickHouseFlavor(Flavor):
    name = "clickhouse"
    DIALECT = "clickhouse"

    def datetime_literal(self, value: dt.datetime) -> exp.Expr:
        text = value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return fn("toDateTime64", lit(text), lit(6), lit("UTC"))

    def epoch_us(self, ts: exp.Expr) -> exp.Expr:
        return fn("toUnixTimestamp64Micro", ts)

    def from_epoch_us(self, us: exp.Expr) -> exp.Expr:
        return fn("fromUnixTimestamp64Micro", cast(us, "BIGINT"), lit("UTC"))

    def json_get(self, value: exp.Expr, key: exp.Expr, key_is_string: bool = False) -> exp.Expr:
        if key_is_string:
            pass
        elif isinstance(key, exp.Literal) and not key.is_string:
            index = int(key.this)
            key = lit(index + 1 if index >= 0 else index)
        elif not (isinstance(key, exp.Literal) and key.is_string):
            key = fn("if", exp.GTE(this=key, expression=lit(0)), exp.Add(this=key, expression=lit(1)), key)
        text = fn("ifNull", _unparsed(value), lit(""))
        raw = fn("nullIf", fn("JSONExtractRaw", text, key), lit(""))
        if key_is_string or (isinstance(key, exp.Literal) and key.is_string):
            return raw
        # an integer index reads arrays only (ClickHouse would also index an object's members)
        is_array = exp.EQ(this=cast(fn("JSONType", text), "VARCHAR"), expression=lit("Array"))
        return fn("if", is_array, raw, exp.Null())

    def json_to_string(self, value: exp.Expr) -> exp.Expr:
        # x.k: read the member in place (JSONType(x, k) is 'Null' when k is missing) rather than
        # re-parsing the extracted text twice more
        path = _member_path(value) or [value]
        json_type = cast(fn("JSONType", *(p.copy() for p in path)), "VARCHAR")
        is_string = exp.EQ(this=json_type, expression=lit("String"))
        is_null = exp.EQ(this=json_type.copy(), expression=lit("Null"))
        return fn("multiIf", is_string, fn("JSONExtractString", *(p.copy() for p in path)), is_null, exp.Null(), value)

    def json_string_or_empty(self, value: exp.Expr) -> exp.Expr | None:
        path = _member_path(value)
        return fn("JSONExtractString", *path) if path else None

    def json_strings(self, value: exp.Expr) -> exp.Expr:
        x = exp.to_identifier("x")
        body = fn(
            "if",
            exp.EQ(this=cast(fn("JSONType", exp.column(x)), "VARCHAR"), expression=lit("String")),
            fn("JSONExtractString", exp.column(x)),
            exp.column(x),
        )
        return fn(
            "arrayMap", exp.Lambda(this=body, expressions=[x]), fn("JSONExtractArrayRaw", fn("ifNull", value, lit("")))
        )

    def json_elements(self, value: exp.Expr, pairs: bool = False, strings: bool = False) -> exp.Expr:
        k = exp.to_identifier("k")
        v = fn("ifNull", value, lit(""))
        bag_item = _bag_entry(k, pairs, v)
        bag = fn("arrayMap", exp.Lambda(this=bag_item, expressions=[k]), fn("JSONExtractKeys", v))
        elements = fn("JSONExtractArrayRaw", v)
        if strings:
            x = exp.to_identifier("x")
            text = self.json_to_string(exp.column(x))
            elements = fn("arrayMap", exp.Lambda(this=text, expressions=[x]), elements)
        return fn(
            "if",
            exp.EQ(this=cast(fn("JSONType", v), "VARCHAR"), expression=lit("Object")),
            bag,
            elements,
        )

    def null_as_one_element(self, array: exp.Expr, value: exp.Expr) -> exp.Expr:
        x = exp.to_identifier("x")
        nullable = fn("arrayMap", exp.Lambda(this=fn("toNullable", exp.column(x)), expressions=[x]), array)
        return fn("if", fn("isNull", value), exp.Array(expressions=[cast(exp.Null(), "VARCHAR")]), nullable)

    def json_expansion(
        self, value: exp.Expr, slot: exp.Column, pairs: bool = False, strings: bool = False
    ) -> tuple[exp.Expr | None, exp.Expr] | None:
        keys_of = self._keys_source(value)
        if keys_of is not None:
            # bag_keys(parse_json(c)): JSONExtractKeys(c), and JSONType(c) only when that is empty ({} expands
            # to no row, anything but an object to one null); ClickHouse computes the repeated call once
            text = _unparsed(keys_of)
            if not isinstance(text, exp.Column):
                return None
            v = fn("ifNull", text, lit(""))
            names = fn("JSONExtractKeys", v)
            if not strings:  # each key as a JSON string
                k = exp.to_identifier("k")
                names = fn("arrayMap", exp.Lambda(this=fn("toJSONString", exp.column(k)), expressions=[k]), names)
            is_object = exp.EQ(this=cast(fn("JSONType", v.copy()), "VARCHAR"), expression=lit("Object"))
            empty = fn(
                "if",
                is_object,
                cast(exp.Array(expressions=[]), "VARCHAR[]"),
                exp.Array(expressions=[cast(exp.Null(), "VARCHAR")]),
            )
            return None, fn("if", fn("notEmpty", names), cast(names.copy(), "VARCHAR[]"), empty)
        path = _member_path(value)
        if path is None or len(path) != 2:
            return None
        text, key = path
        if not (
            isinstance(key, exp.Literal) and key.is_string and isinstance(text, exp.Anonymous) and text.expressions
        ):
            return None
        source = _unparsed(text.expressions[0])  # text is ifNull(x, '')
        if not isinstance(source, exp.Column):
            return None
        text = fn("ifNull", source.copy(), lit(""))
        # parse_json(c).k: the member's elements straight from c (JSONExtract as Nullable(String) reads a string
        # element as its text, null as NULL, anything else as its JSON); a missing, empty or non-array member
        # reads as [] and takes the fallback
        if strings:
            read = fn("JSONExtract", text.copy(), key.copy(), lit("Array(Nullable(String))"))
        else:
            read = cast(fn("JSONExtractArrayRaw", text.copy(), key.copy()), "VARCHAR[]")
        return None, fn("if", fn("notEmpty", read), read.copy(), self._member_fallback(text, key, pairs))

    def _member_fallback(self, text: exp.Expr, key: exp.Expr, pairs: bool) -> exp.Expr:
        """What the general path (null_as_one_element(json_elements(c.k))) gives for a member that is not a
        non-empty array: one NULL when it is missing (or c is not a JSON object), a bag's entries, else none.
        It reads the member's entries with their raw values in one call, so ClickHouse keeps two lazily
        evaluated steps for these rare rows (each one costs even when no row reaches it)."""
        p = exp.to_identifier("p")
        opening, middle, closing = ("[", ",", "]") if pairs else ("{", ":", "}")
        entry = fn(
            "concat",
            lit(opening),
            fn("toJSONString", fn("tupleElement", exp.column(p), lit(1))),
            lit(middle),
            fn("tupleElement", exp.column(p), lit(2)),
            lit(closing),
        )
        entries = fn(
            "arrayMap",
            exp.Lambda(this=fn("toNullable", entry), expressions=[p]),
            fn("JSONExtractKeysAndValuesRaw", text.copy(), key.copy()),
        )
        one_null = exp.Array(expressions=[cast(exp.Null(), "VARCHAR")])
        return fn("if", fn("JSONHas", text.copy(), key.copy()), entries, one_null)

    def _keys_source(self, value: exp.Expr) -> exp.Expr | None:
        """x when value is json_keys(x) (bag_keys)."""
        if not (isinstance(value, exp.Anonymous) and str(value.this) == "if" and len(value.expressions) == 3):
            return None
        keys = value.expressions[1]
        if not (isinstance(keys, exp.Anonymous) and keys.expressions):
            return None
        inner = keys.expressions[0]  # JSONExtractKeys(ifNull(x, ''))
        if not (isinstance(inner, exp.Anonymous) and inner.expressions):
            return None
        wrapped = inner.expressions[0]
        if not (isinstance(wrapped, exp.Anonymous) and wrapped.expressions):
            return None
        candidate = wrapped.expressions[0]
        return candidate if value == self.json_keys(candidate) else None

    def to_json(self, value: exp.Expr) -> exp.Expr:
        return fn("toJSONString", value)

    def escaped_alternation(self, array: exp.Expr) -> exp.Expr:
        x = exp.to_identifier("x")
        kept = fn(
            "arrayFilter",
            exp.Lambda(this=exp.NEQ(this=fn("ifNull", exp.column(x), lit("")), expression=lit("")), expressions=[x]),
            array,
        )
        escaped = fn("arrayMap", exp.Lambda(this=fn("regexpQuoteMeta", exp.column(x)), expressions=[x]), kept)
        return fn("arrayStringConcat", escaped, lit("|"))

    def base64(self, value: exp.Expr, encode: bool) -> exp.Expr:
        return fn("base64Encode" if encode else "tryBase64Decode", value)

    def json_valid(self, value: exp.Expr) -> exp.Expr:
        return fn("isValidJSON", value)

    def json_length(self, value: exp.Expr) -> exp.Expr:
        v = fn("ifNull", value, lit(""))
        return fn(
            "if",
            exp.EQ(this=cast(fn("JSONType", v), "VARCHAR"), expression=lit("Array")),
            fn("JSONLength", v),
            exp.Null(),
        )

    def json_keys(self, value: exp.Expr) -> exp.Expr:
        v = fn("ifNull", value, lit(""))
        is_object = exp.EQ(this=cast(fn("JSONType", v), "VARCHAR"), expression=lit("Object"))
        return fn("if", is_object, fn("toJSONString", fn("JSONExtractKeys", v)), exp.Null())

    def try_cast(self, value: exp.Expr, kql_type: str, source_type: str) -> exp.Expr:
        if kql_type == "datetime":
            if source_type == "datetime":
                return value
            return fn("parseDateTime64BestEffortOrNull", cast(value, "VARCHAR"), lit(6), lit("UTC"))
        if kql_type == "bool":
            text = fn("lower", cast(value, "VARCHAR"))
            return fn(
                "multiIf",
                exp.In(this=text, expressions=[lit("true"), lit("1")]),
                exp.true(),
                exp.In(this=text, expressions=[lit("false"), lit("0")]),
                exp.false(),
                cast(exp.Null(), "BOOLEAN"),
            )
        if source_type in ("string", "dynamic", "guid"):
            if kql_type == "real":
                return fn(_TRY_FUNCS[kql_type], value)
            return fn(_NUM_FUNCS[kql_type], fn("trunc", fn("toFloat64OrNull", value)))
        if source_type == "bool":
            value = fn("toUInt8", value)
        return fn(_NUM_FUNCS[kql_type], value)

    def to_string(self, value: exp.Expr) -> exp.Expr:
        return fn("toString", value)

    def regex_extract(self, value: exp.Expr, pattern: exp.Expr, group: int) -> exp.Expr:
        return fn("nullIf", fn("regexpExtract", fn("ifNull", value, lit("")), pattern, lit(group)), lit(""))

    def regex_extract_all(self, value: exp.Expr, pattern: exp.Expr, group: int) -> exp.Expr:
        if group == 0:
            return fn("extractAll", fn("ifNull", value, lit("")), pattern)
        groups = fn("extractAllGroupsVertical", fn("ifNull", value, lit("")), pattern)
        g = exp.to_identifier("g")
        return fn("arrayMap", exp.Lambda(this=fn("arrayElement", exp.column(g), lit(group)), expressions=[g]), groups)

    def regex_replace(self, value: exp.Expr, pattern: exp.Expr, repl: exp.Expr) -> exp.Expr:
        return fn("replaceRegexpAll", value, pattern, repl)

    def regex_escape(self, value: exp.Expr) -> exp.Expr:
        return fn("regexpQuoteMeta", value)

    def replace(self, value: exp.Expr, old: exp.Expr, new: exp.Expr) -> exp.Expr:
        return fn("replaceAll", value, old, new)

    def split(self, value: exp.Expr, sep: exp.Expr) -> exp.Expr:
        return fn("splitByString", sep, fn("ifNull", value, lit("")))

    def array_contains(self, array: exp.Expr, item: exp.Expr) -> exp.Expr:
        return fn("has", array, item)

    def array_join(self, array: exp.Expr, sep: exp.Expr) -> exp.Expr:
        return fn("arrayStringConcat", array, sep)

    def array_sort(self, array: exp.Expr) -> exp.Expr:
        return fn("arraySort", array)

    def array_slice(self, array: exp.Expr, count: exp.Expr) -> exp.Expr:
        return fn("arraySlice", array, lit(1), count)

    def agg_list(self, value: exp.Expr, distinct: bool) -> exp.Expr:
        return fn("groupUniqArray" if distinct else "groupArray", value)

    def arg_pick(self, values: list[exp.Expr], key: exp.Expr, largest: bool) -> exp.Expr:
        return fn("argMax" if largest else "argMin", fn("tuple", *values), key)

    def tuple_get(self, value: exp.Expr, index: int) -> exp.Expr:
        return fn("tupleElement", value, lit(index + 1))

    def percentile(self, value: exp.Expr, fraction: float) -> exp.Expr:
        rank = fn("greatest", fn("ceil", exp.Mul(this=lit(fraction), expression=exp.Count(this=value.copy()))), lit(1))
        return fn("arrayElement", fn("arraySort", fn("groupArray", value)), fn("toUInt64", rank))

    def unnest(self, array: exp.Expr) -> exp.Expr:
        return fn("arrayJoin", array)

    def json_key_array(self, value: exp.Expr) -> exp.Expr:
        return fn("JSONExtractKeys", fn("ifNull", value, lit("")))

    def json_type_name(self, value: exp.Expr) -> exp.Expr:
        return cast(fn("JSONType", fn("ifNull", value, lit("null"))), "VARCHAR")

    def array_sum(self, array: exp.Expr) -> exp.Expr:
        x = exp.to_identifier("x")
        has_null = fn("arrayExists", exp.Lambda(this=fn("isNull", exp.column(x)), expressions=[x]), array)
        y = exp.to_identifier("y")
        filled = fn("arrayMap", exp.Lambda(this=fn("ifNull", exp.column(y), lit(0.0)), expressions=[y]), array)
        return fn("if", has_null, exp.Null(), fn("toFloat64", fn("arraySum", filled)))

    def local_to_utc(self, ts: exp.Expr, zone: str) -> exp.Expr:
        wall = fn("formatDateTime", ts, lit("%Y-%m-%d %H:%i:%S.%f"), lit("UTC"))
        return fn("toTimeZone", fn("toDateTime64", wall, lit(6), lit(zone)), lit("UTC"))

    def utc_to_local(self, ts: exp.Expr, zone: str) -> exp.Expr:
        wall = fn("formatDateTime", ts, lit("%Y-%m-%d %H:%i:%S.%f"), lit(zone))
        return fn("toDateTime64", wall, lit(6), lit("UTC"))

    def make_tuple(self, values: list[exp.Expr]) -> exp.Expr:
        return fn("tuple", *values)

    def array_zip(self, arrays: list[exp.Expr]) -> exp.Expr:
        return fn("arrayZipUnaligned", *arrays)

    def array_slice_between(self, array: exp.Expr, first: exp.Expr, last: exp.Expr) -> exp.Expr:
        length = fn("greatest", exp.Add(this=exp.Sub(this=last, expression=first.copy()), expression=lit(1)), lit(0))
        return fn("arraySlice", array, fn("greatest", first, lit(1)), length)

    def array_range(self, count: exp.Expr) -> exp.Expr:
        return fn("range", fn("toUInt64", fn("greatest", count, lit(0))))

    def array_map(self, array: exp.Expr, var: str, body: exp.Expr) -> exp.Expr:
        return fn("arrayMap", exp.Lambda(this=body, expressions=[exp.to_identifier(var)]), array)

    def array_index_of(self, array: exp.Expr, item: exp.Expr) -> exp.Expr:
        return fn("indexOf", array, item)

    def array_get(self, array: exp.Expr, position: exp.Expr) -> exp.Expr:
        return fn("arrayElement", array, position)

    def agg_list_all(self, value: exp.Expr) -> exp.Expr:
        # groupArray skips NULLs; wrapping each value in a tuple keeps them (and the positions)
        t = exp.to_identifier("t")
        return fn(
            "arrayMap",
            exp.Lambda(this=fn("tupleElement", exp.column(t), lit(1)), expressions=[t]),
            fn("groupArray", fn("tuple", value)),
        )

    def trunc(self, unit: str, ts: exp.Expr) -> exp.Expr:
        return fn("toDateTime64", fn(_TRUNC[unit], ts), lit(6), lit("UTC"))

    def date_part(self, unit: str, ts: exp.Expr) -> exp.Expr:
        return fn("toInt64", fn(_PARTS[unit], ts))

    def date_diff(self, unit: str, start: exp.Expr, end: exp.Expr) -> exp.Expr:
        return fn("dateDiff", lit(unit), start, end)

    def date_add(self, unit: str, amount: exp.Expr, ts: exp.Expr) -> exp.Expr:
        name = "add" + unit.capitalize() + "s"
        return fn(name, ts, cast(amount, "BIGINT"))

    def format_datetime(self, ts: exp.Expr, kql_format: str) -> exp.Expr:
        return fn("formatDateTime", ts, lit(translate_format(kql_format, "%i", "%f")))

    def url_decode(self, value: exp.Expr) -> exp.Expr:
        return fn("decodeURLComponent", value)

    def int_div(self, a: exp.Expr, b: exp.Expr) -> exp.Expr:
        return fn("intDiv", a, b)


def _unparsed(value: exp.Expr) -> exp.Expr:
    """x for parse_json(x) (CASE WHEN isValidJSON(x) THEN x ELSE toJSONString(x) END): ClickHouse's JSON
    readers see no members in invalid JSON, just as in the JSON string parse_json makes of it."""
    if isinstance(value, exp.Case) and len(value.args.get("ifs") or []) == 1:
        (branch,) = value.args["ifs"]
        test, default, text = branch.this, value.args.get("default"), branch.args.get("true")
        if (
            isinstance(test, exp.Anonymous)
            and str(test.this) == "isValidJSON"
            and len(test.expressions) == 1
            and isinstance(text, exp.Expr)
            and test.expressions[0] == text
            and isinstance(default, exp.Anonymous)
            and str(default.this) == "toJSONString"
            and default.expressions == test.expressions
        ):
            return text
    return value


def _member_path(value: exp.Expr) -> list[exp.Expr] | None:
    """[text, key] when value is json_get's nullIf(JSONExtractRaw(text, key), '') for a string key."""
    if isinstance(value, exp.Anonymous) and str(value.this) == "nullIf" and len(value.expressions) == 2:
        inner, empty = value.expressions
        if (
            isinstance(inner, exp.Anonymous)
            and str(inner.this) == "JSONExtractRaw"
            and len(inner.expressions) == 2
            and isinstance(empty, exp.Literal)
            and empty.this == ""
        ):
            return list(inner.expressions)
    return None


def _bag_entry(k: exp.Identifier, pairs: bool, *path: exp.Expr) -> exp.Expr:
    """One bag entry as JSON text, {"k":v} (or ["k",v] for pairs), v read at path + k."""
    opening, middle, closing = ("[", ",", "]") if pairs else ("{", ":", "}")
    return fn(
        "concat",
        lit(opening),
        fn("toJSONString", exp.column(k)),
        lit(middle),
        fn("JSONExtractRaw", *path, exp.column(k)),
        lit(closing),
    )

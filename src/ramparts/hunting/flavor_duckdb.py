"""DuckDB's choices for the places where the engines differ (see dialects.Flavor)."""

from __future__ import annotations

import datetime as dt

from sqlglot import exp

from ramparts.hunting.dialects import Flavor, cast, fn, lit, translate_format

# JSON's white space, spelled without control characters in the SQL text
_JSON_SPACE = exp.DPipe(
    this=exp.DPipe(this=exp.DPipe(this=lit(" "), expression=fn("chr", lit(9))), expression=fn("chr", lit(10))),
    expression=fn("chr", lit(13)),
)
_TRY_TYPES = {"long": "BIGINT", "int": "INTEGER", "real": "DOUBLE", "bool": "BOOLEAN", "datetime": "TIMESTAMPTZ"}
_UNITS = {
    "year": "year",
    "quarter": "quarter",
    "month": "month",
    "week": "week",
    "day": "day",
    "hour": "hour",
    "minute": "minute",
    "second": "second",
    "millisecond": "millisecond",
    "microsecond": "microsecond",
}


class DuckDBFlavor(Flavor):
    name = "duckdb"
    DIALECT = "duckdb"

    def datetime_literal(self, value: dt.datetime) -> exp.Expr:
        text = value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
        return cast(lit(text), "TIMESTAMPTZ")

    def epoch_us(self, ts: exp.Expr) -> exp.Expr:
        return fn("epoch_us", ts)

    def from_epoch_us(self, us: exp.Expr) -> exp.Expr:
        # make_timestamptz(us) is the same instant as to_timestamp(0) + to_microseconds(us), without ICU's
        # calendar arithmetic per row
        return fn("make_timestamptz", cast(us, "BIGINT"))

    def json_get(self, value: exp.Expr, key: exp.Expr, key_is_string: bool = False) -> exp.Expr:
        if key_is_string:
            return fn("json_extract", value, _json_pointer(key))
        if isinstance(key, exp.Literal) and key.is_string:
            path = lit('$."' + key.this.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif isinstance(key, exp.Literal):
            index = int(key.this)
            path = lit(f"$[{index}]" if index >= 0 else f"$[#{index}]")
        else:
            path = exp.DPipe(this=exp.DPipe(this=lit("$["), expression=cast(key, "VARCHAR")), expression=lit("]"))
        return fn("json_extract", value, path)

    def json_to_string(self, value: exp.Expr) -> exp.Expr:
        # tostring(x.k): one json_extract_string(x, path) instead of extracting, then reading as text
        if (
            isinstance(value, exp.Anonymous)
            and str(value.this).lower() == "json_extract"
            and len(value.expressions) == 2
        ):
            return fn("json_extract_string", *(e.copy() for e in value.expressions))
        return fn("json_extract_string", value, lit("$"))

    def json_strings(self, value: exp.Expr) -> exp.Expr:
        return fn("json_extract_string", value, lit("$[*]"))

    def _bag_entries(self, j: exp.Expr, pairs: bool) -> exp.Expr:
        """A JSON object's properties as an SQL array of single-entry bags {key: value} (or [key, value])."""
        key = exp.to_identifier("k")
        opening = ("[", ",", "]") if pairs else ("{", ":", "}")  # [key, value] or {key: value}
        bag_item = exp.DPipe(
            this=exp.DPipe(
                this=exp.DPipe(this=lit(opening[0]), expression=cast(fn("to_json", exp.column(key)), "VARCHAR")),
                expression=lit(opening[1]),
            ),
            expression=exp.DPipe(
                this=cast(
                    fn(
                        "json_extract",
                        j,
                        _json_pointer(exp.column(key)),
                    ),
                    "VARCHAR",
                ),
                expression=lit(opening[2]),
            ),
        )
        return fn("list_transform", fn("json_keys", j.copy()), exp.Lambda(this=bag_item, expressions=[key]))

    def json_elements(self, value: exp.Expr, pairs: bool = False, strings: bool = False) -> exp.Expr:
        j = value
        bag = self._bag_entries(j, pairs)
        return exp.Case(
            ifs=[exp.If(this=exp.EQ(this=fn("json_type", j), expression=lit("OBJECT")), true=bag)],
            default=self.json_strings(j) if strings else cast(fn("json_extract", j, lit("$[*]")), "VARCHAR[]"),
        )

    def null_as_one_element(self, array: exp.Expr, value: exp.Expr) -> exp.Expr:
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.Is(this=value, expression=exp.Null()),
                    true=cast(exp.Array(expressions=[exp.Null()]), "VARCHAR[]"),
                )
            ],
            default=array,
        )

    def json_expansion(
        self, value: exp.Expr, slot: exp.Column, pairs: bool = False, strings: bool = False
    ) -> tuple[exp.Expr | None, exp.Expr] | None:
        one_null = cast(exp.Array(expressions=[exp.Null()]), "VARCHAR[]")
        keys_of = self._keys_source(value)
        if keys_of is not None:
            # bag_keys(parse_json(c)): valid JSON starting with '{' is an object (json_type would parse again)
            text = _parsed_text(keys_of, self)
            if not isinstance(text, exp.Column):
                return None
            is_object = exp.And(
                this=fn("json_valid", text),
                expression=fn("starts_with", fn("ltrim", text.copy(), _JSON_SPACE.copy()), lit("{")),
            )
            names = fn("json_keys", text.copy())
            if not strings:  # each key as a JSON string
                k = exp.to_identifier("k")
                names = fn("list_transform", names, exp.Lambda(this=self.to_json(exp.column(k)), expressions=[k]))
            return None, exp.Case(ifs=[exp.If(this=is_object, true=names)], default=one_null)
        member = _member_read(value)
        if member is None:
            return None
        source, path = member
        text = _parsed_text(source, self)
        if not isinstance(text, exp.Column):
            return None
        # parse_json(c).k: the member's elements straight from c; `[*]` yields nothing for a missing, empty or
        # non-array member, and those rows (few) take the fallback below
        every = lit(path + "[*]")
        read = fn("json_extract_string", text, every) if strings else cast(fn("json_extract", text, every), "VARCHAR[]")
        pre = exp.Case(ifs=[exp.If(this=fn("json_valid", text.copy()), true=read)])  # NULL: c is null or not JSON
        # Other rows: c is valid JSON and its member is not a non-empty array, so it expands to one NULL when
        # missing, to its entries when a bag, else to no row (what null_as_one_element(json_elements(c.k))
        # gives them). Flat and without the elements branch: DuckDB pays for each branch even when no row
        # reaches it. WHENs run in order, so json_extract only sees valid JSON (an OR could be reordered).
        member_json = fn("json_extract", text.copy(), lit(path))
        member_is_object = exp.EQ(this=fn("json_type", member_json.copy()), expression=lit("OBJECT"))
        array = exp.Case(
            ifs=[
                exp.If(this=exp.GT(this=fn("len", slot.copy()), expression=lit(0)), true=slot.copy()),
                exp.If(this=exp.Is(this=slot.copy(), expression=exp.Null()), true=one_null),
                exp.If(this=exp.Is(this=member_json, expression=exp.Null()), true=one_null.copy()),
                exp.If(this=member_is_object, true=self._bag_entries(member_json.copy(), pairs)),
            ]
        )
        return pre, array

    def _keys_source(self, value: exp.Expr) -> exp.Expr | None:
        """x when value is json_keys(x) (bag_keys)."""
        if not isinstance(value, exp.Case) or len(value.args.get("ifs") or []) != 1:
            return None
        test = value.args["ifs"][0].this
        if not isinstance(test, exp.EQ) or not isinstance(test.this, exp.Anonymous) or not test.this.expressions:
            return None
        candidate = test.this.expressions[0]
        return candidate if value == self.json_keys(candidate) else None

    def to_json(self, value: exp.Expr) -> exp.Expr:
        return cast(fn("to_json", value), "VARCHAR")

    def escaped_alternation(self, array: exp.Expr) -> exp.Expr:
        x = exp.to_identifier("x")
        kept = fn(
            "list_filter",
            array,
            exp.Lambda(this=exp.NEQ(this=fn("coalesce", exp.column(x), lit("")), expression=lit("")), expressions=[x]),
        )
        escaped = fn("list_transform", kept, exp.Lambda(this=fn("regexp_escape", exp.column(x)), expressions=[x]))
        return fn("array_to_string", escaped, lit("|"))

    def base64(self, value: exp.Expr, encode: bool) -> exp.Expr:
        if encode:
            return fn("to_base64", fn("encode", value))
        return fn("decode", fn("from_base64", value))

    def json_valid(self, value: exp.Expr) -> exp.Expr:
        return fn("json_valid", value)

    def json_length(self, value: exp.Expr) -> exp.Expr:
        j = value
        return exp.Case(
            ifs=[
                exp.If(this=exp.EQ(this=fn("json_type", j), expression=lit("ARRAY")), true=fn("json_array_length", j))
            ],
            default=exp.Null(),
        )

    def json_keys(self, value: exp.Expr) -> exp.Expr:
        j = value
        is_object = exp.EQ(this=fn("json_type", j), expression=lit("OBJECT"))
        return exp.Case(ifs=[exp.If(this=is_object, true=self.to_json(fn("json_keys", j)))], default=exp.Null())

    def try_cast(self, value: exp.Expr, kql_type: str, source_type: str) -> exp.Expr:
        if kql_type in ("long", "int") and source_type == "real":
            value = fn("trunc", value)
        if kql_type in ("long", "int") and source_type in ("string", "dynamic"):
            value = fn("trunc", exp.TryCast(this=value, to=exp.DataType.build("DOUBLE")))
        return exp.TryCast(this=value, to=exp.DataType.build(_TRY_TYPES[kql_type]))

    def regex_extract(self, value: exp.Expr, pattern: exp.Expr, group: int) -> exp.Expr:
        return fn("nullif", fn("regexp_extract", value, pattern, lit(group)), lit(""))

    def regex_extract_all(self, value: exp.Expr, pattern: exp.Expr, group: int) -> exp.Expr:
        return fn("regexp_extract_all", value, pattern, lit(group))

    def regex_replace(self, value: exp.Expr, pattern: exp.Expr, repl: exp.Expr) -> exp.Expr:
        return fn("regexp_replace", value, pattern, repl, lit("g"))

    def regex_escape(self, value: exp.Expr) -> exp.Expr:
        return fn("regexp_escape", value)

    def replace(self, value: exp.Expr, old: exp.Expr, new: exp.Expr) -> exp.Expr:
        return fn("replace", value, old, new)

    def split(self, value: exp.Expr, sep: exp.Expr) -> exp.Expr:
        return fn("string_split", value, sep)

    def array_contains(self, array: exp.Expr, item: exp.Expr) -> exp.Expr:
        return fn("list_contains", array, item)

    def array_join(self, array: exp.Expr, sep: exp.Expr) -> exp.Expr:
        return fn("array_to_string", array, sep)

    def array_sort(self, array: exp.Expr) -> exp.Expr:
        return fn("list_sort", array)

    def array_slice(self, array: exp.Expr, count: exp.Expr) -> exp.Expr:
        return fn("list_slice", array, lit(1), count)

    def agg_list(self, value: exp.Expr, distinct: bool) -> exp.Expr:
        inner = exp.Distinct(expressions=[value]) if distinct else value
        agg = exp.Filter(
            this=fn("list", inner),
            expression=exp.Where(this=exp.Not(this=exp.Is(this=value, expression=exp.Null()))),
        )
        return fn("coalesce", agg, exp.Array(expressions=[]))

    def arg_pick(self, values: list[exp.Expr], key: exp.Expr, largest: bool) -> exp.Expr:
        return fn("arg_max" if largest else "arg_min", fn("row", *values), key)

    def tuple_get(self, value: exp.Expr, index: int) -> exp.Expr:
        return fn("struct_extract", value, lit(index + 1))

    def percentile(self, value: exp.Expr, fraction: float) -> exp.Expr:
        rank = cast(
            fn("greatest", fn("ceil", exp.Mul(this=lit(fraction), expression=exp.Count(this=value.copy()))), lit(1)),
            "BIGINT",
        )
        return fn("list_extract", fn("list_sort", self.agg_list(value, False)), rank)

    def unnest(self, array: exp.Expr) -> exp.Expr:
        return fn("unnest", array)

    def json_key_array(self, value: exp.Expr) -> exp.Expr:
        return fn("json_keys", value)

    def json_type_name(self, value: exp.Expr) -> exp.Expr:
        return fn("json_type", value)

    def array_sum(self, array: exp.Expr) -> exp.Expr:
        total = fn("coalesce", fn("list_sum", array), lit(0.0))
        complete = exp.EQ(this=fn("list_count", array), expression=fn("len", array))
        return exp.Case(ifs=[exp.If(this=complete, true=cast(total, "DOUBLE"))], default=exp.Null())

    def local_to_utc(self, ts: exp.Expr, zone: str) -> exp.Expr:
        return fn("timezone", lit(zone), cast(fn("timezone", lit("UTC"), ts), "TIMESTAMP"))

    def utc_to_local(self, ts: exp.Expr, zone: str) -> exp.Expr:
        return fn("timezone", lit("UTC"), fn("timezone", lit(zone), ts))

    def make_tuple(self, values: list[exp.Expr]) -> exp.Expr:
        return fn("row", *values)

    def array_zip(self, arrays: list[exp.Expr]) -> exp.Expr:
        return fn("list_zip", *arrays)

    def array_slice_between(self, array: exp.Expr, first: exp.Expr, last: exp.Expr) -> exp.Expr:
        return fn("list_slice", array, first, last)

    def array_range(self, count: exp.Expr) -> exp.Expr:
        return fn("range", cast(count, "BIGINT"))

    def array_map(self, array: exp.Expr, var: str, body: exp.Expr) -> exp.Expr:
        return fn("list_transform", array, exp.Lambda(this=body, expressions=[exp.to_identifier(var)]))

    def array_index_of(self, array: exp.Expr, item: exp.Expr) -> exp.Expr:
        return fn("coalesce", fn("list_position", array, item), lit(0))

    def array_get(self, array: exp.Expr, position: exp.Expr) -> exp.Expr:
        return fn("list_extract", array, position)

    def agg_list_all(self, value: exp.Expr) -> exp.Expr:
        return fn("list", value)

    def trunc(self, unit: str, ts: exp.Expr) -> exp.Expr:
        return fn("date_trunc", lit(unit), ts)

    def date_part(self, unit: str, ts: exp.Expr) -> exp.Expr:
        return cast(fn("date_part", lit(unit), ts), "BIGINT")

    def date_diff(self, unit: str, start: exp.Expr, end: exp.Expr) -> exp.Expr:
        return fn("date_diff", lit(_UNITS[unit]), start, end)

    def date_add(self, unit: str, amount: exp.Expr, ts: exp.Expr) -> exp.Expr:
        interval = exp.Interval(this=cast(amount, "BIGINT"), unit=exp.var(_UNITS[unit].upper()))
        return exp.Add(this=ts, expression=interval)

    def format_datetime(self, ts: exp.Expr, kql_format: str) -> exp.Expr:
        return fn("strftime", ts, lit(translate_format(kql_format, "%M", "%f")))

    def url_decode(self, value: exp.Expr) -> exp.Expr:
        return fn("url_decode", value)


def _parsed_text(value: exp.Expr, flavor: DuckDBFlavor) -> exp.Expr:
    """c for parse_json(c) (CASE WHEN json_valid(c) THEN c ELSE to_json(c) END), else value itself."""
    if isinstance(value, exp.Case) and len(value.args.get("ifs") or []) == 1:
        text = value.args["ifs"][0].args.get("true")
        if isinstance(text, exp.Expr):
            parsed = exp.Case(ifs=[exp.If(this=flavor.json_valid(text), true=text)], default=flavor.to_json(text))
            if value == parsed:
                return text
    return value


def _json_pointer(key: exp.Expr) -> exp.Expr:
    """A JSON Pointer (RFC 6901) to the member named by a key computed at run time: unlike a '$."k"' path it
    needs no quoting, so keys holding quotes, backslashes or nothing at all are read too."""
    escaped = fn("replace", fn("replace", key, lit("~"), lit("~0")), lit("/"), lit("~1"))
    return exp.DPipe(this=lit("/"), expression=escaped)


def _member_read(value: exp.Expr) -> tuple[exp.Expr, str] | None:
    """(x, '$."k"') when value is json_get's json_extract(x, '$."k"') for a literal key."""
    if not (isinstance(value, exp.Anonymous) and str(value.this) == "json_extract" and len(value.expressions) == 2):
        return None
    source, path = value.expressions
    if isinstance(path, exp.Literal) and path.is_string and path.this.startswith('$."') and path.this.endswith('"'):
        return source, path.this
    return None

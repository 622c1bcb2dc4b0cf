"""What differs between the DuckDB and ClickHouse renderings of KQL semantics.

sqlglot's stock dialects print the trees; a Flavor only chooses the tree where the engines' function
sets differ (JSON access, casts that yield null on failure, epoch arithmetic, regex extraction).
Functions sqlglot has no node for are written as `exp.Anonymous` with the engine's own name.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import ClassVar

from sqlglot import exp

from ramparts.hunting.types import SQL_TYPE


def fn(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def lit(value: object) -> exp.Expr:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if type(value) is int and value >= 0:  # what Literal.number gives, without its parse-back check
        return exp.Literal(this=str(value), is_string=False)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


_DATA_TYPES: dict[str, exp.DataType] = {}  # DataType.build parses its text with sqlglot's parser


def cast(expr: exp.Expr, sql_type: str) -> exp.Expr:
    data_type = _DATA_TYPES.get(sql_type)
    if data_type is None:
        data_type = _DATA_TYPES[sql_type] = exp.DataType.build(sql_type)
    return exp.Cast(this=expr, to=data_type.copy())


class Flavor(ABC):
    name: ClassVar[str]
    DIALECT: ClassVar[str]

    @abstractmethod
    def datetime_literal(self, value: dt.datetime) -> exp.Expr: ...

    @abstractmethod
    def epoch_us(self, ts: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def from_epoch_us(self, us: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def json_get(self, value: exp.Expr, key: exp.Expr, key_is_string: bool = False) -> exp.Expr:
        """value[key] for a JSON text value; key is a string (property) or integer (0-based index)."""
        ...

    @abstractmethod
    def json_to_string(self, value: exp.Expr) -> exp.Expr:
        """KQL tostring(dynamic): a JSON string's text, otherwise the JSON text."""
        ...

    def json_string_or_empty(self, value: exp.Expr) -> exp.Expr | None:
        """A JSON string's text, '' for anything else, where that is cheaper than json_to_string; None
        when it is not. Equal to json_to_string for a comparison with a text no other JSON value prints as."""
        return None

    @abstractmethod
    def json_strings(self, value: exp.Expr) -> exp.Expr:
        """A JSON array as an SQL array of strings (tostring of each element)."""
        ...

    @abstractmethod
    def json_elements(self, value: exp.Expr, pairs: bool = False, strings: bool = False) -> exp.Expr:
        """A JSON array (or bag: one {key: value} bag per property, or [key, value] with `pairs`) as an
        SQL array of JSON texts; with `strings`, of each element's tostring() instead."""
        ...

    @abstractmethod
    def null_as_one_element(self, array: exp.Expr, value: exp.Expr) -> exp.Expr:
        """The array, or [NULL] when value is NULL (mv-expand keeps a row for a null)."""
        ...

    def json_expansion(
        self, value: exp.Expr, slot: exp.Column, pairs: bool = False, strings: bool = False
    ) -> tuple[exp.Expr | None, exp.Expr] | None:
        """mv-expand's array for value (null_as_one_element(json_elements(value, ...), value)) read
        with one parse of the JSON text, when value has a shape the engine has a direct reader for:
        bag_keys(parse_json(c)) or parse_json(c).k, c a column. Returns (what to compute into the
        column `slot` in a layer below, or None; the array, which may read slot), or None."""
        return None

    @abstractmethod
    def to_json(self, value: exp.Expr) -> exp.Expr:
        """An SQL scalar or array as JSON text."""
        ...

    @abstractmethod
    def escaped_alternation(self, array: exp.Expr) -> exp.Expr:
        """'a|b\\.c' from an SQL array of strings: each escaped for RE2, empty ones left out."""
        ...

    @abstractmethod
    def base64(self, value: exp.Expr, encode: bool) -> exp.Expr: ...

    @abstractmethod
    def json_valid(self, value: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def json_length(self, value: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def json_keys(self, value: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def try_cast(self, value: exp.Expr, kql_type: str, source_type: str) -> exp.Expr: ...

    def to_string(self, value: exp.Expr) -> exp.Expr:
        return cast(value, "VARCHAR")

    @abstractmethod
    def regex_extract(self, value: exp.Expr, pattern: exp.Expr, group: int) -> exp.Expr: ...

    @abstractmethod
    def regex_extract_all(self, value: exp.Expr, pattern: exp.Expr, group: int) -> exp.Expr: ...

    @abstractmethod
    def regex_replace(self, value: exp.Expr, pattern: exp.Expr, repl: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def regex_escape(self, value: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def replace(self, value: exp.Expr, old: exp.Expr, new: exp.Expr) -> exp.Expr: ...

    def split(self, value: exp.Expr, sep: exp.Expr) -> exp.Expr:
        return exp.Split(this=value, expression=sep)

    @abstractmethod
    def array_contains(self, array: exp.Expr, item: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def array_join(self, array: exp.Expr, sep: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def array_sort(self, array: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def array_slice(self, array: exp.Expr, count: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def agg_list(self, value: exp.Expr, distinct: bool) -> exp.Expr: ...

    @abstractmethod
    def arg_pick(self, values: list[exp.Expr], key: exp.Expr, largest: bool) -> exp.Expr: ...

    @abstractmethod
    def tuple_get(self, value: exp.Expr, index: int) -> exp.Expr: ...

    @abstractmethod
    def percentile(self, value: exp.Expr, fraction: float) -> exp.Expr:
        """The nearest-rank percentile: the ceil(fraction * n)-th smallest value."""
        ...

    @abstractmethod
    def unnest(self, array: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def json_key_array(self, value: exp.Expr) -> exp.Expr:
        """The property names of a JSON object as an SQL array of strings (empty for other values)."""
        ...

    @abstractmethod
    def json_type_name(self, value: exp.Expr) -> exp.Expr:
        """The engine's name for a JSON value's type (see plugins.JSON_TYPES)."""
        ...

    @abstractmethod
    def array_sum(self, array: exp.Expr) -> exp.Expr:
        """The sum of an SQL array of doubles as a double; NULL when an element is NULL; 0 when empty."""
        ...

    @abstractmethod
    def local_to_utc(self, ts: exp.Expr, zone: str) -> exp.Expr:
        """The UTC instant of ts's wall-clock time read in the time zone `zone`."""
        ...

    @abstractmethod
    def utc_to_local(self, ts: exp.Expr, zone: str) -> exp.Expr:
        """The wall-clock time of the instant ts in `zone`, carried as a UTC datetime."""
        ...

    @abstractmethod
    def make_tuple(self, values: list[exp.Expr]) -> exp.Expr:
        """A row value (struct/tuple) that compares element by element."""
        ...

    @abstractmethod
    def array_zip(self, arrays: list[exp.Expr]) -> exp.Expr:
        """One array of tuples from several arrays, element by element; the shorter padded with NULL."""
        ...

    @abstractmethod
    def array_slice_between(self, array: exp.Expr, first: exp.Expr, last: exp.Expr) -> exp.Expr:
        """array[first..last], 1-based and inclusive."""
        ...

    @abstractmethod
    def array_range(self, count: exp.Expr) -> exp.Expr:
        """[0, 1, ..., count - 1] as an SQL array."""
        ...

    @abstractmethod
    def array_map(self, array: exp.Expr, var: str, body: exp.Expr) -> exp.Expr:
        """The array with `body` (which reads the element as column `var`) applied to each element."""
        ...

    @abstractmethod
    def array_index_of(self, array: exp.Expr, item: exp.Expr) -> exp.Expr:
        """The 1-based position of item in array, 0 when absent."""
        ...

    @abstractmethod
    def array_get(self, array: exp.Expr, position: exp.Expr) -> exp.Expr:
        """array[position], 1-based."""
        ...

    @abstractmethod
    def agg_list_all(self, value: exp.Expr) -> exp.Expr:
        """An SQL array of every value in the group, nulls included, in the group's row order."""
        ...

    @abstractmethod
    def trunc(self, unit: str, ts: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def date_part(self, unit: str, ts: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def date_diff(self, unit: str, start: exp.Expr, end: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def date_add(self, unit: str, amount: exp.Expr, ts: exp.Expr) -> exp.Expr: ...

    @abstractmethod
    def format_datetime(self, ts: exp.Expr, kql_format: str) -> exp.Expr: ...

    @abstractmethod
    def url_decode(self, value: exp.Expr) -> exp.Expr: ...

    def int_div(self, a: exp.Expr, b: exp.Expr) -> exp.Expr:
        return exp.IntDiv(this=a, expression=b)

    def concat(self, parts: list[exp.Expr]) -> exp.Expr:
        return fn("concat", *parts)

    def typed_null(self, kql_type: str) -> exp.Expr:
        if kql_type == "datetime":
            return self.from_epoch_us(cast(exp.Null(), "BIGINT"))
        return cast(exp.Null(), SQL_TYPE.get(kql_type, "VARCHAR"))

    def sql_type(self, kql_type: str) -> str:
        return SQL_TYPE.get(kql_type, "VARCHAR")


_STRFTIME = [
    ("yyyy", "%Y"),
    ("yy", "%y"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("hh", "%I"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("tt", "%p"),
]


def translate_format(kql_format: str, minute: str, fraction: str) -> str:
    out = ""
    i = 0
    while i < len(kql_format):
        for token, code in _STRFTIME:
            if kql_format.startswith(token, i):
                out += minute if code == "%M" else code
                i += len(token)
                break
        else:
            if kql_format.startswith("fff", i):
                j = i
                while j < len(kql_format) and kql_format[j] == "f":
                    j += 1
                out += fraction
                i = j
            else:
                out += "%%" if kql_format[i] == "%" else kql_format[i]
                i += 1
    return out

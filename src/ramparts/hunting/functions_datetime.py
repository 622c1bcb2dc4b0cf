"""Scalar functions over datetimes that need more than a one-line mapping: format_datetime builds
its text from the date's parts (so `M`, `H`, `d`, `fff` and `tt` mean what Kusto's documentation
says on both engines), and the offset forms of startofweek()."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from ramparts.hunting import ast
from ramparts.hunting.dialects import cast, fn, lit
from ramparts.hunting.functions import register
from ramparts.hunting.types import NULL, US_PER_SECOND, Typed

if TYPE_CHECKING:
    from ramparts.hunting.dialects import Flavor
    from ramparts.hunting.lower_scalar import ScalarLowerer

_DAY_US = 86_400 * US_PER_SECOND
_WEEK_US = 7 * _DAY_US
_THURSDAY_SHIFT = 4 * _DAY_US  # 1970-01-01 was a Thursday; KQL weeks start on Sunday

# format_datetime's specifiers: a run of one letter, by letter, with the run lengths Kusto knows
_SPECIFIERS = {
    "y": (1, 2, 4),
    "M": (1, 2),
    "d": (1, 2),
    "H": (1, 2),
    "h": (1, 2),
    "m": (1, 2),
    "s": (1, 2),
    "t": (2,),
    "f": (1, 2, 3, 4, 5, 6, 7),
    "F": (1, 2, 3, 4, 5, 6, 7),
}
_PART_OF = {"M": "month", "d": "day", "H": "hour", "m": "minute", "s": "second"}


def _datetime_arg(lo: ScalarLowerer, node: ast.Call, value: Typed) -> Typed:
    if value.type in ("string", "dynamic"):
        return lo.convert(value, "datetime")
    if value.type not in ("datetime", NULL):
        raise lo.error(node, f"'{node.name}' takes a datetime, not {value.type}")
    return value


def _text(number: exp.Expr, width: int) -> exp.Expr:
    """A whole number as text, padded with zeros on the left to at least ``width`` digits."""
    text = cast(number, "VARCHAR")
    if width <= 1:
        return text
    padded = fn("lpad", text, lit(width), lit("0"))
    # lpad cuts longer text down to the width; a number wider than the pad keeps all its digits
    return exp.Case(
        ifs=[exp.If(this=exp.GT(this=exp.Length(this=text.copy()), expression=lit(width)), true=text.copy())],
        default=padded,
    )


def _fraction(flavor: Flavor, ts: exp.Expr, digits: int, trim: bool) -> exp.Expr:
    """The first ``digits`` digits of the seconds fraction (a 7-digit tick count, the last always 0
    as the engines keep microseconds); ``F`` runs drop trailing zeros."""
    micros = exp.Mod(
        this=exp.Paren(
            this=exp.Add(
                this=exp.Paren(this=exp.Mod(this=flavor.epoch_us(ts), expression=lit(US_PER_SECOND))),
                expression=lit(US_PER_SECOND),
            )
        ),
        expression=lit(US_PER_SECOND),
    )
    ticks = flavor.concat([fn("lpad", cast(micros, "VARCHAR"), lit(6), lit("0")), lit("0")])
    head = exp.Substring(this=ticks, start=lit(1), length=lit(digits))
    return flavor.regex_replace(head, lit("0+$"), lit("")) if trim else head


def _field(lo: ScalarLowerer, ts: exp.Expr, letter: str, width: int) -> exp.Expr:
    flavor = lo.flavor
    if letter == "y":
        year = flavor.date_part("year", ts.copy())
        return _text(year, 4) if width == 4 else _text(exp.Mod(this=year, expression=lit(100)), width)
    if letter == "h":  # 12-hour clock: 0 and 12 are both 12
        hour12 = exp.Mod(this=flavor.date_part("hour", ts.copy()), expression=lit(12))
        noon = exp.Case(ifs=[exp.If(this=exp.EQ(this=hour12, expression=lit(0)), true=lit(12))], default=hour12.copy())
        return _text(noon, width)
    if letter == "t":
        morning = exp.LT(this=flavor.date_part("hour", ts.copy()), expression=lit(12))
        return exp.Case(ifs=[exp.If(this=morning, true=lit("AM"))], default=lit("PM"))
    if letter in "fF":
        return _fraction(flavor, ts.copy(), width, trim=letter == "F")
    return _text(flavor.date_part(_PART_OF[letter], ts.copy()), width)


@register("format_datetime")
def _format_datetime(lo: ScalarLowerer, node: ast.Call) -> Typed:
    """format_datetime(date, format): the text of ``date`` laid out by ``format``'s specifiers
    (yyyy, yy, M, MM, d, dd, H, HH, h, hh, m, mm, s, ss, tt, f..fffffff, F..FFFFFFF); any other
    character is copied as it is."""
    value, pattern = lo.args(node, 2)
    value = _datetime_arg(lo, node, value)
    if not isinstance(pattern.const, str):
        raise lo.error(node, "format_datetime() needs a constant format")
    parts: list[exp.Expr] = []
    literal = ""
    for match in re.finditer(r"(.)\1*", pattern.const, re.DOTALL):
        run = match.group(0)
        letter = run[0]
        if letter not in _SPECIFIERS:
            literal += run
            continue
        if len(run) not in _SPECIFIERS[letter]:
            raise lo.error(node, f"format_datetime() does not know the format specifier '{run}'")
        if literal:
            parts.append(lit(literal))
            literal = ""
        parts.append(_field(lo, value.sql, letter, len(run)))
    if literal:
        parts.append(lit(literal))
    if not parts:
        return Typed(lit(""), "string", "")
    text = parts[0] if len(parts) == 1 else lo.flavor.concat(parts)
    # a null date formats to null, not to the format's separators
    return Typed(
        exp.Case(
            ifs=[exp.If(this=exp.Is(this=value.sql.copy(), expression=exp.Null()), true=exp.Null())], default=text
        ),
        "string",
    )


def _floor_div(lo: ScalarLowerer, value: exp.Expr, size: int) -> exp.Expr:
    """value // size rounded down, also for negative values (int_div truncates towards zero)."""
    below = exp.Case(
        ifs=[exp.If(this=exp.LT(this=value.copy(), expression=lit(0)), true=lit(size - 1))], default=lit(0)
    )
    return lo.flavor.int_div(exp.Sub(this=value, expression=below), lit(size))


@register("startofweek")
def _startofweek(lo: ScalarLowerer, node: ast.Call) -> Typed:
    """startofweek(date [, offset]): the Sunday that starts the week, moved by ``offset`` weeks."""
    value, *offset = lo.args(node, 1, 2)
    value = _datetime_arg(lo, node, value)
    flavor = lo.flavor
    us = exp.Add(this=flavor.epoch_us(value.sql), expression=lit(_THURSDAY_SHIFT))
    week = _floor_div(lo, us, _WEEK_US)
    if offset:
        week = exp.Add(this=week, expression=cast(offset[0].sql, "BIGINT"))
    start = exp.Sub(this=exp.Mul(this=week, expression=lit(_WEEK_US)), expression=lit(_THURSDAY_SHIFT))
    return Typed(flavor.from_epoch_us(start), "datetime")


def _iso_week(lo: ScalarLowerer, ts: exp.Expr) -> exp.Expr:
    """The ISO 8601 week number: the week (Monday to Sunday) holding the date's Thursday, counted
    from the week holding its year's first Thursday."""
    flavor = lo.flavor
    days = _floor_div(lo, flavor.epoch_us(ts), _DAY_US)  # 1970-01-01 was a Thursday: day 0
    monday_based = exp.Mod(this=exp.Paren(this=exp.Add(this=days, expression=lit(3 + 7 * 400_000))), expression=lit(7))
    thursday = exp.Add(this=exp.Sub(this=days.copy(), expression=monday_based), expression=lit(3))
    thursday_ts = flavor.from_epoch_us(exp.Mul(this=thursday, expression=lit(_DAY_US)))
    day_of_year = flavor.date_part("dayofyear", thursday_ts)
    return exp.Add(this=flavor.int_div(exp.Sub(this=day_of_year, expression=lit(1)), lit(7)), expression=lit(1))


@register("week_of_year")
def _week_of_year(lo: ScalarLowerer, node: ast.Call) -> Typed:
    (value,) = lo.args(node, 1)
    value = _datetime_arg(lo, node, value)
    return Typed(cast(_iso_week(lo, value.sql), "INT"), "int")


_DATETIME_PARTS = ("year", "quarter", "month", "day", "dayofyear", "hour", "minute", "second")
_SUBSECOND = {"millisecond": 1_000, "microsecond": 1, "nanosecond": 1}


@register("datetime_part")
def _datetime_part(lo: ScalarLowerer, node: ast.Call) -> Typed:
    """datetime_part(part, date): one part of a date as an int; week_of_year is the ISO week and
    millisecond/microsecond/nanosecond count within the second."""
    part, value = lo.args(node, 2)
    names = (*_DATETIME_PARTS, "week_of_year", *_SUBSECOND)
    unit = part.const.lower() if isinstance(part.const, str) else None
    if unit not in names:
        raise lo.error(node, f"datetime_part() takes a constant part: {', '.join(names)}")
    value = _datetime_arg(lo, node, value)
    flavor = lo.flavor
    if unit == "week_of_year":
        return Typed(cast(_iso_week(lo, value.sql), "INT"), "int")
    if unit in _SUBSECOND:
        us = flavor.epoch_us(value.sql)
        within = exp.Mod(
            this=exp.Paren(
                this=exp.Add(
                    this=exp.Paren(this=exp.Mod(this=us, expression=lit(US_PER_SECOND))), expression=lit(US_PER_SECOND)
                )
            ),
            expression=lit(US_PER_SECOND),
        )
        scaled: exp.Expr = flavor.int_div(within, lit(_SUBSECOND[unit]))
        if unit == "nanosecond":
            scaled = exp.Mul(this=scaled, expression=lit(1_000))
        return Typed(cast(scaled, "INT"), "int")
    return Typed(cast(flavor.date_part(unit, value.sql), "INT"), "int")


_DIFF_PARTS = ("year", "quarter", "month", "day", "hour", "minute", "second", "millisecond", "microsecond")


@register("datetime_diff")
def _datetime_diff(lo: ScalarLowerer, node: ast.Call) -> Typed:
    """datetime_diff(part, a, b): the ``part`` boundaries crossed from b to a (not the time elapsed);
    weeks start on Sunday, as startofweek() counts them."""
    part, a, b = lo.args(node, 3)
    unit = part.const.lower() if isinstance(part.const, str) else None
    names = (*_DIFF_PARTS, "week", "nanosecond")
    if unit not in names:
        raise lo.error(node, f"datetime_diff() takes a constant part: {', '.join(names)}")
    a, b = _datetime_arg(lo, node, a), _datetime_arg(lo, node, b)
    flavor = lo.flavor
    if unit == "week":

        def week(ts: exp.Expr) -> exp.Expr:
            return _floor_div(lo, exp.Add(this=flavor.epoch_us(ts), expression=lit(_THURSDAY_SHIFT)), _WEEK_US)

        return Typed(cast(exp.Sub(this=week(a.sql), expression=week(b.sql)), "BIGINT"), "long")
    if unit == "nanosecond":  # the engines keep microseconds: each is 1000 nanoseconds
        micros = exp.Sub(this=flavor.epoch_us(a.sql), expression=flavor.epoch_us(b.sql))
        return Typed(cast(exp.Mul(this=micros, expression=lit(1_000)), "BIGINT"), "long")
    return Typed(cast(flavor.date_diff(unit, b.sql, a.sql), "BIGINT"), "long")

"""datetime and timespan: literals, arithmetic, ago()/now() against a fixed now
(2024-05-15T12:00:00Z, a Wednesday), startof*/endof*, format_datetime, datetime_diff (counts the
period boundaries crossed by datetime1 - datetime2), datetime_add, dayofweek (a timespan,
Sunday = 0)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case


def p(expr: str) -> str:
    return f"print r = {expr}"


def r(value: Any) -> list[dict[str, Any]]:
    return [{"r": value}]


DIFF = [
    ("year", "datetime(2017-01-01)", "datetime(2000-12-31)", 17),
    ("quarter", "datetime(2017-07-01)", "datetime(2017-03-30)", 2),
    ("month", "datetime(2017-01-01)", "datetime(2015-12-30)", 13),
    ("week", "datetime(2017-10-29 00:00)", "datetime(2017-09-30 23:59)", 5),
    ("day", "datetime(2017-10-29 00:00)", "datetime(2017-09-30 23:59)", 29),
    ("hour", "datetime(2017-10-31 01:00)", "datetime(2017-10-30 23:59)", 2),
    ("minute", "datetime(2017-10-30 23:05:01)", "datetime(2017-10-30 23:00:59)", 5),
    ("second", "datetime(2017-10-30 23:00:10.100)", "datetime(2017-10-30 23:00:00.900)", 10),
    ("millisecond", "datetime(2017-10-30 23:00:00.200100)", "datetime(2017-10-30 23:00:00.100900)", 100),
]

CASES = [
    case(
        "datetime-literal", p("datetime(2024-02-29 13:45:10)"), r("2024-02-29T13:45:10Z"), columns=[("r", "datetime")]
    ),
    case("datetime-literal-date-only", p("datetime(2024-02-29)"), r("2024-02-29T00:00:00Z")),
    case("datetime-literal-iso-z", p("datetime(2024-02-29T13:45:10Z)"), r("2024-02-29T13:45:10Z")),
    case("datetime-literal-fraction", p("datetime(2024-01-01 00:00:00.5)"), r("2024-01-01T00:00:00.5Z")),
    case("timespan-1d", p("1d"), r("1.00:00:00"), columns=[("r", "timespan")]),
    case("timespan-2h", p("2h"), r("02:00:00")),
    case("timespan-30m", p("30m"), r("00:30:00")),
    case("timespan-10s", p("10s"), r("00:00:10")),
    case("timespan-100ms", p("100ms"), r("00:00:00.1000000")),
    case("timespan-fractional-hours", p("1.5h"), r("01:30:00")),
    case("timespan-time-literal", p("time(1.02:03:04)"), r("1.02:03:04")),
    case("timespan-negative", p("datetime(2024-01-01) - datetime(2024-01-02)"), r("-1.00:00:00")),
    case("datetime-plus-timespan", p("datetime(2024-01-31 20:00) + 1d"), r("2024-02-01T20:00:00Z")),
    case("datetime-minus-timespan", p("datetime(2024-03-01) - 1h"), r("2024-02-29T23:00:00Z")),
    case("datetime-minus-datetime", p("datetime(2024-01-02) - datetime(2024-01-01 12:00)"), r("12:00:00")),
    case("timespan-sum", p("1d + 2h"), r("1.02:00:00")),
    case("timespan-times-number", p("2h * 3"), r("06:00:00")),
    case("timespan-divided-by-timespan", p("1d / 1h"), r(24.0)),
    case("ago-with-fixed-now", p("ago(1d)"), r("2024-05-14T12:00:00Z")),
    case("ago-minutes", p("ago(30m)"), r("2024-05-15T11:30:00Z")),
    case("now-is-fixed", p("now()"), r("2024-05-15T12:00:00Z")),
    case("now-with-offset", p("now(-1h)"), r("2024-05-15T11:00:00Z")),
    case(
        "where-ago-filter",
        "datatable(t:datetime)[datetime(2024-05-15 11:00), datetime(2024-05-14 13:00), datetime(2024-05-14 11:00)]"
        " | where t > ago(1d)",
        [{"t": "2024-05-15T11:00:00Z"}, {"t": "2024-05-14T13:00:00Z"}],
    ),
    case("startofday", p("startofday(datetime(2024-05-15 13:45))"), r("2024-05-15T00:00:00Z")),
    case("startofday-offset", p("startofday(datetime(2024-05-15 13:45), -1)"), r("2024-05-14T00:00:00Z")),
    case("startofweek-is-sunday", p("startofweek(datetime(2024-05-15 13:45))"), r("2024-05-12T00:00:00Z")),
    case("startofweek-on-sunday", p("startofweek(datetime(2024-05-12 08:00))"), r("2024-05-12T00:00:00Z")),
    case("startofweek-on-saturday", p("startofweek(datetime(2024-05-18 23:00))"), r("2024-05-12T00:00:00Z")),
    case("startofmonth", p("startofmonth(datetime(2024-05-15 13:45))"), r("2024-05-01T00:00:00Z")),
    case("startofyear", p("startofyear(datetime(2024-05-15 13:45))"), r("2024-01-01T00:00:00Z")),
    case(
        "endofday-last-tick-of-day",
        "print d = endofday(datetime(2024-05-15 10:00))"
        " | project a = d > datetime(2024-05-15 23:59:59.999), b = d < datetime(2024-05-16)",
        [{"a": True, "b": True}],
    ),
    case(
        "endofmonth-leap-february",
        "print d = endofmonth(datetime(2024-02-10))"
        " | project a = d > datetime(2024-02-29 23:59:59), b = d < datetime(2024-03-01)",
        [{"a": True, "b": True}],
    ),
    case(
        "format_datetime-doc-two-digit-year",
        p("format_datetime(datetime(2017-01-29 09:00:05), 'yy-MM-dd [HH:mm:ss]')"),
        r("17-01-29 [09:00:05]"),
    ),
    case(
        "format_datetime-doc-single-digit-fields",
        p("format_datetime(datetime(2017-01-29 09:00:05), 'yyyy-M-dd [H:mm:ss]')"),
        r("2017-1-29 [9:00:05]"),
    ),
    case(
        "format_datetime-doc-12-hour-clock",
        p("format_datetime(datetime(2017-01-29 09:00:05), 'yy-MM-dd [hh:mm:ss tt]')"),
        r("17-01-29 [09:00:05 AM]"),
    ),
    case(
        "format_datetime-milliseconds",
        p('format_datetime(datetime(2024-01-02 15:04:05.678), "yyyy-MM-dd HH:mm:ss.fff")'),
        r("2024-01-02 15:04:05.678"),
    ),
    *[
        case(f"datetime_diff-{unit}-doc-example", p(f"datetime_diff('{unit}', {a}, {b})"), r(n))
        for unit, a, b, n in DIFF
    ],
    case(
        "datetime_diff-argument-order-negative",
        p("datetime_diff('day', datetime(2024-01-01), datetime(2024-01-03))"),
        r(-2),
    ),
    case("datetime_add-month", p("datetime_add('month', 1, datetime(2024-01-15))"), r("2024-02-15T00:00:00Z")),
    case("datetime_add-negative-day", p("datetime_add('day', -1, datetime(2024-03-01))"), r("2024-02-29T00:00:00Z")),
    case("datetime_add-hours", p("datetime_add('hour', 36, datetime(2024-01-01))"), r("2024-01-02T12:00:00Z")),
    case("datetime_add-year", p("datetime_add('year', 2, datetime(2024-05-15 10:00))"), r("2026-05-15T10:00:00Z")),
    case(
        "dayofweek-wednesday", p("dayofweek(datetime(2024-05-15 13:00))"), r("3.00:00:00"), columns=[("r", "timespan")]
    ),
    case("dayofweek-sunday-zero", p("dayofweek(datetime(2024-05-12))"), r("00:00:00")),
    case(
        "date-parts",
        "print t = datetime(2024-05-15 13:45:10)"
        " | project y = getyear(t), m = monthofyear(t), d = dayofmonth(t), h = hourofday(t), doy = dayofyear(t)",
        [{"y": 2024, "m": 5, "d": 15, "h": 13, "doy": 136}],
    ),
    case("datetime_part-minute", p("datetime_part('minute', datetime(2024-05-15 13:45:10))"), r(45)),
    case("unixtime_seconds_todatetime", p("unixtime_seconds_todatetime(1700000000)"), r("2023-11-14T22:13:20Z")),
    case(
        "datetime-comparison",
        "datatable(t:datetime)[datetime(2024-01-01), datetime(2024-06-01)] | where t < datetime(2024-03-01)",
        [{"t": "2024-01-01T00:00:00Z"}],
    ),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_datetime(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)

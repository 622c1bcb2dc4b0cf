"""make-series and the functions that came with it (array_sum, time zones, geo), on both engines."""

from __future__ import annotations

from typing import Any

import pytest

from ramparts.errors import KqlError
from ramparts.hunting import compile_kql
from tests.hunting.helpers import rows, srt

T = (
    "datatable(ts:datetime, k:string, n:long)["
    "datetime(2024-01-01 01:00), 'a', 1, datetime(2024-01-01 02:30), 'a', 2,"
    "datetime(2024-01-01 02:45), 'b', 5, datetime(2024-01-01 05:10), 'a', 4]"
)
HOURS = [f"2024-01-01T{h:02d}:00:00.000000Z" for h in range(6)]


def test_make_series_from_to_with_defaults_and_groups(duck: Any, ch: Any) -> None:
    kql = (
        T + " | make-series c = count(), s = sum(n) default = -1"
        " on ts from datetime(2024-01-01 00:00) to datetime(2024-01-01 04:00) step 1h by k"
    )
    assert rows(kql, duck, ch) == srt(
        [
            {"k": "a", "c": [0, 1, 1, 0], "s": [-1, 1, 2, -1], "ts": HOURS[:4]},
            {"k": "b", "c": [0, 0, 1, 0], "s": [-1, -1, 5, -1], "ts": HOURS[:4]},
        ]
    )


def test_make_series_without_bounds_spans_the_data_of_all_groups(duck: Any, ch: Any) -> None:
    assert rows(T + " | make-series count() on ts step 1h", duck, ch) == srt(
        [{"count_": [1, 2, 0, 0, 1], "ts": HOURS[1:]}]
    )
    assert rows(T + " | make-series count() on ts step 1h by k", duck, ch) == srt(
        [
            {"k": "a", "count_": [1, 1, 0, 0, 1], "ts": HOURS[1:]},
            {"k": "b", "count_": [0, 1, 0, 0, 0], "ts": HOURS[1:]},
        ]
    )


def test_make_series_in_range_aligns_bins_to_the_start(duck: Any, ch: Any) -> None:
    kql = T + " | make-series count() on ts in range(datetime(2024-01-01 00:30), datetime(2024-01-01 03:00), 1h)"
    assert rows(kql, duck, ch) == srt(
        [
            {
                "count_": [1, 0, 2],
                "ts": ["2024-01-01T00:30:00.000000Z", "2024-01-01T01:30:00.000000Z", "2024-01-01T02:30:00.000000Z"],
            }
        ]
    )


def test_make_series_then_mv_expand(duck: Any, ch: Any) -> None:
    kql = (
        T + " | make-series c = count() on ts from datetime(2024-01-01 01:00) to datetime(2024-01-01 03:00) step 1h"
        " | mv-expand c to typeof(long), ts to typeof(datetime)"
    )
    result = rows(kql, duck, ch)
    assert result == [
        {"c": 1, "ts": "2024-01-01T01:00:00Z"},
        {"c": 2, "ts": "2024-01-01T02:00:00Z"},
    ]


def test_make_series_of_empty_input_has_no_rows(duck: Any, ch: Any) -> None:
    assert rows(T + " | where n > 100 | make-series count() on ts step 1h", duck, ch) == []


@pytest.mark.parametrize(
    ("kql", "message"),
    [
        (T + " | make-series count() on k step 1h", "needs a datetime, timespan or integer axis"),
        (T + " | make-series count() on ts step 0h", "step must be positive"),
        (T + " | make-series make_set(k) on ts step 1h", "must be numeric"),
        (T + " | make-series c = count() on ts step 1h | extend x = series_fit_line(c)", "series_fit_line()"),
    ],
)
def test_make_series_errors(kql: str, message: str) -> None:
    with pytest.raises(KqlError) as info:
        compile_kql(kql, dialect="duckdb")
    assert message in info.value.reason


def test_array_sum(duck: Any, ch: Any) -> None:
    kql = (
        "print a = array_sum(dynamic([1, 2.5, 3])), b = array_sum(dynamic([1, 'x'])),"
        " c = array_sum(pack_array(1, 0, 1)), d = array_sum(dynamic([]))"
    )
    assert rows(kql, duck, ch) == [{"a": 6.5, "b": None, "c": 2.0, "d": 0.0}]


def test_datetime_local_to_utc_and_back(duck: Any, ch: Any) -> None:
    kql = (
        "print a = datetime_local_to_utc(datetime(2023-08-10 00:00), 'Europe/Madrid'),"
        " b = datetime_local_to_utc(datetime(2023-01-10 00:00), 'Europe/Madrid'),"
        " c = datetime_utc_to_local(datetime(2023-01-10 00:00), 'America/New_York')"
    )
    assert rows(kql, duck, ch) == srt(
        [{"a": "2023-08-09T22:00:00Z", "b": "2023-01-09T23:00:00Z", "c": "2023-01-09T19:00:00Z"}]
    )
    with pytest.raises(KqlError, match="unknown time zone 'Mars/Olympus'"):
        compile_kql("print datetime_local_to_utc(now(), 'Mars/Olympus')", dialect="duckdb")


def test_geo_info_without_a_geo_database_is_a_bag_of_nulls(duck: Any, ch: Any) -> None:
    kql = "print g = geo_info_from_ip_address('20.53.203.50') | extend c = tostring(g.country)"
    assert rows(kql, duck, ch) == srt(
        [{"g": {"country": None, "state": None, "city": None, "latitude": None, "longitude": None}, "c": ""}]
    )

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest

from ramparts.errors import InvalidInput, RateLimited
from ramparts.hunting_service import (
    SlidingWindowLimiter,
    format_timespan,
    graph_type,
    json_value,
    parse_duration,
    parse_timespan,
)

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P30D", dt.timedelta(days=30)),
        ("PT12H", dt.timedelta(hours=12)),
        ("P1DT6H30M", dt.timedelta(days=1, hours=6, minutes=30)),
        ("P2W", dt.timedelta(weeks=2)),
        ("PT0.5S", dt.timedelta(milliseconds=500)),
        ("p7d", dt.timedelta(days=7)),
    ],
)
def test_durations(text: str, expected: dt.timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P", "PT", "P1M", "P1Y", "30D", "P1DT", "P-1D"])
def test_durations_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(text)


def test_timespan_forms() -> None:
    assert parse_timespan(None, NOW) == (NOW - dt.timedelta(days=30), NOW)
    assert parse_timespan("", NOW) == (NOW - dt.timedelta(days=30), NOW)
    assert parse_timespan("P1D", NOW) == (NOW - dt.timedelta(days=1), NOW)
    start = dt.datetime(2026, 2, 1, 8, tzinfo=dt.UTC)
    end = dt.datetime(2026, 2, 15, 8, tzinfo=dt.UTC)
    assert parse_timespan("2026-02-01T08:00:00Z/2026-02-15T08:00:00Z", NOW) == (start, end)
    assert parse_timespan("P14D/2026-02-15T08:00:00Z", NOW) == (start, end)
    assert parse_timespan("2026-02-01T08:00:00Z/P14D", NOW) == (start, end)
    assert parse_timespan("2026-02-01T08:00:00Z", NOW) == (start, NOW)
    assert parse_timespan("2026-02-01T10:00:00+02:00", NOW) == (start, NOW)
    assert parse_timespan("2026-02-01T08:00:00", NOW) == (start, NOW)  # no zone: UTC


def test_graph_type_names() -> None:
    assert [graph_type(t) for t in ("datetime", "string", "long", "int", "bool", "real", "dynamic", "timespan")] == [
        "DateTime",
        "String",
        "Int64",
        "Int32",
        "Boolean",
        "Double",
        "Object",
        "TimeSpan",
    ]


def test_json_values() -> None:
    moment = dt.datetime(2024, 3, 26, 9, 39, 50, 768864, tzinfo=dt.UTC)
    assert json_value(moment) == "2024-03-26T09:39:50.768864Z"
    assert json_value(moment.astimezone(dt.timezone(dt.timedelta(hours=2)))) == "2024-03-26T09:39:50.768864Z"
    assert json_value(dt.timedelta(days=1, hours=2, minutes=3, seconds=4)) == "1.02:03:04"
    assert format_timespan(dt.timedelta(milliseconds=-1500)) == "-00:00:01.5000000"
    assert json_value(float("nan")) is None
    assert json_value(decimal.Decimal("1.5")) == 1.5
    ident = uuid.uuid4()
    assert json_value({"a": [ident, b"\x00\x01"]}) == {"a": [str(ident), "AAE="]}
    assert json_value(True) is True


def test_sliding_window() -> None:
    limiter = SlidingWindowLimiter(2)
    limiter.hit("t", NOW)
    limiter.hit("t", NOW + dt.timedelta(seconds=10))
    with pytest.raises(RateLimited) as caught:
        limiter.hit("t", NOW + dt.timedelta(seconds=30))
    assert caught.value.retry_after == 30
    limiter.hit("other", NOW + dt.timedelta(seconds=30))
    limiter.hit("t", NOW + dt.timedelta(seconds=60))  # the first call left the window
    with pytest.raises(RateLimited) as again:
        limiter.hit("t", NOW + dt.timedelta(seconds=60, microseconds=1))
    assert again.value.retry_after == 10

"""What the hunting routes and `ramparts hunt` share: timespans, Graph type names, JSON values,
the per-tenant rate limit, and running a query on the telemetry store in a worker thread."""

from __future__ import annotations

import base64
import collections
import datetime as dt
import decimal
import math
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ramparts.errors import InvalidInput, RateLimited
from ramparts.telemetry.duckdb_store import DuckDBStore
from ramparts.telemetry.store import TelemetryStore

if TYPE_CHECKING:
    from ramparts.hunting import QueryResult

DEFAULT_WINDOW = dt.timedelta(days=30)

GRAPH_TYPES: Mapping[str, str] = {
    "datetime": "DateTime",
    "string": "String",
    "long": "Int64",
    "int": "Int32",
    "bool": "Boolean",
    "boolean": "Boolean",
    "real": "Double",
    "double": "Double",
    "decimal": "Decimal",
    "dynamic": "Object",
    "timespan": "TimeSpan",
    "guid": "Guid",
}
"""KQL column types -> the type names Defender's hunting API reports in `schema`."""

Timespan = tuple[dt.datetime, dt.datetime]

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def graph_type(kql_type: str) -> str:
    return GRAPH_TYPES.get(kql_type.lower(), "String")


def parse_duration(text: str) -> dt.timedelta:
    """An ISO 8601 duration of weeks, days, hours, minutes and seconds (P30D, PT12H, P1DT6H)."""
    match = _DURATION.match(text.strip().upper())
    if match is None or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        raise InvalidInput(
            f"{text!r} is not an ISO 8601 duration of weeks, days, hours, minutes or seconds (e.g. P30D)",
            field="Timespan",
        )
    parts = {name: float(value) for name, value in match.groupdict().items() if value}
    return dt.timedelta(**parts)


def _parse_instant(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(f"{text!r} is neither an ISO 8601 date-time nor a duration", field="Timespan") from exc
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _is_duration(text: str) -> bool:
    return text.strip().upper().startswith("P")


def parse_timespan(text: str | None, now: dt.datetime) -> Timespan:
    """Graph's Timespan forms: none (last 30 days), P30D, start/end, P30D/end, start/P30D, start."""
    if text is None or not text.strip():
        return now - DEFAULT_WINDOW, now
    first, sep, second = text.strip().partition("/")
    if not sep:
        if _is_duration(first):
            return now - parse_duration(first), now
        return _parse_instant(first), now
    if _is_duration(first) and _is_duration(second):
        raise InvalidInput("a timespan needs at least one date-time when it has two parts", field="Timespan")
    if _is_duration(first):
        end = _parse_instant(second)
        start = end - parse_duration(first)
    elif _is_duration(second):
        start = _parse_instant(first)
        end = start + parse_duration(second)
    else:
        start, end = _parse_instant(first), _parse_instant(second)
    if end < start:
        raise InvalidInput("the timespan ends before it starts", field="Timespan")
    return start, end


def format_datetime(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


def format_timespan(value: dt.timedelta) -> str:
    """.NET/KQL timespan text: [-][d.]hh:mm:ss[.fffffff]."""
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    days = f"{value.days}." if value.days else ""
    fraction = f".{value.microseconds:06d}0" if value.microseconds else ""
    return f"{sign}{days}{hours:02d}:{minutes:02d}:{seconds:02d}{fraction}"


def json_value(value: Any) -> Any:
    """A result cell as JSON: date-times in UTC with Z, timespans as KQL text, NaN/inf as null."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return format_timespan(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(item) for item in value]
    return str(value)


def json_rows(result: QueryResult) -> list[dict[str, Any]]:
    """The result's rows as JSON objects (run_kql already gives JSON-ready values; this is a safety net
    for any engine value that is not, such as a NaN)."""
    return [{name: json_value(value) for name, value in row.items()} for row in result.rows]


class SlidingWindowLimiter:
    """At most `limit` calls per `window` per key, counted over the last `window` (not per minute slot)."""

    def __init__(
        self, limit: int, window: dt.timedelta = dt.timedelta(minutes=1), what: str = "hunting queries for this tenant"
    ) -> None:
        self.limit = limit
        self.window = window
        self.what = what
        """What is counted, for the error: "more than {limit} {what} in 60 s"."""
        self._calls: dict[str, collections.deque[dt.datetime]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def hit(self, key: str, now: dt.datetime) -> None:
        """Count a call, or raise RateLimited with the seconds until one is allowed again."""
        with self._lock:
            calls = self._calls[key]
            while calls and now - calls[0] >= self.window:
                calls.popleft()
            if len(calls) >= self.limit:
                wait = (calls[0] + self.window - now).total_seconds()
                raise RateLimited(
                    f"more than {self.limit} {self.what} in {self.window.total_seconds():g} s; retry later",
                    retry_after=max(1, math.ceil(wait)),
                )
            calls.append(now)


_SHARED_LOCK = threading.Lock()


def shared_limiter(
    extras: dict[str, object], name: str, make: Callable[[], SlidingWindowLimiter]
) -> SlidingWindowLimiter:
    """The one limiter called `name` of a Services (made on first use), shared by every request thread."""
    with _SHARED_LOCK:
        limiter = extras.get(name)
        if limiter is None:
            limiter = extras[name] = make()
    assert isinstance(limiter, SlidingWindowLimiter)
    return limiter


def run_on_store(
    store: TelemetryStore,
    text: str,
    *,
    now: dt.datetime,
    tenant_id: str | None,
    timespan: Timespan,
    row_cap: int,
    time_budget_s: float,
) -> QueryResult:
    """Compile and run a KQL query on the store with a cursor of its own (call it in a worker thread)."""
    from ramparts.hunting import duckdb_backend, run_kql  # the compiler, imported when first used

    if not isinstance(store, DuckDBStore):
        raise InvalidInput(f"hunting is not available on the {store.dialect} telemetry backend yet")
    cursor = store.cursor()
    try:
        return run_kql(
            text,
            backend=duckdb_backend(cursor),
            now=now,
            tenant_id=tenant_id,
            timespan=timespan,
            row_cap=row_cap,
            time_budget_s=time_budget_s,
        )
    finally:
        cursor.close()

"""Scalar functions about where and when: time zone conversion and IP geolocation."""

from __future__ import annotations

import zoneinfo
from typing import TYPE_CHECKING

from ramparts.hunting import ast
from ramparts.hunting.functions import register
from ramparts.hunting.types import Typed

if TYPE_CHECKING:
    from ramparts.hunting.lower_scalar import ScalarLowerer

# The fields of geo_info_from_ip_address()'s bag (Kusto documents these five).
GEO_FIELDS = ("country", "state", "city", "latitude", "longitude")


def _zone(lo: ScalarLowerer, node: ast.Call, value: Typed) -> str:
    if not isinstance(value.const, str):
        raise lo.error(node, f"{node.name}() needs a constant time zone name such as 'Europe/Madrid'")
    try:
        zoneinfo.ZoneInfo(value.const)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise lo.error(node, f"unknown time zone '{value.const}'") from None
    return value.const


@register("datetime_local_to_utc", "datetime_utc_to_local")
def _convert_zone(lo: ScalarLowerer, node: ast.Call) -> Typed:
    ts, zone_arg = lo.args(node, 2)
    zone = _zone(lo, node, zone_arg)
    if ts.type in ("string", "dynamic"):
        ts = lo.convert(ts, "datetime")
    if ts.type != "datetime":
        raise lo.error(node, f"{node.name}() needs a datetime, not {ts.type}")
    if node.name.lower() == "datetime_local_to_utc":
        return Typed(lo.flavor.local_to_utc(ts.sql, zone), "datetime")
    return Typed(lo.flavor.utc_to_local(ts.sql, zone), "datetime")


@register("geo_info_from_ip_address")
def _geo_info(lo: ScalarLowerer, node: ast.Call) -> Typed:
    """ramparts ships no GeoIP database: every address is one whose location is unknown, so each
    field of the bag is null (documented in docs/hunting.md)."""
    (ip,) = lo.args(node, 1)
    if ip.type not in ("string", "dynamic", "null"):
        raise lo.error(node, f"geo_info_from_ip_address() needs a string IP address, not {ip.type}")
    return lo.dynamic_const(dict.fromkeys(GEO_FIELDS))

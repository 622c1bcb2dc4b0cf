from __future__ import annotations

import pytest

from ramparts.telemetry.rows import _ip_columns, report_id


@pytest.mark.parametrize(
    ("peer", "expected"),
    [
        ("203.0.113.9", ("203.0.113.9", "")),
        ("2001:db8::1", ("", "2001:db8::1")),
        ("::ffff:198.51.100.7", ("198.51.100.7", "")),
        ("", ("", "")),
        ("not-an-ip", ("", "")),
    ],
)
def test_sender_ip_columns(peer: str, expected: tuple[str, str]) -> None:
    assert _ip_columns(peer) == expected


def test_report_ids_are_stable_numeric_strings() -> None:
    first = report_id("nmid", "ee", "0")
    assert first == report_id("nmid", "ee", "0")
    assert first != report_id("nmid", "ee", "1")
    assert first.isdigit() and int(first) < 2**63

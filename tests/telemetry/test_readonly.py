from __future__ import annotations

import pytest

from ramparts.errors import InvalidInput
from ramparts.telemetry.readonly import check_read_only


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT count(*) FROM "EmailEvents"',
        "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
        "SELECT 1 UNION ALL SELECT 2",
    ],
)
def test_queries_pass(sql: str) -> None:
    check_read_only(sql)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ('DELETE FROM "EmailEvents"', "read-only"),
        ('DROP TABLE "EmailEvents"', "read-only"),
        ("SELECT 1; SELECT 2", "exactly one"),
        ("SELECT * FROM read_csv('/etc/passwd')", "files"),
        ("ATTACH 'x.db'", "read-only"),
        ("SELEC 1 FROM", "syntax|read-only"),
    ],
)
def test_writes_and_file_access_are_refused(sql: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        check_read_only(sql)

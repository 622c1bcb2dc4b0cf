"""The SQL text itself, for a few shapes, with the validate() helper: one KQL in, each dialect out."""

from __future__ import annotations

from tests.hunting.helpers import validate


def test_where_on_a_scan_stays_one_select() -> None:
    """The filter joins the scan's WHERE, the scan is a SELECT * whose readers name the columns they use,
    and `has` of a constant term is a cheap ILIKE before the bounded regex. In a WHERE, a NULL string
    needs no COALESCE(x, '') where "" could not pass anyway (= 'ClickAllowed', ILIKE '%evil%')."""
    validate(
        "UrlClickEvents | where ActionType == 'ClickAllowed' and Url has 'evil' | project Url",
        duckdb=(
            'SELECT "Url" FROM (SELECT * FROM "UrlClickEvents" WHERE (("ActionType" = '
            "'ClickAllowed') AND ((\"Url\" ILIKE '%evil%') AND "
            "(REGEXP_MATCHES(\"Url\", '(?i)(^|[^[:alnum:]])evil($|[^[:alnum:]])'))))) AS _t1"
        ),
    )


def test_clickhouse_regex_and_settings() -> None:
    validate(
        "print x = 'a b' has 'b'",
        clickhouse=(
            "SELECT (('a b' ILIKE '%b%') AND (hasTokenCaseInsensitive('a b', 'b') OR "
            "(match('a b', '(?i)(^|[^[:alnum:]])b($|[^[:alnum:]])')))) AS \"x\" "
            "SETTINGS join_use_nulls = 1, prefer_column_name_to_alias = 1"
        ),
    )


def test_ago_is_folded_to_a_literal() -> None:
    validate(
        "print ago(1d)",
        duckdb="SELECT CAST('2024-05-14 12:00:00.000000+00' AS TIMESTAMPTZ) AS \"print_0\"",
        clickhouse=(
            "SELECT toDateTime64('2024-05-14 12:00:00.000000', 6, 'UTC') AS \"print_0\" "
            "SETTINGS join_use_nulls = 1, prefer_column_name_to_alias = 1"
        ),
    )


def test_a_bare_table_lists_its_columns() -> None:
    """A scan left outermost spells its columns out, in the schema's order (rows are read by position)."""
    validate(
        "EmailUrlInfo",
        duckdb=(
            'SELECT "Timestamp", "NetworkMessageId", "Url", "UrlDomain", "UrlLocation", "UrlChainId", '
            '"UrlChainPosition", "ReportId", "TenantId" FROM "EmailUrlInfo"'
        ),
    )

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
    """ClickHouse's `has` is one whole-token pass; the substring test and the regex run only for text
    with a byte >= 0x80, where hasToken's tokens differ from KQL's terms."""
    validate(
        "print x = 'a b' has 'b'",
        clickhouse=(
            "SELECT bitOr(hasTokenCaseInsensitive('a b', 'b'), (NOT isValidASCII('a b')) AND "
            "(('a b' ILIKE '%b%') AND (match('a b', '(?i)(^|[^[:alnum:]])b($|[^[:alnum:]])')))) AS \"x\" "
            "SETTINGS join_use_nulls = 1, prefer_column_name_to_alias = 1"
        ),
    )


def test_clickhouse_where_reads_null_strings_as_is() -> None:
    """In a WHERE, `has` and in~ over a list without "" read a NULL string as NULL (never TRUE) instead
    of through COALESCE(x, '')."""
    validate(
        "UrlClickEvents | where Url has 'evil' and ActionType in~ ('ClickAllowed', 'x') | project Url",
        clickhouse=(
            'SELECT "Url" FROM (SELECT * FROM "UrlClickEvents" WHERE (bitOr(hasTokenCaseInsensitive("Url", '
            '\'evil\'), (NOT isValidASCII("Url")) AND (("Url" ILIKE \'%evil%\') AND (match("Url", '
            "'(?i)(^|[^[:alnum:]])evil($|[^[:alnum:]])')))) AND LOWER(\"ActionType\") IN ('clickallowed', 'x'))) "
            "AS _t1 SETTINGS join_use_nulls = 1, prefer_column_name_to_alias = 1"
        ),
    )


def test_duckdb_bin_builds_the_timestamp_from_micros() -> None:
    validate(
        "UrlClickEvents | summarize n = count() by bin(Timestamp, 1h)",
        duckdb=(
            'SELECT MAKE_TIMESTAMPTZ(CAST((EPOCH_US("Timestamp") // 3600000000) * 3600000000 AS BIGINT)) AS '
            '"Timestamp", CAST(COUNT(*) AS BIGINT) AS "n" FROM (SELECT * FROM "UrlClickEvents") AS _t1 GROUP BY '
            'MAKE_TIMESTAMPTZ(CAST((EPOCH_US("Timestamp") // 3600000000) * 3600000000 AS BIGINT))'
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

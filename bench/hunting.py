"""Hunting benchmark: KQL compiled by ramparts vs hand-written SQL on the same DuckDB data.

    .venv/bin/python bench/hunting.py [--rows 1000000]

Generates EmailEvents (N rows), EmailUrlInfo (~1.5 N) and EmailAttachmentInfo (~0.5 N) inside
DuckDB, runs each query (best of 3) both ways, prints the ratio compiled/hand and the compile time,
and writes bench/results/hunting.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import duckdb

from bench.common import best_of, write_result
from ramparts.hunting import compile_kql, create_tables_sql

NOW = dt.datetime(2024, 5, 15, tzinfo=dt.UTC)

QUERIES: list[tuple[str, str, str]] = [
    (
        "has-summarize-top",
        'EmailEvents | where Timestamp > ago(7d) and ThreatTypes has "Phish" | summarize count() by SenderFromDomain'
        " | top 10 by count_",
        "SELECT SenderFromDomain, count(*) AS count_ FROM EmailEvents WHERE Timestamp > TIMESTAMPTZ '2024-05-08 00:00:00+00'"  # noqa: E501
        " AND regexp_matches(ThreatTypes, '(?i)(^|[^[:alnum:]])Phish($|[^[:alnum:]])') GROUP BY 1 ORDER BY 2 DESC LIMIT 10",  # noqa: E501
    ),
    (
        "contains-count",
        'EmailEvents | where Subject contains "invoice" | count',
        "SELECT count(*) FROM EmailEvents WHERE contains(lower(Subject), 'invoice')",
    ),
    (
        "in-list",
        'EmailEvents | where SenderFromDomain in ("d1.com", "d2.com", "d3.com") | summarize dcount(RecipientEmailAddress)',  # noqa: E501
        "SELECT count(DISTINCT RecipientEmailAddress) FROM EmailEvents WHERE SenderFromDomain IN ('d1.com','d2.com','d3.com')",  # noqa: E501
    ),
    (
        "bin-per-day",
        "EmailEvents | summarize count() by bin(Timestamp, 1d), EmailDirection",
        "SELECT time_bucket(INTERVAL 1 DAY, Timestamp) AS d, EmailDirection, count(*) FROM EmailEvents GROUP BY 1, 2",
    ),
    (
        "json-spf",
        "EmailEvents | extend a = parse_json(AuthenticationDetails) | summarize count() by tostring(a.SPF)",
        "SELECT json_extract_string(AuthenticationDetails, '$.SPF') AS s, count(*) FROM EmailEvents GROUP BY 1",
    ),
    (
        "join-inner",
        'EmailEvents | where ThreatTypes has "Phish" | join kind=inner (EmailUrlInfo) on NetworkMessageId'
        " | summarize dcount(Url) by UrlDomain",
        "SELECT u.UrlDomain, count(DISTINCT u.Url) FROM EmailEvents e JOIN EmailUrlInfo u USING (NetworkMessageId)"
        " WHERE regexp_matches(e.ThreatTypes, '(?i)(^|[^[:alnum:]])Phish($|[^[:alnum:]])') GROUP BY 1",
    ),
    (
        "join-innerunique",
        "EmailUrlInfo | join (EmailEvents | project NetworkMessageId, Subject) on NetworkMessageId | count",
        "SELECT count(*) FROM (SELECT DISTINCT ON (NetworkMessageId) * FROM EmailUrlInfo) u"
        " JOIN EmailEvents e USING (NetworkMessageId)",
    ),
    (
        "leftanti",
        "EmailEvents | join kind=leftanti EmailAttachmentInfo on NetworkMessageId | count",
        "SELECT count(*) FROM EmailEvents e ANTI JOIN EmailAttachmentInfo a USING (NetworkMessageId)",
    ),
    (
        "arg-max",
        "EmailEvents | summarize arg_max(Timestamp, Subject) by SenderFromDomain",
        "SELECT SenderFromDomain, max(Timestamp), arg_max(Subject, Timestamp) FROM EmailEvents GROUP BY 1",
    ),
    (
        "make-set",
        "EmailAttachmentInfo | summarize make_set(FileType) by SenderFromAddress | count",
        "SELECT count(*) FROM (SELECT SenderFromAddress, list(DISTINCT FileType) FROM EmailAttachmentInfo GROUP BY 1)",
    ),
    (
        "has-any",
        'EmailEvents | where Subject has_any ("invoice", "password", "gift") | summarize count() by EmailDirection',
        "SELECT EmailDirection, count(*) FROM EmailEvents WHERE"
        " regexp_matches(Subject, '(?i)(^|[^[:alnum:]])(invoice|password|gift)($|[^[:alnum:]])') GROUP BY 1",
    ),
    (
        "mv-expand",
        "EmailEvents | take 100000 | extend d = parse_json(DetectionMethods) | mv-expand d | count",
        "SELECT count(*) FROM (SELECT unnest(json_keys(DetectionMethods::JSON)) FROM (SELECT * FROM EmailEvents LIMIT 100000))",  # noqa: E501
    ),
]


def generate(conn: duckdb.DuckDBPyConnection, rows: int) -> None:
    conn.execute("SET TimeZone = 'UTC'")
    for statement in create_tables_sql("duckdb"):
        conn.execute(statement)
    conn.execute(
        f"""INSERT INTO EmailEvents (Timestamp, NetworkMessageId, SenderFromAddress, SenderFromDomain,
        RecipientEmailAddress, Subject, EmailDirection, ThreatTypes, DetectionMethods, AuthenticationDetails,
        AttachmentCount, UrlCount, TenantId)
        SELECT TIMESTAMPTZ '2024-05-15 00:00:00+00' - to_seconds(i * 37 % (30 * 86400)),
               'm' || i, 'u' || (i % 5000) || '@d' || (i % 300) || '.com', 'd' || (i % 300) || '.com',
               'r' || (i % 2000) || '@contoso.com',
               ['Invoice ' || i, 'Your password', 'Free gift card', 'Quarterly report', 'Meeting'][1 + i % 5],
               ['Inbound', 'Outbound', 'Intra-org'][1 + i % 3],
               ['', '', 'Phish', 'Spam', 'Malware', 'Phishing'][1 + i % 6],
               ['{{}}', '{{}}', '{{"Phish":["URL detonation"]}}', '{{"Spam":["Bulk"]}}',
                '{{"Malware":["File detonation"]}}',
                '{{"Phish":["Impersonation domain"]}}'][1 + i % 6],
               '{{"SPF":"' || ['pass', 'fail', 'none'][1 + i % 3] || '","DKIM":"pass","DMARC":"pass"}}',
               i % 2, 1 + i % 3, 't1'
        FROM range({rows}) t(i)"""
    )
    conn.execute(
        f"""INSERT INTO EmailUrlInfo (Timestamp, NetworkMessageId, Url, UrlDomain, TenantId)
        SELECT TIMESTAMPTZ '2024-05-15 00:00:00+00', 'm' || (i * 2 // 3), 'https://x' || (i % 9000) || '.com/p',
               'x' || (i % 9000) || '.com', 't1' FROM range({rows * 3 // 2}) t(i)"""
    )
    conn.execute(
        f"""INSERT INTO EmailAttachmentInfo (Timestamp, NetworkMessageId, SenderFromAddress, FileType, TenantId)
        SELECT TIMESTAMPTZ '2024-05-15 00:00:00+00', 'm' || (i * 2), 'u' || (i % 5000) || '@d.com',
               ['pdf', 'exe', 'docx', 'zip'][1 + i % 4], 't1' FROM range({rows // 2}) t(i)"""
    )


def best(conn: duckdb.DuckDBPyConnection, sql: str, repeat: int = 3) -> float:
    return best_of(repeat, lambda: conn.execute(sql).fetchall())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    conn = duckdb.connect()
    start = time.perf_counter()
    generate(conn, args.rows)
    print(f"generated {args.rows:,} EmailEvents rows in {time.perf_counter() - start:.1f} s")
    results = []
    for name, kql, hand in QUERIES:
        start = time.perf_counter()
        compiled = compile_kql(kql, dialect="duckdb", now=NOW)
        compile_s = time.perf_counter() - start
        compiled_s = best(conn, compiled.sql)
        hand_s = best(conn, hand)
        ratio = compiled_s / hand_s if hand_s else float("nan")
        results.append(
            {"query": name, "compiled_s": compiled_s, "hand_s": hand_s, "ratio": ratio, "compile_ms": compile_s * 1000}
        )
        print(
            f"{name:18} compiled {compiled_s:7.3f} s  hand {hand_s:7.3f} s  ratio {ratio:5.2f}  compile {compile_s * 1000:6.1f} ms"  # noqa: E501
        )
    out = write_result("hunting", {"rows": args.rows, "engine": "duckdb", "results": results})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

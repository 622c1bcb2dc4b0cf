"""The shortcuts that keep compile time low (shared parsed types and dialects, one-pass tree walks)
must not carry state from one compilation into the next."""

from __future__ import annotations

from sqlglot import exp

from ramparts.hunting import compile_kql
from ramparts.hunting.dialects import cast
from ramparts.hunting.flavor_duckdb import DuckDBFlavor
from ramparts.hunting.render import to_sql
from tests.hunting.synthetic import NOW


def test_cast_gives_each_tree_its_own_type_node() -> None:
    first, second = cast(exp.column("a"), "Nullable(Int64)"), cast(exp.column("b"), "Nullable(Int64)")
    assert first.args["to"] is not second.args["to"]
    assert first.args["to"].parent is first
    first.args["to"].set("nullable", False)
    assert second.args["to"].args["nullable"] is True


def test_each_dialect_renders_its_own_sql_when_alternating() -> None:
    for _ in range(2):
        duck = compile_kql("EmailEvents | count", dialect="duckdb", now=NOW).sql
        clickhouse = compile_kql("EmailEvents | count", dialect="clickhouse", now=NOW).sql
        assert "AS BIGINT" in duck and "SETTINGS" not in duck
        assert "AS Nullable(Int64)" in clickhouse and clickhouse.endswith("prefer_column_name_to_alias = 1")


def test_operands_wrapped_in_parentheses_are_walked_too() -> None:
    def sub(a: exp.Expr, b: exp.Expr) -> exp.Sub:
        return exp.Sub(this=a, expression=b)

    nested = sub(exp.column("a"), sub(exp.column("b"), sub(exp.column("c"), exp.column("d"))))
    assert to_sql(exp.select(nested), DuckDBFlavor()) == "SELECT a - (b - (c - d))"

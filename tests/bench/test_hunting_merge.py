"""bench/hunting.py keeps what earlier runs measured: a partial run (--only) replaces only its queries."""

from __future__ import annotations

from typing import Any

from bench.hunting import merge_runs


def _run(engine: str, rows: int, ratios: dict[str, float], partial: bool = False) -> dict[str, Any]:
    queries = [{"query": name, "ratio": ratio} for name, ratio in ratios.items()]
    return {"engine": engine, "rows": rows, "partial": partial, "queries": queries}


def _ratios(run: dict[str, Any]) -> dict[str, float]:
    return {q["query"]: q["ratio"] for q in run["queries"]}


def test_partial_run_replaces_only_the_queries_it_measured() -> None:
    stored = [_run("chdb", 1000, {"a": 1.0, "b": 1.5, "c": 0.9}), _run("duckdb", 1000, {"a": 1.1})]
    merged = merge_runs(stored, [_run("chdb", 1000, {"b": 1.1}, partial=True)])
    chdb = next(r for r in merged if r["engine"] == "chdb")
    assert _ratios(chdb) == {"a": 1.0, "b": 1.1, "c": 0.9}
    assert chdb["partial"] is False
    assert _ratios(next(r for r in merged if r["engine"] == "duckdb")) == {"a": 1.1}


def test_full_run_replaces_the_stored_run_and_new_sizes_are_added() -> None:
    stored = [_run("chdb", 1000, {"a": 1.0, "b": 1.5})]
    merged = merge_runs(stored, [_run("chdb", 1000, {"a": 0.8}), _run("chdb", 10_000, {"a": 0.9}, partial=True)])
    assert [(r["rows"], _ratios(r)) for r in merged] == [(1000, {"a": 0.8}), (10_000, {"a": 0.9})]
    assert merged[1]["partial"] is True

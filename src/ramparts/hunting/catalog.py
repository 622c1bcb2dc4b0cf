"""What the compiler supports, read from its own tables: docs/hunting.md lists every name here
(tests/hunting/test_docs.py checks it), so the documentation cannot fall behind the code."""

from __future__ import annotations

from ramparts.hunting.aggregates import AGGREGATES
from ramparts.hunting.functions import FUNCTIONS, REFUSED_FUNCTIONS
from ramparts.hunting.parse_expr import COMPARE_OPS, LIST_OPS, STRING_OPS
from ramparts.hunting.parser import Parser
from ramparts.hunting.plugins import PLUGINS

# Tabular sources that are not `| operator`s.
SOURCES = ("datatable", "print", "range", "union", "let", "materialize", "toscalar", "view")


def supported_operators() -> list[str]:
    """Every tabular operator name the parser accepts after `|` and the lowering compiles."""
    return sorted(Parser("").operators)


def supported_scalar_operators() -> list[str]:
    """Every scalar operator: comparisons, string and list operators (with their `!` negations)."""
    negatable = {op for op in STRING_OPS if not op.startswith("not") and "like" not in op}
    names = set(STRING_OPS) | {"!" + op for op in negatable} | LIST_OPS | COMPARE_OPS
    return sorted(names | {"between", "!between", "matches regex", "and", "or", "+", "-", "*", "/", "%"})


def supported_sources() -> list[str]:
    return sorted(SOURCES)


def supported_functions() -> list[str]:
    """Every scalar function name (aliases included)."""
    return sorted(FUNCTIONS)


def supported_aggregates() -> list[str]:
    """Every aggregation function of summarize (and make-series, for the numeric ones)."""
    return sorted(AGGREGATES)


def supported_plugins() -> list[str]:
    """Every plugin of `evaluate`."""
    return sorted(PLUGINS)


def refused_functions() -> list[str]:
    """Kusto functions that are refused with an explanation rather than reported as unknown."""
    return sorted(REFUSED_FUNCTIONS)

"""let statements: scalar, tabular, user-defined functions (lambdas) with scalar and tabular
parameters and default values, zero-argument functions called with or without (), materialize,
toscalar, invoke."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

T = 'datatable(n:long, s:string)[1, "a", 2, "b", 3, "c"]'

CASES = [
    case("let-scalar", f"let threshold = 1;\n{T} | where n > threshold | project n", [{"n": 2}, {"n": 3}]),
    case(
        "let-string-with-has",
        'let kw = "phish";\ndatatable(s:string)["Phish alert", "phishing"] | where s has kw',
        [{"s": "Phish alert"}],
    ),
    case("let-datetime", "let start = datetime(2024-01-01);\nprint r = start + 1d", [{"r": "2024-01-02T00:00:00Z"}]),
    case("let-ago-uses-fixed-now", "let since = ago(1h);\nprint r = since", [{"r": "2024-05-15T11:00:00Z"}]),
    case(
        "let-dynamic-list-with-in",
        f'let wanted = dynamic(["a", "c"]);\n{T} | where s in (wanted) | project n',
        [{"n": 1}, {"n": 3}],
    ),
    case("let-tabular", f"let Src = {T};\nSrc | where n >= 2 | count", [{"Count": 2}]),
    case(
        "let-chained",
        f"let Src = {T};\nlet Big = Src | where n > 1;\nBig | summarize total = sum(n)",
        [{"total": 5}],
    ),
    case(
        "let-tabular-in-subquery",
        f'let Src = {T};\nlet Keep = datatable(s:string)["b", "c"];\nSrc | where s in (Keep) | project n',
        [{"n": 2}, {"n": 3}],
    ),
    case("let-function-scalar-params", "let add = (a:long, b:long) { a + b };\nprint r = add(2, 3)", [{"r": 5}]),
    case(
        "let-function-default-param",
        "let f = (a:long, b:long = 10) { a * b };\nprint x = f(2), y = f(2, 3)",
        [{"x": 20, "y": 6}],
    ),
    case(
        "let-function-used-per-row",
        f'let label = (v:long) {{ strcat("n", tostring(v)) }};\n{T} | project r = label(n)',
        [{"r": "n1"}, {"r": "n2"}, {"r": "n3"}],
    ),
    case(
        "let-function-tabular-param",
        "let big = (T:(n:long), lim:long) { T | where n > lim };\nbig(datatable(n:long)[1, 5, 9], 4)",
        [{"n": 5}, {"n": 9}],
    ),
    case(
        "let-zero-arg-function-with-parens",
        "let Src = () { datatable(n:long)[1, 2] };\nSrc() | count",
        [{"Count": 2}],
    ),
    case(
        "let-zero-arg-function-without-parens",
        "let Src = () { datatable(n:long)[1, 2] };\nSrc | count",
        [{"Count": 2}],
    ),
    case(
        "let-function-calls-function",
        "let sq = (x:long) { x * x };\nlet sumsq = (a:long, b:long) { sq(a) + sq(b) };\nprint r = sumsq(3, 4)",
        [{"r": 25}],
    ),
    case(
        "materialize",
        f"let M = materialize({T} | where n > 1);\nM | summarize total = sum(n)",
        [{"total": 5}],
    ),
    case("materialize-used-twice", f"let M = materialize({T} | where n > 1);\nunion M, M | count", [{"Count": 4}]),
    case(
        "toscalar",
        "let mx = toscalar(datatable(n:long)[4, 9, 2] | summarize max(n));\nprint r = mx",
        [{"r": 9}],
    ),
    case(
        "toscalar-in-where",
        f"let avgN = toscalar({T} | summarize avg(n));\n{T} | where n > avgN | project n",
        [{"n": 3}],
    ),
    case(
        "invoke",
        "let addone = (T:(n:long)) { T | extend m = n + 1 };\ndatatable(n:long)[1, 2] | invoke addone()",
        [{"n": 1, "m": 2}, {"n": 2, "m": 3}],
    ),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_let(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)

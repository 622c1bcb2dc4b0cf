from __future__ import annotations

import pytest

from ramparts.errors import KqlError
from ramparts.hunting import ast
from ramparts.hunting.lexer import tokenize
from ramparts.hunting.parser import parse


def _last(text: str) -> ast.Tabular:
    script = parse(text)
    statement = script.statements[-1]
    assert isinstance(statement, ast.ExprStatement)
    assert isinstance(statement.value, ast.Tabular)
    return statement.value


def test_tokens_carry_line_and_column() -> None:
    tokens = tokenize("EmailEvents\n| where  Subject has 'x' // comment\n| take 1d")
    where = next(t for t in tokens if t.value == "where")
    assert (where.line, where.column) == (2, 3)
    span = next(t for t in tokens if t.kind == "timespan")
    assert span.number == 86_400
    assert all(t.value != "comment" for t in tokens)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1d", 86_400), ("2h", 7_200), ("30m", 1_800), ("10s", 10), ("100ms", 0.1), ("4hrs", 14_400), ("1.5h", 5_400)],
)
def test_timespan_literals(text: str, seconds: float) -> None:
    (token, _) = tokenize(text)
    assert token.kind == "timespan"
    assert token.number == pytest.approx(seconds)


def test_strings_verbatim_and_escapes() -> None:
    values = [t.value for t in tokenize(r"""'a\'b' "c\"d" @'e\f' @"g""h" h'hidden'""") if t.kind == "string"]
    assert values == ["a'b", 'c"d', "e\\f", 'g"h', "hidden"]


def test_negated_and_hyphenated_operators() -> None:
    values = [t.value for t in tokenize("T | project-away A | where B !has 'x' and C !in~ ('y') | mv-expand D")]
    assert "project-away" in values
    assert "!has" in values
    assert "!in~" in values
    assert "mv-expand" in values


def test_pipeline_and_lets() -> None:
    script = parse("let n = 5;\nlet T = EmailEvents | take n;\nT | where A == 1 | summarize count() by B")
    assert isinstance(script.statements[0], ast.Let)
    tab = _last("let n = 5;\nT | where A == 1 | summarize c = count() by B, bin(Timestamp, 1d)")
    assert [op.name for op in tab.ops] == ["where", "summarize"]
    summarize = tab.ops[1]
    assert isinstance(summarize, ast.Summarize)
    assert summarize.aggs[0].names == ["c"]
    assert len(summarize.by) == 2


def test_join_forms() -> None:
    tab = _last("A | join kind=leftouter (B | where x) on $left.K == $right.L, M")
    join = tab.ops[0]
    assert isinstance(join, ast.Join)
    assert join.kind == "leftouter"
    assert len(join.on) == 2
    bare = _last("A | join B on K").ops[0]
    assert isinstance(bare, ast.Join)
    assert bare.kind == "innerunique"


def test_functions_and_tuple_assignments() -> None:
    script = parse(
        "let f = (a:string, T:(x:long)) { T | where x > 0 };\nE | summarize (t, r) = arg_max(Timestamp, ReportId) by K"
    )
    let = script.statements[0]
    assert isinstance(let, ast.Let)
    assert isinstance(let.value, ast.LetFunction)
    assert [p.type for p in let.value.params] == ["string", "table"]
    tab = _last("E | summarize (t, r) = arg_max(Timestamp, ReportId) by K")
    summarize = tab.ops[0]
    assert isinstance(summarize, ast.Summarize)
    assert summarize.aggs[0].names == ["t", "r"]


def test_literals() -> None:
    tab = _last("print a = datetime(2024-01-02 03:04:05), b = time(1.02:00:00), c = dynamic(['x', {'k': [1]}])")
    source = tab.source
    assert isinstance(source, ast.Print)
    a, b, c = (item.expr for item in source.items)
    assert isinstance(a, ast.Literal) and str(a.value) == "2024-01-02 03:04:05+00:00"
    assert isinstance(b, ast.Literal) and b.value == 93_600
    assert isinstance(c, ast.DynamicLit) and c.value == ["x", {"k": [1]}]


def test_syntax_error_has_position() -> None:
    with pytest.raises(KqlError) as info:
        parse("EmailEvents\n| where Subject ==\n| take 5")
    assert (info.value.line, info.value.column) == (3, 1)
    assert info.value.snippet == "| take 5"


def test_unknown_operator_is_named() -> None:
    with pytest.raises(KqlError, match="unknown tabular operator 'frobnicate'") as info:
        parse("EmailEvents | frobnicate")
    assert (info.value.line, info.value.column) == (1, 15)


def test_unterminated_string() -> None:
    with pytest.raises(KqlError, match="unterminated string"):
        parse("EmailEvents | where Subject == 'abc")

"""Our parser agrees with Microsoft's (Kusto.Language via npm, run under Node) on what is valid KQL.

Install once: `npm ci --prefix tests/hunting/oracle` (scripts/test.sh does). Without it the test fails and
says so: the project runs no skipped tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ramparts.errors import KqlError
from ramparts.hunting.parser import parse
from tests.hunting.test_semantics import JOIN_LEFT, JOIN_RIGHT, T

ORACLE = Path(__file__).with_name("oracle")
PACKAGE = ORACLE / "node_modules" / "@kusto" / "language-service-next"

VALID = [
    T + " | mv-expand x = d.a to typeof(long) | project n, x",
    f"{JOIN_LEFT} | join kind=rightsemi ({JOIN_RIGHT}) on $left.k == $right.k",
    "let f = (T:(v:long), floor:long = 1) { T | where v > floor };\ndatatable(v:long)[1,2,3] | invoke f()",
    "EmailEvents | summarize (t, r) = arg_max(Timestamp, ReportId) by bin(Timestamp, 1h) | render timechart",
    "EmailEvents | where Subject !has 'x' and SenderFromDomain !in~ ('a') | top 5 by Timestamp desc nulls last",
    "print a = datetime(2024-01-02 03:04:05), b = time(1.02:00:00), c = dynamic(['x', {'k': [1]}]), d = 4hrs",
    'datatable(line:string)["a"] | parse kind=regex line with @"[a-z]+-" num:long "-" tail',
    "union withsource=Src EmailEvents, (EmailUrlInfo | where Url has 'x') | project-reorder Src",
    "EmailEvents | lookup kind=leftouter (EmailUrlInfo | project NetworkMessageId, Url) on NetworkMessageId",
    "EmailEvents | extend s = split(SenderFromAddress, '@')[1] | where s matches regex @'^[a-z]+$'",
    "EmailEvents | make-series c = count() default = 0, q = countif(Subject has 'x') on Timestamp"
    " from ago(7d) to now() step 1h by SenderFromDomain",
    "EmailEvents | make-series count() on Timestamp in range(ago(2d), now(), 1h)",
    "EmailEvents | project d = parse_json(AuthenticationDetails) | evaluate bag_unpack(d, 'x_') : (x_SPF:string)",
    "EmailEvents | project RecipientEmailAddress, ThreatTypes | evaluate pivot(ThreatTypes)",
]
INVALID = [
    "EmailEvents | where",
    "EmailEvents | where Subject has",
    "EmailEvents | summarize count( by X",
    "EmailEvents | join kind=inner (EmailUrlInfo) NetworkMessageId",
    "let x = ; x",
    "EmailEvents | take 5 6",
]


def _require_oracle() -> None:
    if shutil.which("node") is None:
        pytest.fail("Node.js is not installed: the KQL syntax oracle runs Kusto.Language under node", pytrace=False)
    if not PACKAGE.is_dir():
        pytest.fail(
            f"the Kusto.Language npm package is not installed in {ORACLE}: run `npm ci --prefix tests/hunting/oracle`"
            " (scripts/test.sh does)",
            pytrace=False,
        )


def _oracle(queries: list[str]) -> list[list[str]]:
    _require_oracle()
    result = subprocess.run(
        ["node", "oracle.js"],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        cwd=ORACLE,
        check=True,
        timeout=120,
    )
    out: list[list[str]] = json.loads(result.stdout)
    return out


def _ours(text: str) -> bool:
    try:
        parse(text)
    except KqlError:
        return False
    return True


def test_parser_agrees_with_kusto_language() -> None:
    verdicts = _oracle(VALID + INVALID)
    assert len(verdicts) == len(VALID + INVALID)
    for text, diagnostics in zip(VALID + INVALID, verdicts, strict=True):
        assert (diagnostics == []) == _ours(text), (text, diagnostics)
    assert all(d == [] for d in verdicts[: len(VALID)])

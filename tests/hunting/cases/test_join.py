"""join: the default flavor is innerunique (left rows are de-duplicated on the key before the
match); every flavor's rows and columns; $left/$right; right-side name clashes get the suffix 1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

# Left has key 1 twice (identical rows, so which one innerunique keeps doesn't matter), right has
# key 1 twice; key 3 is only on the left, key 4 only on the right.
LR = (
    'let L = datatable(k:long, a:string)[1, "l1", 1, "l1", 2, "l2", 3, "l3"];\n'
    'let R = datatable(k:long, b:string)[1, "r1a", 1, "r1b", 2, "r2", 4, "r4"];\n'
)


def row(k: int | None, a: str, k1: int | None, b: str) -> dict[str, Any]:
    return {"k": k, "a": a, "k1": k1, "b": b}


CASES = [
    case(
        "join-default-is-innerunique-dedups-left",
        LR + "L | join R on k",
        [row(1, "l1", 1, "r1a"), row(1, "l1", 1, "r1b"), row(2, "l2", 2, "r2")],
        columns=[("k", "long"), ("a", "string"), ("k1", "long"), ("b", "string")],
    ),
    case(
        "join-innerunique-explicit",
        LR + "L | join kind=innerunique R on k",
        [row(1, "l1", 1, "r1a"), row(1, "l1", 1, "r1b"), row(2, "l2", 2, "r2")],
    ),
    case(
        "join-innerunique-doc-example-count",
        'let t1 = datatable(key:long, value:string)[1, "val1.1", 1, "val1.2"];\n'
        'let t2 = datatable(key:long, value:string)[1, "val1.3", 1, "val1.4"];\n'
        "t1 | join kind=innerunique t2 on key | project value1",
        [{"value1": "val1.3"}, {"value1": "val1.4"}],
    ),
    case(
        "join-inner-keeps-every-pair",
        LR + "L | join kind=inner R on k",
        [
            row(1, "l1", 1, "r1a"),
            row(1, "l1", 1, "r1b"),
            row(1, "l1", 1, "r1a"),
            row(1, "l1", 1, "r1b"),
            row(2, "l2", 2, "r2"),
        ],
    ),
    case(
        "join-leftouter-unmatched-left-gets-nulls",
        LR + "L | join kind=leftouter R on k",
        [
            row(1, "l1", 1, "r1a"),
            row(1, "l1", 1, "r1b"),
            row(1, "l1", 1, "r1a"),
            row(1, "l1", 1, "r1b"),
            row(2, "l2", 2, "r2"),
            row(3, "l3", None, ""),
        ],
        columns=["k", "a", "k1", "b"],
    ),
    case(
        "join-rightouter-unmatched-right-gets-nulls",
        LR + "L | join kind=rightouter R on k",
        [
            row(1, "l1", 1, "r1a"),
            row(1, "l1", 1, "r1b"),
            row(1, "l1", 1, "r1a"),
            row(1, "l1", 1, "r1b"),
            row(2, "l2", 2, "r2"),
            row(None, "", 4, "r4"),
        ],
    ),
    case(
        "join-fullouter-both-unmatched",
        LR + "L | join kind=fullouter R on k",
        [
            row(1, "l1", 1, "r1a"),
            row(1, "l1", 1, "r1b"),
            row(1, "l1", 1, "r1a"),
            row(1, "l1", 1, "r1b"),
            row(2, "l2", 2, "r2"),
            row(3, "l3", None, ""),
            row(None, "", 4, "r4"),
        ],
    ),
    case(
        "join-leftanti-left-without-match",
        LR + "L | join kind=leftanti R on k",
        [{"k": 3, "a": "l3"}],
        columns=["k", "a"],
    ),
    case(
        "join-rightanti-right-without-match",
        LR + "L | join kind=rightanti R on k",
        [{"k": 4, "b": "r4"}],
        columns=["k", "b"],
    ),
    case(
        "join-leftsemi-left-rows-once-each",
        LR + "L | join kind=leftsemi R on k",
        [{"k": 1, "a": "l1"}, {"k": 1, "a": "l1"}, {"k": 2, "a": "l2"}],
        columns=["k", "a"],
    ),
    case(
        "join-rightsemi-right-rows-once-each",
        LR + "L | join kind=rightsemi R on k",
        [{"k": 1, "b": "r1a"}, {"k": 1, "b": "r1b"}, {"k": 2, "b": "r2"}],
        columns=["k", "b"],
    ),
    case(
        "join-left-right-different-names",
        'let U = datatable(Uid:long, Name:string)[1, "ann", 2, "bob"];\n'
        'let M = datatable(Owner:long, Subject:string)[2, "hi", 2, "re: hi", 3, "x"];\n'
        "U | join kind=inner M on $left.Uid == $right.Owner",
        [
            {"Uid": 2, "Name": "bob", "Owner": 2, "Subject": "hi"},
            {"Uid": 2, "Name": "bob", "Owner": 2, "Subject": "re: hi"},
        ],
        columns=["Uid", "Name", "Owner", "Subject"],
    ),
    case(
        "join-clashing-columns-suffix-1",
        'let A = datatable(Id:long, Ts:long, Who:string)[1, 10, "x"];\n'
        'let B = datatable(Id:long, Ts:long, Url:string)[1, 20, "u"];\n'
        "A | join kind=inner B on Id",
        [{"Id": 1, "Ts": 10, "Who": "x", "Id1": 1, "Ts1": 20, "Url": "u"}],
        columns=["Id", "Ts", "Who", "Id1", "Ts1", "Url"],
    ),
    case(
        "join-suffixed-column-usable-downstream",
        "let A = datatable(Id:long, Ts:long)[1, 10, 2, 50];\n"
        "let B = datatable(Id:long, Ts:long)[1, 20, 2, 40];\n"
        "A | join kind=inner B on Id | where Ts1 > Ts | project Id",
        [{"Id": 1}],
    ),
    case(
        "join-on-two-keys",
        'let A = datatable(k:long, c:string, t:long)[1, "x", 1, 1, "y", 2];\n'
        'let B = datatable(k:long, c:string, u:long)[1, "x", 10, 1, "z", 20];\n'
        "A | join kind=inner B on k, c | project t, u",
        [{"t": 1, "u": 10}],
    ),
    case(
        "join-right-side-subquery",
        LR + 'L | join kind=inner (R | where b != "r1a") on k | project a, b',
        [{"a": "l1", "b": "r1b"}, {"a": "l1", "b": "r1b"}, {"a": "l2", "b": "r2"}],
    ),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_join(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)

"""parse: pulls typed columns out of a string by its constant delimiters; a string that does not
match gives null (empty for string columns); parse-where drops it instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case

P = 'datatable(s:string)["user=alice id=42 role=admin", "user=bob id=7 role=guest", "garbage"]'

CASES = [
    case(
        "parse-simple-typed-columns",
        P + ' | parse s with "user=" user " id=" id:long " role=" role | project user, id, role',
        [
            {"user": "alice", "id": 42, "role": "admin"},
            {"user": "bob", "id": 7, "role": "guest"},
            {"user": "", "id": None, "role": ""},
        ],
        columns=[("user", "string"), ("id", "long"), ("role", "string")],
    ),
    case(
        "parse-keeps-input-columns",
        P + ' | where s startswith "user=a" | parse s with "user=" user " " *',
        [{"s": "user=alice id=42 role=admin", "user": "alice"}],
        columns=["s", "user"],
    ),
    case(
        "parse-leading-star-skips",
        P + ' | parse s with * "id=" id:long " " * | project id',
        [{"id": 42}, {"id": 7}, {"id": None}],
    ),
    case(
        "parse-where-drops-unmatched",
        P + ' | parse-where s with "user=" user " id=" * | project user',
        [{"user": "alice"}, {"user": "bob"}],
    ),
    case(
        "parse-regex-mode",
        P + ' | parse kind=regex s with "role=" role @"$" | project role',
        [{"role": "admin"}, {"role": "guest"}, {"role": ""}],
    ),
    case(
        "parse-email-address",
        'datatable(addr:string)["alice@contoso.com"] | parse addr with local "@" domain | project local, domain',
        [{"local": "alice", "domain": "contoso.com"}],
    ),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_parse(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)

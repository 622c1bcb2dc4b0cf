"""docs/hunting.md lists everything the compiler supports: the lists come from the compiler's own
tables (ramparts.hunting.supported_*), so adding an operator or a function without documenting it
fails here."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ramparts import hunting

DOC = Path(__file__).resolve().parents[2] / "docs" / "hunting.md"
CATALOG: list[Callable[[], list[str]]] = [
    hunting.supported_operators,
    hunting.supported_sources,
    hunting.supported_scalar_operators,
    hunting.supported_functions,
    hunting.supported_aggregates,
    hunting.supported_plugins,
    hunting.refused_functions,
]


@pytest.mark.parametrize("listing", CATALOG, ids=[f.__name__ for f in CATALOG])
def test_every_supported_name_is_in_the_docs(listing: Callable[[], list[str]]) -> None:
    names = listing()
    assert names, f"{listing.__name__}() is empty"
    documented = set(re.findall(r"`([^`]+)`", DOC.read_text(encoding="utf-8")))
    missing = [name for name in names if name not in documented]
    assert not missing, f"missing from docs/hunting.md: {missing}"


def test_the_docs_name_no_function_the_compiler_lacks() -> None:
    """The function list in the docs is exactly the compiler's (no stale entries)."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Scalar functions", 1)[1].split("##", 1)[0]
    assert sorted(re.findall(r"`([^`]+)`", section)) == hunting.supported_functions()

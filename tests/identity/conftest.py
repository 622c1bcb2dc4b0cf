from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from ramparts.services import Services
from tests.identity.support import FakeClock, make_services


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(tmp_path: Path, clock: FakeClock) -> Iterator[Services]:
    opened = make_services(tmp_path / "data", clock)
    yield opened
    opened.close()


@pytest.fixture
def session(services: Services) -> Iterator[Session]:
    with services.sessions() as opened:
        yield opened

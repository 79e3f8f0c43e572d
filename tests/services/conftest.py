"""Service-level fixtures: the production wiring on real storage, in virtual time.

``world`` is ``open_services`` on a SQLite file + the embedded store, or on PostgreSQL + Redis
(``tests.support.world`` holds the ``World`` and the names the tests share). Tests marked
``memory_storage`` (they are about the rules, not storage) get only the in-memory world.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import time_machine

from tests.support.world import START, World, make_world

REAL_STORAGE = [
    "sqlite+embedded",
    pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test taking ``world`` runs on every real storage, or, when marked
    ``memory_storage``, on the in-memory one alone."""
    if "world" in metafunc.fixturenames:
        memory = metafunc.definition.get_closest_marker("memory_storage") is not None
        metafunc.parametrize("world", ["memory"] if memory else REAL_STORAGE, indirect=True)


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, frozen: time_machine.Traveller
) -> AsyncIterator[World]:
    async with make_world(request.param, tmp_path, frozen) as w:
        yield w


@pytest.fixture
async def sqlite_world(tmp_path: Path, frozen: time_machine.Traveller) -> AsyncIterator[World]:
    """SQLite file + embedded store only: the files outlive the process (restart tests)."""
    async with make_world("sqlite+embedded", tmp_path, frozen) as w:
        yield w

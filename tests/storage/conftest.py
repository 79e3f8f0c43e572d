"""Shared storage fixtures. SQL: ``sql_url`` (a fresh SQLite file, or PostgreSQL), ``engine``
(migrated, in an isolated schema on PostgreSQL) and ``uow_factory``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine, dispose, migrate
from storage.uow import UnitOfWorkFactory
from tests.support.servers import postgres_schema_engine, require_postgres


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'studyon.db'}"
    return await require_postgres()


@pytest.fixture
async def engine(sql_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated engine; on PostgreSQL in a schema of its own, dropped afterwards."""
    if not sql_url.startswith("postgresql"):
        eng = create_engine(sql_url)
        await migrate(eng)
        yield eng
        await dispose(eng)
        return
    async with postgres_schema_engine(sql_url) as eng:
        yield eng


@pytest.fixture
def uow_factory(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(engine)

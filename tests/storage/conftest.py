"""Shared storage fixtures. SQL: ``sql_url`` (a fresh SQLite file, or PostgreSQL), ``engine``
(migrated, in an isolated schema on PostgreSQL) and ``uow_factory``."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from storage.db import create_engine, dispose, migrate
from storage.uow import UnitOfWorkFactory

POSTGRES_URL = os.environ.get(
    "STUDYON_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
_pg_error: dict[str, str] = {}  # "error" -> why PostgreSQL is unusable, once known


async def _require_postgres() -> None:
    if "error" not in _pg_error:
        probe = create_engine(POSTGRES_URL, poolclass=NullPool, connect_args={"timeout": 5})
        try:
            async with probe.connect() as conn:
                await conn.execute(text("SELECT 1"))
            _pg_error["error"] = ""
        except Exception as exc:
            _pg_error["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            await dispose(probe)
    if _pg_error["error"]:
        reason = f"PostgreSQL unreachable at {POSTGRES_URL}: {_pg_error['error']}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'studyon.db'}"
    await _require_postgres()
    return POSTGRES_URL


@pytest.fixture
async def engine(sql_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated engine; on PostgreSQL in a schema of its own, dropped afterwards."""
    if not sql_url.startswith("postgresql"):
        eng = create_engine(sql_url)
        await migrate(eng)
        yield eng
        await dispose(eng)
        return
    schema = f"studyon_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(sql_url, poolclass=NullPool)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = create_engine(sql_url, connect_args={"server_settings": {"search_path": schema}})
    try:
        await migrate(eng)
        yield eng
    finally:
        await dispose(eng)
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await dispose(admin)


@pytest.fixture
def uow_factory(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(engine)

"""The real servers the tests use: PostgreSQL and Redis on 127.0.0.1.

When a server is unreachable its tests are skipped with the reason, except under CI (the
``CI`` variable set), where they fail: CI starts both servers, so a skip there would hide a
broken set-up.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from storage.db import create_engine, dispose, migrate

POSTGRES_URL = os.environ.get(
    "STUDYON_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("STUDYON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_unreachable: dict[str, str] = {}  # server -> why it is unusable ("" once known good)


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so these tests must run")
    pytest.skip(reason)


async def require_postgres() -> str:
    if "postgres" not in _unreachable:
        probe = create_engine(POSTGRES_URL, poolclass=NullPool, connect_args={"timeout": 5})
        try:
            async with probe.connect() as conn:
                await conn.execute(text("SELECT 1"))
            _unreachable["postgres"] = ""
        except Exception as exc:
            _unreachable["postgres"] = f"{type(exc).__name__}: {exc}"
        finally:
            await dispose(probe)
    if _unreachable["postgres"]:
        _skip_or_fail(f"PostgreSQL unreachable at {POSTGRES_URL}: {_unreachable['postgres']}")
    return POSTGRES_URL


async def require_redis() -> str:
    if "redis" not in _unreachable:
        client: aioredis.Redis = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        try:
            await client.ping()
            _unreachable["redis"] = ""
        except (RedisError, OSError) as exc:
            _unreachable["redis"] = f"{type(exc).__name__}: {exc}"
        finally:
            await client.aclose()
    if _unreachable["redis"]:
        _skip_or_fail(f"Redis unreachable at {REDIS_URL}: {_unreachable['redis']}")
    return REDIS_URL


@asynccontextmanager
async def postgres_schema_engine(url: str = POSTGRES_URL) -> AsyncIterator[AsyncEngine]:
    """A migrated engine in a PostgreSQL schema of its own, dropped afterwards."""
    schema = f"studyon_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, poolclass=NullPool)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = create_engine(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        await migrate(eng)
        yield eng
    finally:
        await dispose(eng)
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await dispose(admin)


async def delete_redis_namespace(namespace: str, url: str = REDIS_URL) -> None:
    client: aioredis.Redis = aioredis.Redis.from_url(url)
    try:
        doomed = [k async for k in client.scan_iter(match=f"{namespace}:*", count=1000)]
        for i in range(0, len(doomed), 500):
            await client.delete(*doomed[i : i + 500])
    finally:
        await client.aclose()


Cleanup = Callable[[], Awaitable[Any]]

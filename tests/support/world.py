"""The services as the bot wires them (``open_services``), for tests that drive the use cases
without Discord: the names and settings those tests share, and the ``World`` they act in.

A world stands on "sqlite+embedded" files, on "postgres+redis", or, for tests that are not
about storage, on "memory": an in-memory SQLite database (migrated as any other) and the
in-memory session store, so nothing touches the disk or a server.

The wall clock is frozen by time-machine and moved by the test; the real APScheduler decides
what is due from that clock, so ``advance`` runs hours of timer in milliseconds.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from bench.jobs import JobWatch
from bot.clock import SystemClock, to_datetime
from bot.services.settings import ServiceSettings
from bot.wiring import Services, open_services
from storage.db import create_engine
from storage.models import Base
from storage.session.base import RoomKey
from storage.session.redis_store import RedisSessionStore
from tests.support.listeners import RecordingListener
from tests.support.memory_store import MemorySessionStore
from tests.support.servers import (
    delete_redis_namespace,
    postgres_schema_engine,
    require_postgres,
    require_redis,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GUILD = 900
ALICE, BOB, CAROL, DAVE = 11, 12, 13, 14
SETTINGS = ServiceSettings(
    signup_bonus=1000,
    room_create_cost=100,
    room_join_cost=50,
    alarm_grace_seconds=60,
    extend_vote_seconds=300,
    max_capacity=25,
)


@dataclass
class World:
    """The services, what they told the Discord layer, and the hands on the clock."""

    app: Services
    seen: RecordingListener
    clock: time_machine.Traveller
    # made with the world, before the scheduler has looked for due jobs
    jobs: JobWatch = field(init=False)

    def __post_init__(self) -> None:
        self.jobs = JobWatch(self.app.scheduler)

    def now_ms(self) -> int:
        return SystemClock().now_ms()

    async def advance(self, ms: int) -> None:
        """Move the wall clock forward and let every wake-up that fell due run."""
        self.clock.shift(timedelta(milliseconds=ms))
        await self.settle()

    async def advance_to(self, at_ms: int) -> None:
        now = self.now_ms()
        if at_ms > now:
            self.clock.move_to(to_datetime(at_ms))
        await self.settle()

    async def settle(self) -> None:
        for _ in range(10):
            self.jobs.poke()
            await self.jobs.settle()

    def next_wakeup(self, key: RoomKey) -> int | None:
        return self.app.scheduler.scheduled_ms(key)


def listen(app: Services) -> RecordingListener:
    """A recorder of every room and todo event the services send."""
    seen = RecordingListener()
    app.events.add_room_listener(seen)
    app.events.add_todo_listener(seen)
    return seen


def memory_engine() -> AsyncEngine:
    """An in-memory SQLite database behind one connection that one transaction at a time
    holds: the database lives as long as its connection, and a second unit of work waits for
    the first to end, as on a SQLite file, where every transaction takes the write lock."""
    return create_engine(
        "sqlite+aiosqlite://", poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0
    )


@asynccontextmanager
async def make_world(
    kind: str, tmp_path: Path, clock: time_machine.Traveller
) -> AsyncIterator[World]:
    """``open_services`` on "memory", "sqlite+embedded" files in ``tmp_path`` or
    "postgres+redis"."""
    if kind == "memory":
        app = await open_services(
            "", settings=SETTINGS, engine=memory_engine(), store=MemorySessionStore()
        )
        try:
            yield World(app, listen(app), clock)
        finally:
            await app.close()
        return
    if kind == "sqlite+embedded":
        app = await open_services(
            f"sqlite+aiosqlite:///{tmp_path / 'studyon.db'}",
            embedded_path=tmp_path / "session.db",
            settings=SETTINGS,
        )
        try:
            yield World(app, listen(app), clock)
        finally:
            await app.close()
        return
    pg = await require_postgres()
    redis_url = await require_redis()
    namespace = f"studyon-test-{uuid.uuid4().hex}"
    async with postgres_schema_engine(pg) as engine:
        app = await open_services(
            pg, settings=SETTINGS, engine=engine, store=RedisSessionStore(redis_url, namespace)
        )
        try:
            yield World(app, listen(app), clock)
        finally:
            await app.close()
            await delete_redis_namespace(namespace, redis_url)


async def reopen(world: World, tmp_path: Path) -> World:
    """Restart on the same files (SQLite + embedded store): a new process in all but name.
    The scheduler is not started yet, so the test can look at the moment of restart."""
    await world.app.close()
    app = await open_services(
        f"sqlite+aiosqlite:///{tmp_path / 'studyon.db'}",
        embedded_path=tmp_path / "session.db",
        settings=SETTINGS,
        start_scheduler=False,
    )
    return World(app, listen(app), world.clock)


OTHER_GUILD = 901
TODAY = date(2026, 3, 2)  # START's day in UTC


async def sql_state(world: World) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, by primary key: equal before and after ⇔ nothing written."""
    async with world.app.uow() as uow:
        state: dict[str, list[tuple[Any, ...]]] = {}
        for table in Base.metadata.sorted_tables:
            rows = await uow.session.execute(select(table).order_by(*table.primary_key.columns))
            state[table.name] = [tuple(row) for row in rows]
        return state


async def set_timezone(world: World, user: int, zone: str | None, guild: int = GUILD) -> None:
    async with world.app.uow() as uow:
        await uow.members.set_timezone(guild, user, zone, world.now_ms())
        await uow.commit()

"""Storage outages told apart from other failures, on real servers made unreachable; one log
line when an outage starts and one when it ends; rooms that waited are woken when the store
is back, and retried ever less often until then."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
import time_machine
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.jobs import JobWatch
from bot.clock import SystemClock
from bot.scheduler import TimerScheduler
from bot.services.outage import (
    DATABASE,
    SESSION_STORE,
    StorageOutages,
    storage_failure,
)
from storage.db import create_engine, dispose
from storage.session.base import RoomKey
from storage.session.redis_store import RedisSessionStore
from tests.support.outages import RedisServer, TcpProxy, free_port, postgres_port
from tests.support.servers import POSTGRES_URL, require_postgres

ROOM = RoomKey(1, 10)


async def failure_of(coro: object) -> BaseException:
    try:
        await coro  # type: ignore[misc]
    except Exception as error:
        return error
    raise AssertionError("it did not fail")


async def test_a_redis_that_is_gone_is_the_session_store_out_of_reach() -> None:
    client: aioredis.Redis = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        error = await failure_of(client.get("x"))
    finally:
        await client.aclose()
    assert (found := storage_failure(error)) is not None and found.store == SESSION_STORE
    store = RedisSessionStore(f"redis://127.0.0.1:{free_port()}/0")
    error = await failure_of(store.open())
    assert (found := storage_failure(error)) is not None and found.store == SESSION_STORE


async def test_a_postgresql_that_is_gone_is_the_database_out_of_reach() -> None:
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/test")
    try:
        error = await failure_of(engine.connect().__aenter__())
    finally:
        await dispose(engine)
    found = storage_failure(error)
    assert found is not None and found.store == DATABASE
    assert "ConnectionRefusedError" in found.cause


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    through = TcpProxy(*postgres_port(POSTGRES_URL))
    through.start()
    try:
        yield through
    finally:
        through.close()


async def test_a_connection_cut_mid_use_is_the_database_out_of_reach(proxy: TcpProxy) -> None:
    await require_postgres()
    url = make_url(POSTGRES_URL).set(host="127.0.0.1", port=proxy.port)
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            proxy.cut()
            error = await failure_of(connection.execute(text("SELECT 1")))
    except Exception as closing:  # giving the broken connection back may fail too
        assert storage_failure(closing) is not None
    finally:
        await dispose(engine)
    assert (found := storage_failure(error)) is not None and found.store == DATABASE


async def test_other_failures_are_not_storage_outages() -> None:
    async with aiohttp.ClientSession() as http:  # Discord out of reach is not storage
        error = await failure_of(http.get(f"http://127.0.0.1:{free_port()}/"))
    assert isinstance(error, OSError)
    assert storage_failure(error) is None
    assert storage_failure(ValueError("a bug")) is None
    assert storage_failure(FileNotFoundError(2, "No such file", "font.ttf")) is None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_an_outage_is_logged_once_and_waiting_rooms_wake_when_it_ends(
    frozen: time_machine.Traveller,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    store = RedisSessionStore(redis_server.url)
    await store.open()
    woke: list[int] = []

    async def wake(key: RoomKey) -> None:
        woke.append(SystemClock().now_ms())
        await store.get_run(key)

    outages = StorageOutages(SystemClock(), {SESSION_STORE: lambda: store.get_run(ROOM)})
    scheduler = TimerScheduler(wake, retry_ms=5_000, outages=outages)
    outages.attach(scheduler)
    jobs = JobWatch(scheduler)
    scheduler.start()
    try:
        redis_server.kill()
        now = SystemClock().now_ms()
        scheduler.schedule(ROOM, now)
        await jobs.settle()
        assert scheduler.scheduled_ms(ROOM) == now + 5_000  # the first retry
        for second in range(1, 16):  # the probe fails at 1 s, 3 s, 7 s, 12 s
            frozen.shift(timedelta(seconds=1))
            jobs.poke()
            await jobs.settle()
            assert outages.down(SESSION_STORE), second
        # tried again 5 s after the first failure, then 10 s after that: ever less often
        assert [ms - now for ms in woke] == [0, 5_000, 15_000]
        assert scheduler.scheduled_ms(ROOM) == now + 35_000

        redis_server.start()
        for _ in range(5):  # the next probe, 5 s after the last
            frozen.shift(timedelta(seconds=1))
            jobs.poke()
            await jobs.settle()
        jobs.poke()
        await jobs.settle()
        assert not outages.down()
        assert [ms - now for ms in woke] == [0, 5_000, 15_000, 17_000]  # at once, not at 35 s
        assert scheduler.scheduled_ms(ROOM) is None  # it woke well: nothing pending
    finally:
        await scheduler.aclose()
        await store.close()
    said = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
    assert [m.split(" (")[0] for m in said] == ["storage unavailable", "storage back"]
    assert said[0].startswith("storage unavailable (session store: ConnectionError: ")
    assert said[1].startswith("storage back (session store, after 17.0 s; 3 failure(s)")

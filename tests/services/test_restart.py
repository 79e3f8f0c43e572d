"""Restarts: jobs are rebuilt from stored state; a boundary missed while down fires once,
marked late; nothing fires twice and no refund is paid twice."""

from __future__ import annotations

import uuid
from pathlib import Path

import time_machine

from bot.domain.timer import MINUTE_MS
from bot.services.events import RecordingListener
from bot.wiring import open_services
from storage.session.base import RoomKey
from storage.session.redis_store import RedisSessionStore
from tests.services.conftest import ALICE, BOB, GUILD, SETTINGS, World, reopen
from tests.support import (
    delete_redis_namespace,
    postgres_schema_engine,
    require_postgres,
    require_redis,
)

SECOND = 1000


async def start_room(world: World) -> tuple[RoomKey, int, int]:
    room = await world.app.rooms.create(GUILD, ALICE, "Night shift", 50, 10, 2)
    await world.app.rooms.join(room.id, BOB)
    view = await world.app.timers.start(room.id, ALICE)
    return RoomKey(GUILD, room.id), view.run_id, world.now_ms()


async def test_jobs_are_rebuilt_on_schedule(sqlite_world: World, tmp_path: Path) -> None:
    key, _, t0 = await start_room(sqlite_world)
    await sqlite_world.advance(20 * MINUTE_MS)
    after = await reopen(sqlite_world, tmp_path)
    assert after.next_wakeup(key) is None  # nothing scheduled before start-up
    after.app.scheduler.start()
    assert await after.app.timers.restore() == 1
    assert after.next_wakeup(key) == t0 + 50 * MINUTE_MS  # on schedule, not reset
    await after.advance_to(t0 + 50 * MINUTE_MS)
    [alarm] = after.seen.boundaries
    assert alarm.boundary.index == 1 and not alarm.late
    await after.app.close()


async def test_boundaries_missed_while_down_fire_once_marked_late(
    sqlite_world: World, tmp_path: Path
) -> None:
    key, run_id, t0 = await start_room(sqlite_world)
    await sqlite_world.app.close()  # the process dies before alarm #1
    sqlite_world.clock.shift(65 * 60)  # down for 65 min: alarms #1 (50) and #2 (60) missed
    after = await reopen(sqlite_world, tmp_path)
    after.app.scheduler.start()
    await after.app.timers.restore()
    await after.settle()
    fired = after.seen.boundaries
    assert [e.boundary.index for e in fired] == [1, 2]
    assert all(e.late for e in fired)
    assert after.next_wakeup(key) == t0 + 110 * MINUTE_MS  # the last alarm, on schedule
    # a member can still dismiss the late alarms (just not on time)
    late = await after.app.timers.dismiss(key, run_id, 1, BOB)
    assert late.recorded and not late.on_time

    again = await reopen(after, tmp_path)  # restart once more: nothing is posted again
    again.app.scheduler.start()
    await again.app.timers.restore()
    await again.settle()
    assert again.seen.boundaries == []
    await again.advance_to(t0 + 110 * MINUTE_MS)
    assert [e.boundary.index for e in again.seen.boundaries] == [3]
    await again.app.close()


async def test_restart_after_the_run_pays_refunds_once(sqlite_world: World, tmp_path: Path) -> None:
    key, run_id, t0 = await start_room(sqlite_world)
    for index, minute in enumerate((50, 60, 110), start=1):
        await sqlite_world.advance_to(t0 + minute * MINUTE_MS)
        await sqlite_world.app.timers.dismiss(key, run_id, index, BOB)
    await sqlite_world.advance(61 * SECOND)
    [end] = sqlite_world.seen.finished
    assert end.kings == (BOB,) and end.refunds == {BOB: 50}

    after = await reopen(sqlite_world, tmp_path)
    after.app.scheduler.start()
    await after.app.timers.restore()
    await after.settle()
    assert after.seen.finished == [] and after.seen.boundaries == []
    assert (await after.app.points.balance(GUILD, BOB)).balance == 1000
    # the extension vote survives the restart and still closes the room on time
    assert after.next_wakeup(key) == end.vote_until_ms
    await after.advance_to(end.vote_until_ms)
    assert [c.reason for c in after.seen.closed] == ["no_extension"]
    await after.app.close()


async def test_down_through_the_end_finishes_once(sqlite_world: World, tmp_path: Path) -> None:
    key, run_id, t0 = await start_room(sqlite_world)
    await sqlite_world.advance_to(t0 + 50 * MINUTE_MS)
    await sqlite_world.app.timers.dismiss(key, run_id, 1, BOB)
    await sqlite_world.app.close()
    sqlite_world.clock.shift(3 * 3600)  # down through alarms #2, #3 and the end
    after = await reopen(sqlite_world, tmp_path)
    after.app.scheduler.start()
    await after.app.timers.restore()
    await after.settle()
    assert [e.boundary.index for e in after.seen.boundaries] == [2, 3]
    [end] = after.seen.finished
    assert end.kings == ()  # nobody could dismiss on time while the bot was down
    assert end.refunds == {}
    await after.app.close()


async def test_two_processes_never_double_an_alarm(
    frozen: time_machine.Traveller, tmp_path: Path
) -> None:
    """Two bot processes restoring the same rooms from one Redis: each alarm posts once."""
    pg = await require_postgres()
    redis_url = await require_redis()
    namespace = f"studyon-test-{uuid.uuid4().hex}"
    async with postgres_schema_engine(pg) as engine:
        apps = []
        seen = []
        for _ in range(2):
            app = await open_services(
                pg,
                settings=SETTINGS,
                engine=engine,
                store=RedisSessionStore(redis_url, namespace),
                start_scheduler=False,
            )
            listener = RecordingListener()
            app.events.add_room_listener(listener)
            apps.append(app)
            seen.append(listener)
        keys = []
        for i in range(5):
            room = await apps[0].rooms.create(GUILD, ALICE + i, f"room {i}", 50, 10, 2)
            await apps[0].timers.start(room.id, ALICE + i)
            keys.append(RoomKey(GUILD, room.id))
        frozen.shift(200 * 60)  # every alarm and the end are due
        for app in apps:
            app.scheduler.start()
            await app.timers.restore()
        for _ in range(5):
            for app in apps:
                app.scheduler.poke()
                await app.scheduler.settle()
        posted = [(e.key, e.boundary.index) for s in seen for e in s.boundaries]
        assert sorted(posted) == sorted((k, i) for k in keys for i in (1, 2, 3))
        finished = [e.key for s in seen for e in s.finished]
        assert sorted(finished) == sorted(keys)
        for app in apps:
            app.engine = engine  # disposed by the schema context
            await app.close()
    await delete_redis_namespace(namespace, redis_url)

"""Restarts: jobs are rebuilt from stored state; a boundary missed while down fires once,
marked late; nothing fires twice and no refund is paid twice."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import time_machine

from bench.jobs import JobWatch
from bot.domain.errors import InvalidTimerAction
from bot.domain.timer import MINUTE_MS, Pattern, Timer
from bot.services.events import BoundaryFired, RoomClosed, RunFinished
from bot.wiring import open_services
from storage.session.base import RoomKey, Run
from storage.session.redis_store import RedisSessionStore
from tests.support.listeners import RecordingListener
from tests.support.servers import (
    delete_redis_namespace,
    postgres_schema_engine,
    require_postgres,
    require_redis,
)
from tests.support.world import ALICE, BOB, GUILD, SETTINGS, World, reopen

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
        watches = []
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
            watches.append(JobWatch(app.scheduler))
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
            for watch in watches:
                watch.poke()
                await watch.settle()
        posted = [(e.key, e.boundary.index) for s in seen for e in s.boundaries]
        assert sorted(posted) == sorted((k, i) for k in keys for i in (1, 2, 3))
        finished = [e.key for s in seen for e in s.finished]
        assert sorted(finished) == sorted(keys)
        for app in apps:
            app.engine = engine  # disposed by the schema context
            await app.close()
    await delete_redis_namespace(namespace, redis_url)


# -- the database the session state belongs to -------------------------------------------------

REPORT = "the session store held live state of another database"


def _reports(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if REPORT in r.getMessage()]


async def test_a_fresh_database_starts_with_no_state_of_the_old_one(
    sqlite_world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key, _, t0 = await start_room(sqlite_world)
    await sqlite_world.advance(20 * MINUTE_MS)
    await sqlite_world.app.close()
    (tmp_path / "studyon.db").unlink()  # a new database; the session file is kept
    caplog.set_level(logging.WARNING)

    after = await reopen(sqlite_world, tmp_path)

    assert _reports(caplog) == [
        f"{REPORT} (1 running room(s)); it was cleared",
    ]
    assert await after.app.store.running_rooms() == []
    after.app.scheduler.start()
    assert await after.app.timers.restore() == 0
    room = await after.app.rooms.create(GUILD, BOB, "Day shift", 50, 10, 2)
    assert RoomKey(GUILD, room.id) == key  # room ids start over
    view = await after.app.timers.start(room.id, BOB)
    t1 = after.now_ms()
    await after.advance_to(t0 + 55 * MINUTE_MS)  # the old run's alarm #1 would have fallen
    assert after.seen.boundaries == []
    await after.advance_to(t1 + 50 * MINUTE_MS)
    [alarm] = after.seen.boundaries
    assert alarm.run_id == view.run_id and alarm.boundary.index == 1 and not alarm.late

    again = await reopen(after, tmp_path)  # the store belongs to the new database now
    assert len(_reports(caplog)) == 1
    assert await again.app.store.running_rooms() == [key]
    await again.app.close()


async def test_a_session_file_from_before_is_adopted_with_its_rooms(
    sqlite_world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key, _, t0 = await start_room(sqlite_world)
    await sqlite_world.app.close()
    with sqlite3.connect(tmp_path / "session.db") as db:  # as written before stores recorded
        db.execute("DROP TABLE bound_to")  # the database they belong to
    db.close()
    caplog.set_level(logging.WARNING)

    after = await reopen(sqlite_world, tmp_path)

    assert _reports(caplog) == []
    after.app.scheduler.start()
    assert await after.app.timers.restore() == 1
    assert after.next_wakeup(key) == t0 + 50 * MINUTE_MS
    await after.app.close()


async def test_a_fresh_postgres_schema_clears_the_redis_state_of_the_old_one(
    frozen: time_machine.Traveller, caplog: pytest.LogCaptureFixture
) -> None:
    pg = await require_postgres()
    redis_url = await require_redis()
    namespace = f"studyon-test-{uuid.uuid4().hex}"
    caplog.set_level(logging.WARNING)
    try:
        keys = []
        for _ in range(2):  # the same Redis namespace, a new database each time
            async with postgres_schema_engine(pg) as engine:
                app = await open_services(
                    pg,
                    settings=SETTINGS,
                    engine=engine,
                    store=RedisSessionStore(redis_url, namespace),
                )
                assert await app.store.running_rooms() == []
                room = await app.rooms.create(GUILD, ALICE, "Night shift", 50, 10, 2)
                await app.timers.start(room.id, ALICE)  # never refused as already running
                keys.append(RoomKey(GUILD, room.id))
                await app.close()
        assert keys[0] == keys[1]
        assert _reports(caplog) == [f"{REPORT} (1 running room(s)); it was cleared"]
    finally:
        await delete_redis_namespace(namespace, redis_url)


async def test_a_stored_run_the_database_does_not_know_never_blocks_a_start(
    world: World,
) -> None:
    """Live state of another database's room with this id (a store adopted together with a
    new database): neither running nor in an extension vote here."""
    app = world.app
    room = await app.rooms.create(GUILD, ALICE, "Night shift", 50, 10, 2)
    await app.rooms.join(room.id, BOB)
    key = RoomKey(GUILD, room.id)
    ghost = Run(999, Timer(Pattern.from_minutes(25, 5, 4), world.now_ms()))
    await app.store.put_run(key, ghost)

    view = await app.timers.start(room.id, ALICE)

    assert view.run_id != ghost.run_id
    stored = await app.store.get_run(key)
    assert stored is not None and stored.run_id == view.run_id
    with pytest.raises(InvalidTimerAction) as again:  # the real run does block a start
        await app.timers.start(room.id, ALICE)
    assert again.value.reason == "already_running"

    await app.timers.stop(room.id, ALICE)
    vote = world.now_ms() + 60_000
    await app.store.put_run(
        key, replace(ghost, finished=True, vote_until_ms=vote)
    )  # a ghost in its vote: nobody extends it
    with pytest.raises(InvalidTimerAction) as extend:
        await app.timers.extend(room.id, BOB)
    assert extend.value.reason == "no_vote"
    restarted = await app.timers.start(room.id, ALICE)
    assert restarted.pattern == Pattern(50 * MINUTE_MS, 10 * MINUTE_MS, 2)


async def test_a_run_stopped_in_sql_but_left_in_the_store_never_blocks_a_start(
    world: World,
) -> None:
    """A crash between ending the run in SQL and forgetting it in the store."""
    app = world.app
    room = await app.rooms.create(GUILD, ALICE, "Night shift", 50, 10, 2)
    key = RoomKey(GUILD, room.id)
    first = await app.timers.start(room.id, ALICE)
    left = await app.store.get_run(key)
    await app.timers.stop(room.id, ALICE)
    assert left is not None
    await app.store.put_run(key, left)  # as if the store had not heard of the stop

    second = await app.timers.start(room.id, ALICE)

    assert second.run_id != first.run_id


async def test_a_run_running_in_sql_whose_live_state_is_gone_never_blocks_a_start(
    world: World,
) -> None:
    """The session store lost the run (or was cleared): SQL still counts it as running."""
    app = world.app
    room = await app.rooms.create(GUILD, ALICE, "Night shift", 50, 10, 2)
    key = RoomKey(GUILD, room.id)
    first = await app.timers.start(room.id, ALICE)
    await app.store.delete_run(key)

    second = await app.timers.start(room.id, ALICE)

    assert second.run_id != first.run_id
    async with app.uow() as uow:
        lost = await uow.runs.get(first.run_id)
        running = await uow.runs.current(room.id)
    assert lost is not None and lost.status == "stopped"
    assert running is not None and running.id == second.run_id


class FirstPostFails:
    """Discord refuses the first alarm post; what it later accepts is recorded."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.failed = False
        self.posted: list[tuple[int, int]] = []  # (alarm, at)

    async def on_boundary(self, event: BoundaryFired) -> int | None:
        if not self.failed:
            self.failed = True
            raise ConnectionError("503 Service Unavailable")
        self.posted.append((event.boundary.index, self.world.now_ms()))
        return self.world.now_ms()

    async def on_run_finished(self, event: RunFinished) -> None:
        pass

    async def on_room_closed(self, event: RoomClosed) -> None:
        pass


async def test_an_attempt_claimed_by_a_process_that_died_is_passed_over(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process claimed the second attempt at an owed alarm and died before saving it (as
    an earlier version could, claiming and recording in two writes): the attempt counts as
    made, the next one is tried a retry later, and the room is never
    woken in a tight loop meanwhile."""
    discord = FirstPostFails(world)
    world.app.events.add_room_listener(discord)
    key, run_id, t0 = await start_room(world)
    store = world.app.store
    await world.advance_to(t0 + 50 * MINUTE_MS)  # alarm #1 falls; its post fails
    run = await store.get_run(key)
    assert run is not None and run.owed_alarms[1].attempt == 1
    assert await store.claim(key, f"b:1:{run_id}:try2")  # ... by the process that died

    claims: list[str] = []
    claim_and_put_run = store.claim_and_put_run

    async def counted(room: RoomKey, name: str, won: Run) -> bool:
        claims.append(name)
        return await claim_and_put_run(room, name, won)

    monkeypatch.setattr(store, "claim_and_put_run", counted)
    await world.advance(5 * SECOND)  # attempt 2 is taken: passed over
    assert claims == [f"b:1:{run_id}:try2"] and discord.posted == []
    assert world.next_wakeup(key) == world.now_ms() + 5 * SECOND
    await world.advance(5 * SECOND)  # attempt 3 is this process's
    assert claims == [f"b:1:{run_id}:try2", f"b:1:{run_id}:try3"]
    assert discord.posted == [(1, t0 + 50 * MINUTE_MS + 10 * SECOND)]
    run = await store.get_run(key)
    assert run is not None and not run.owed_alarms


class Crash(BaseException):
    """The process dies here (not an error the scheduler would retry)."""


@pytest.mark.parametrize("dies_at", ["reading_dismissals", "saving_the_finished_run"])
async def test_a_crash_while_finishing_still_pays_and_announces_once(
    sqlite_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dies_at: str
) -> None:
    key, run_id, t0 = await start_room(sqlite_world)
    for index, minute in enumerate((50, 60, 110), start=1):
        await sqlite_world.advance_to(t0 + minute * MINUTE_MS)
        await sqlite_world.app.timers.dismiss(key, run_id, index, BOB)
    store = sqlite_world.app.store
    if dies_at == "reading_dismissals":

        async def die(*_: object) -> None:
            raise Crash

        monkeypatch.setattr(store, "get_dismissals", die)
    else:
        claim_and_put_run = store.claim_and_put_run

        async def die_when_finished(room: RoomKey, token: str, won: Run) -> bool:
            if won.finished:  # the end's claim and its owed announcement: one write
                raise Crash
            return await claim_and_put_run(room, token, won)

        monkeypatch.setattr(store, "claim_and_put_run", die_when_finished)
    sqlite_world.clock.shift(61)  # the last alarm's grace is over: the wake-up finishes
    with pytest.raises(Crash):
        await sqlite_world.app.timers.wake(key)
    assert sqlite_world.seen.finished == []
    monkeypatch.undo()

    after = await reopen(sqlite_world, tmp_path)
    after.app.scheduler.start()
    await after.app.timers.restore()
    await after.settle()
    # the process died before claiming the end (the claim is the write that records the
    # announcement owed): the next wake-up claims and announces it at once
    [end] = after.seen.finished
    assert end.kings == (BOB,) and end.refunds == {BOB: 50}
    assert (await after.app.points.balance(GUILD, BOB)).balance == 1000
    async with after.app.uow() as uow:
        stored = await uow.runs.results(run_id)
        assert {r.user_id: r.is_king for r in stored} == {ALICE: False, BOB: True}
    await after.advance(10 * MINUTE_MS)
    assert len(after.seen.finished) == 1
    await after.app.close()

"""Taking over what another process claimed: at once when that process is gone (its
heartbeat ran out, or it stopped cleanly), never while it is alive, and as soon as its
heartbeat runs out.

Process A claims alarm #1 and its post hangs (or fails); it is driven by hand, its scheduler
never started, so it beats exactly when the test says (as its refresh would, every second).
Process B, on the same files, is the production wiring, started."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
import time_machine

from bot.clock import to_datetime
from bot.domain.timer import MINUTE_MS
from bot.services.events import BoundaryFired, RoomClosed, RunFinished
from bot.services.liveness import ALIVE_FOR_MS, BEAT_EVERY_MS
from bot.wiring import Services, open_services
from storage.db import dispose
from tests.services.test_restart import start_room
from tests.support.world import SETTINGS, World, listen

SECOND = 1000


class Posting:
    """Discord as process A meets it: the alarm post hangs (until cancelled), or fails."""

    def __init__(self, fails: bool = False) -> None:
        self.fails = fails
        self.entered = asyncio.Event()
        self.attempts = 0

    async def on_boundary(self, event: BoundaryFired) -> int | None:
        self.attempts += 1
        self.entered.set()
        if self.fails:
            raise ConnectionError("503 Service Unavailable")
        await asyncio.Event().wait()  # in flight for as long as the process lives
        return None

    async def on_run_finished(self, event: RunFinished) -> None:
        pass

    async def on_room_closed(self, event: RoomClosed) -> None:
        pass


async def process(tmp_path: Path) -> Services:
    """A process on the test's files, not started."""
    return await open_services(
        f"sqlite+aiosqlite:///{tmp_path / 'studyon.db'}",
        embedded_path=tmp_path / "session.db",
        settings=SETTINGS,
        start_scheduler=False,
    )


async def started(tmp_path: Path, frozen: time_machine.Traveller) -> World:
    """Process B: started as the bot starts (heartbeat, scheduler, rooms restored), its
    jobs watched from before they run."""
    app = await process(tmp_path)
    world = World(app, listen(app), frozen)
    await app.start()
    await world.settle()
    return world


async def killed(app: Services) -> None:
    """Nothing shut down, its heartbeat left in the store to run out: only the connections
    go, so the test leaves nothing running."""
    await app.store.close()
    await dispose(app.engine)


async def claimed_by_a(
    tmp_path: Path, frozen: time_machine.Traveller, posting: Posting
) -> tuple[Services, World, asyncio.Task[None]]:
    """Process A with a room whose alarm #1 it has claimed, its post under way (or failed)."""
    a = await process(tmp_path)
    a.events.add_room_listener(posting)
    world = World(a, listen(a), frozen)
    key, _, t0 = await start_room(world)
    frozen.move_to(to_datetime(t0 + 50 * MINUTE_MS))  # alarm #1 falls
    wake = asyncio.create_task(a.timers.wake(key))
    await posting.entered.wait()
    run = await a.store.get_run(key)
    assert run is not None and run.owed_alarms[1].by == a.heartbeat.token
    return a, world, wake


async def taken_over_once(b_world: World, posting: Posting, fired_ms: int) -> None:
    """B posted alarm #1 as a retry at ``fired_ms`` with nothing left owed, and posts nothing
    more; A's hanging post was A's only attempt."""
    [alarm] = b_world.seen.boundaries
    assert alarm.boundary.index == 1 and alarm.retry and alarm.fired_ms == fired_ms
    run = await b_world.app.store.get_run(alarm.key)
    assert run is not None and not run.owed_alarms
    await b_world.advance(10 * SECOND)
    assert len(b_world.seen.boundaries) == 1 and posting.attempts == 1


async def stop(wake: asyncio.Task[None], *apps: Services) -> None:
    wake.cancel()
    with contextlib.suppress(asyncio.CancelledError, ConnectionError):
        await wake
    for app in apps:
        await app.close()


@pytest.mark.parametrize("restart_after_ms", [1_500, 4_000])
async def test_the_alarm_a_killed_process_claimed_is_posted_once_its_heartbeat_ran_out(
    tmp_path: Path, frozen: time_machine.Traveller, restart_after_ms: int
) -> None:
    """A is killed while posting (nothing shut down, its beat left to run out); B starts
    in its place and posts the alarm when A's beat runs out, at once if it has already:
    never a retry after A's claim, nor a lease later."""
    posting = Posting()
    a, a_world, wake = await claimed_by_a(tmp_path, frozen, posting)
    claimed = a_world.now_ms()
    assert a.heartbeat.alive_until_ms == claimed + ALIVE_FOR_MS
    frozen.shift(restart_after_ms / 1000)  # A is gone; B starts
    b_world = await started(tmp_path, frozen)
    b = b_world.app
    posted_at = max(claimed + restart_after_ms, claimed + ALIVE_FOR_MS)
    if restart_after_ms < ALIVE_FOR_MS:
        assert b_world.seen.boundaries == []  # A may still be posting: left to it
        await b_world.advance_to(posted_at)
    await taken_over_once(b_world, posting, posted_at)
    await stop(wake, b)
    await killed(a)


async def test_a_live_process_keeps_its_claim_and_loses_it_when_its_heartbeat_runs_out(
    tmp_path: Path, frozen: time_machine.Traveller
) -> None:
    """A is alive and still posting (a slow Discord); B, serving the same rooms, leaves the
    alarm to A for as long as A beats, looking again when each beat would run out, and
    takes it over the moment A stops beating."""
    posting = Posting()
    a, a_world, wake = await claimed_by_a(tmp_path, frozen, posting)
    claimed = a_world.now_ms()
    b_world = await started(tmp_path, frozen)
    b = b_world.app
    [key] = await b.store.running_rooms()
    assert b_world.seen.boundaries == []
    assert b_world.next_wakeup(key) == claimed + ALIVE_FOR_MS  # when A's beat would run out

    for beat in (1, 2):  # A beats every second, as its refresh does
        await b_world.advance_to(claimed + beat * BEAT_EVERY_MS)
        await a.heartbeat.beat()
        assert b_world.seen.boundaries == []
    last = claimed + 2 * BEAT_EVERY_MS + ALIVE_FOR_MS
    assert a.heartbeat.alive_until_ms == last
    await b_world.advance_to(claimed + ALIVE_FOR_MS)  # B looks again: A beat meanwhile
    assert b_world.seen.boundaries == []
    assert b_world.next_wakeup(key) == last

    # A stops beating (its loop hangs, or it died): B takes the alarm over at once
    await b_world.advance_to(last)
    [alarm] = b_world.seen.boundaries
    assert alarm.boundary.index == 1 and alarm.retry and alarm.fired_ms == last
    run = await b.store.get_run(key)
    assert run is not None and not run.owed_alarms
    assert posting.attempts == 1
    await stop(wake, a, b)


async def test_what_a_process_stopped_cleanly_still_owed_is_taken_over_at_once(
    tmp_path: Path, frozen: time_machine.Traveller
) -> None:
    """A's post failed and A was stopped (its heartbeat deleted): B, started right after,
    posts the alarm at once, within A's beat and before A's own retry would have come."""
    posting = Posting(fails=True)
    a, a_world, wake = await claimed_by_a(tmp_path, frozen, posting)
    with pytest.raises(ConnectionError):
        await wake
    claimed = a_world.now_ms()
    await a.close()
    assert a.heartbeat.token not in await _heartbeats(tmp_path)
    frozen.shift(0.5)
    b_world = await started(tmp_path, frozen)
    b = b_world.app
    [alarm] = b_world.seen.boundaries
    assert alarm.boundary.index == 1 and alarm.fired_ms == claimed + 500
    await b.close()


async def _heartbeats(tmp_path: Path) -> dict[str, int]:
    reader = await process(tmp_path)
    try:
        return await reader.store.heartbeats()
    finally:
        await reader.close()

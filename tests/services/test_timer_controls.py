"""Owner controls, dismissals and the extension vote, through the services."""

from __future__ import annotations

import pytest

from bot.domain.errors import (
    InvalidTimerAction,
    NotFound,
    NotMember,
    NotOwner,
    RoomClosed,
)
from bot.domain.timer import MINUTE_MS, Status
from storage.session.base import RoomKey
from tests.support.world import ALICE, BOB, CAROL, DAVE, GUILD, World

pytestmark = pytest.mark.memory_storage  # rules, not storage (storage suites run every backend)

SECOND = 1000


async def make_room(world: World, study: int = 50, brk: int = 10, terms: int = 4) -> RoomKey:
    room = await world.app.rooms.create(GUILD, ALICE, "Focus", study, brk, terms)
    await world.app.rooms.join(room.id, BOB)
    return RoomKey(GUILD, room.id)


async def test_only_the_owner_controls_the_timer(world: World) -> None:
    key = await make_room(world)
    timers = world.app.timers
    with pytest.raises(NotOwner):
        await timers.start(key.room_id, BOB)
    assert await world.app.store.get_run(key) is None
    assert world.next_wakeup(key) is None
    async with world.app.uow() as uow:
        assert await uow.runs.current(key.room_id) is None

    await timers.start(key.room_id, ALICE)
    for control in (timers.pause, timers.skip, timers.stop):
        with pytest.raises(NotOwner):
            await control(key.room_id, BOB)
    with pytest.raises(InvalidTimerAction) as again:
        await timers.start(key.room_id, ALICE)
    assert again.value.reason == "already_running"
    with pytest.raises(InvalidTimerAction):
        await timers.resume(key.room_id, ALICE)  # not paused


async def test_pause_shifts_every_later_alarm(world: World) -> None:
    key = await make_room(world)
    timers = world.app.timers
    view = await timers.start(key.room_id, ALICE)
    t0 = view.state.phase_started_ms
    assert t0 is not None
    await world.advance(10 * MINUTE_MS)
    paused = await timers.pause(key.room_id, ALICE)
    assert paused.state.status is Status.PAUSED
    assert paused.state.remaining_ms == 40 * MINUTE_MS
    assert world.next_wakeup(key) is None  # no alarm while paused
    with pytest.raises(InvalidTimerAction):
        await timers.pause(key.room_id, ALICE)

    await world.advance(50 * MINUTE_MS)  # the original alarm #1 time passes: nothing fires
    assert world.seen.boundaries == []
    resumed = await timers.resume(key.room_id, ALICE)
    assert world.next_wakeup(key) == t0 + 100 * MINUTE_MS
    assert [b.at_ms - t0 for b in resumed.boundaries] == [
        (m + 50) * MINUTE_MS for m in (50, 60, 110, 120, 170, 180, 230)
    ]
    await world.advance_to(t0 + 100 * MINUTE_MS)
    assert [e.boundary.index for e in world.seen.boundaries] == [1]


async def test_skip_posts_the_alarm_now(world: World) -> None:
    key = await make_room(world)
    timers = world.app.timers
    view = await timers.start(key.room_id, ALICE)
    await world.advance(20 * MINUTE_MS)
    skipped = await timers.skip(key.room_id, ALICE)
    [alarm] = world.seen.boundaries
    assert alarm.boundary.index == 1 and alarm.boundary.skipped
    assert alarm.boundary.at_ms == world.now_ms()
    assert skipped.fired_through == 1
    assert world.next_wakeup(key) == world.now_ms() + 10 * MINUTE_MS
    with pytest.raises(InvalidTimerAction) as same_instant:
        await timers.skip(key.room_id, ALICE)  # the break began this very millisecond
    assert same_instant.value.reason == "phase_just_started"
    assert (await timers.dismiss(key, view.run_id, 1, BOB)).on_time


async def test_stop_ends_the_run_without_kings_or_refunds(world: World) -> None:
    key = await make_room(world)
    view = await world.app.timers.start(key.room_id, ALICE)
    await world.advance(50 * MINUTE_MS)
    await world.app.timers.dismiss(key, view.run_id, 1, ALICE)
    await world.app.timers.stop(key.room_id, ALICE)
    assert await world.app.store.get_run(key) is None
    assert world.next_wakeup(key) is None
    async with world.app.uow() as uow:
        run = await uow.runs.get(view.run_id)
        assert run is not None and run.status == "stopped"
    await world.advance(300 * MINUTE_MS)
    assert world.seen.finished == [] and len(world.seen.boundaries) == 1
    assert (await world.app.points.balance(GUILD, ALICE)).balance == 900
    with pytest.raises(InvalidTimerAction):
        await world.app.timers.pause(key.room_id, ALICE)
    # the room stays open and can run again
    again = await world.app.timers.start(key.room_id, ALICE)
    assert again.run_id != view.run_id


async def test_dismissal_rules(world: World) -> None:
    key = await make_room(world, study=5, brk=5, terms=2)
    timers = world.app.timers
    view = await timers.start(key.room_id, ALICE)
    with pytest.raises(NotFound):
        await timers.dismiss(key, view.run_id, 1, ALICE)  # not posted yet
    await world.advance(5 * MINUTE_MS)
    with pytest.raises(NotMember):
        await timers.dismiss(key, view.run_id, 1, CAROL)
    first = await timers.dismiss(key, view.run_id, 1, BOB)
    await world.advance(3 * SECOND)
    second = await timers.dismiss(key, view.run_id, 1, BOB)
    assert first.recorded and not second.recorded
    assert second.dismissed_ms == first.dismissed_ms  # the first one wins
    with pytest.raises(InvalidTimerAction) as wrong_run:
        await timers.dismiss(key, view.run_id + 999, 1, BOB)
    assert wrong_run.value.reason == "run_over"

    await world.app.rooms.join(key.room_id, CAROL)  # joins after alarm #1
    with pytest.raises(InvalidTimerAction) as before_join:
        await timers.dismiss(key, view.run_id, 1, CAROL)
    assert before_join.value.reason == "alarm_before_join"
    dismissals = await world.app.store.get_dismissals(key, view.run_id)
    assert set(dismissals) == {(1, BOB)}


async def test_a_member_the_live_state_lost_is_not_put_back_as_they_leave(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live state lost Bob (a process died between recording his join and adding him to
    it), and he leaves while his dismissal looks him up in SQL: he is not put back."""
    key = await make_room(world, study=5, brk=5, terms=2)
    timers, store = world.app.timers, world.app.store
    view = await timers.start(key.room_id, ALICE)
    await store.remove_member(key, BOB)
    await world.advance(5 * MINUTE_MS)
    put_back = store.add_member

    async def leaving_meanwhile(room: RoomKey, user_id: int, joined_ms: int) -> None:
        monkeypatch.setattr(store, "add_member", put_back)
        await world.app.rooms.leave(key.room_id, BOB)  # after the look-up, before this
        await put_back(room, user_id, joined_ms)

    monkeypatch.setattr(store, "add_member", leaving_meanwhile)
    with pytest.raises(NotMember):
        await timers.dismiss(key, view.run_id, 1, BOB)
    assert BOB not in await store.get_members(key)
    assert await store.get_dismissals(key, view.run_id) == {}


async def test_late_joiner_is_judged_on_alarms_since_joining(world: World) -> None:
    key = await make_room(world, study=5, brk=5, terms=2)
    timers = world.app.timers
    view = await timers.start(key.room_id, ALICE)
    await world.advance(5 * MINUTE_MS)  # alarm 1: Alice and Bob
    await timers.dismiss(key, view.run_id, 1, ALICE)
    await world.advance(SECOND)
    await world.app.rooms.join(key.room_id, CAROL)
    for index in (2, 3):
        await world.advance_to(view.boundaries[index - 1].at_ms)
        for user in (ALICE, CAROL):
            await timers.dismiss(key, view.run_id, index, user)
    await world.advance(60 * SECOND)
    [end] = world.seen.finished
    assert end.kings == (ALICE, CAROL)  # Bob never dismissed
    results = {r.user_id: r for r in end.results}
    assert results[CAROL].alarms == 2 and results[ALICE].alarms == 3
    assert end.refunds == {ALICE: 100, CAROL: 50}


async def test_extend_starts_another_run_and_pays_no_second_refund(world: World) -> None:
    key = await make_room(world, study=1, brk=1, terms=1)
    timers = world.app.timers
    view = await timers.start(key.room_id, ALICE)
    await world.advance(1 * MINUTE_MS)
    await timers.dismiss(key, view.run_id, 1, BOB)
    with pytest.raises(InvalidTimerAction):
        await timers.extend(key.room_id, BOB)  # the run is not over yet
    await world.advance(60 * SECOND)
    [end] = world.seen.finished
    assert end.kings == (BOB,) and end.refunds == {BOB: 50}
    with pytest.raises(NotMember):
        await timers.extend(key.room_id, DAVE)
    second = await timers.extend(key.room_id, BOB)  # any member may extend
    assert second.run_id != view.run_id and not second.finished
    await world.advance(1 * MINUTE_MS)
    await timers.dismiss(key, second.run_id, 1, BOB)
    await world.advance(60 * SECOND)
    assert [f.kings for f in world.seen.finished] == [(BOB,), (BOB,)]
    assert world.seen.finished[1].refunds == {}  # what Bob paid was already given back
    assert (await world.app.points.balance(GUILD, BOB)).balance == 1000
    await world.advance(300 * SECOND)
    assert [c.reason for c in world.seen.closed] == ["no_extension"]
    with pytest.raises(RoomClosed):
        await timers.extend(key.room_id, BOB)


async def test_ownership_passes_on_mid_run(world: World) -> None:
    key = await make_room(world)
    await world.app.timers.start(key.room_id, ALICE)
    outcome = await world.app.rooms.leave(key.room_id, ALICE)
    assert outcome.new_owner_id == BOB and not outcome.closed
    await world.app.timers.pause(key.room_id, BOB)
    with pytest.raises(NotMember):
        await world.app.timers.dismiss(key, 1, 1, ALICE)

"""A whole 4 × (50 + 10) run with three members, through the services, in virtual time."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.points import Reason
from bot.domain.timer import MINUTE_MS, PhaseKind
from bot.services.events import BoundaryFired, RoomClosed, RunFinished
from storage.session.base import RoomKey
from tests.support.world import ALICE, BOB, CAROL, GUILD, World

pytestmark = pytest.mark.memory_storage  # rules, not storage (storage suites run every backend)

SECOND = 1000


async def balance(world: World, user: int) -> int:
    return (await world.app.points.balance(GUILD, user)).balance


async def test_four_terms_three_members(world: World) -> None:
    app = world.app
    room = await app.rooms.create(GUILD, ALICE, "Morning grind", 50, 10, 4, "math,#exam", "")
    await app.rooms.join(room.id, BOB)
    await app.rooms.join(room.id, CAROL)
    key = RoomKey(GUILD, room.id)
    assert [await balance(world, u) for u in (ALICE, BOB, CAROL)] == [900, 950, 950]

    started = world.now_ms()
    view = await app.timers.start(room.id, ALICE)
    assert view.state.phase is not None and view.state.phase.kind is PhaseKind.STUDY
    expected = [50, 60, 110, 120, 170, 180, 230]
    assert [b.at_ms - started for b in view.boundaries] == [m * MINUTE_MS for m in expected]
    assert world.next_wakeup(key) == started + 50 * MINUTE_MS

    # -- seven alarms; Alice dismisses at +5 s, Carol at +59 s, Bob is late on alarm #4 ------
    for index, minute in enumerate(expected, start=1):
        await world.advance_to(started + minute * MINUTE_MS)
        fired = world.seen.boundaries
        assert [e.boundary.index for e in fired] == list(range(1, index + 1))
        assert fired[-1].boundary.at_ms == started + minute * MINUTE_MS
        assert not fired[-1].late
        await world.advance(5 * SECOND)
        assert (await app.timers.dismiss(key, view.run_id, index, ALICE)).on_time
        await world.advance(10 * SECOND)
        bob = await app.timers.dismiss(key, view.run_id, index, BOB) if index != 4 else None
        assert bob is None or bob.on_time
        await world.advance(44 * SECOND)  # 59 s after the boundary: still on time
        assert (await app.timers.dismiss(key, view.run_id, index, CAROL)).on_time
        if index == 4:
            await world.advance(31 * SECOND)  # 90 s: late
            late = await app.timers.dismiss(key, view.run_id, 4, BOB)
            assert late.recorded and not late.on_time

    kinds = [(e.boundary.ends, e.next_phase.kind if e.next_phase else None) for e in fired]
    assert kinds[0] == (PhaseKind.STUDY, PhaseKind.BREAK)
    assert kinds[1] == (PhaseKind.BREAK, PhaseKind.STUDY)
    assert fired[-1].boundary.last and fired[-1].next_phase is None
    assert [e.next_phase.term for e in fired[:-1] if e.next_phase] == [1, 2, 2, 3, 3, 4]

    # -- the end: kings announced once the last alarm's grace window has passed -------------
    assert world.seen.finished == []
    await world.advance_to(started + 231 * MINUTE_MS)
    [end] = world.seen.finished
    assert isinstance(end, RunFinished)
    assert end.kings == (ALICE, CAROL)
    assert end.refunds == {ALICE: 100, CAROL: 50}
    results = {r.user_id: r for r in end.results}
    assert (results[BOB].alarms, results[BOB].dismissed, results[BOB].on_time) == (7, 7, 6)
    assert [await balance(world, u) for u in (ALICE, BOB, CAROL)] == [1000, 950, 1000]

    async with app.uow() as uow:
        run = await uow.runs.get(view.run_id)
        assert run is not None and run.status == "finished"
        stored = {r.user_id: r for r in await uow.runs.results(view.run_id)}
        assert {u: r.is_king for u, r in stored.items()} == {ALICE: True, BOB: False, CAROL: True}
        assert len(await uow.runs.dismissals(view.run_id)) == 21
        refunds = [
            e for e in await uow.ledger.recent(GUILD, ALICE, 10) if e.reason == Reason.KING_REFUND
        ]
        assert len(refunds) == 1 and "payment:" in refunds[0].reference

    # -- everyone rates the day ------------------------------------------------------------
    for user, score in ((ALICE, 5), (BOB, 3), (CAROL, 4)):
        await app.todos.rate(GUILD, user, score)
    async with app.uow() as uow:
        for user, score in ((ALICE, 5), (BOB, 3), (CAROL, 4)):
            rating = await uow.ratings.get(GUILD, user, date(2026, 3, 2))
            assert rating is not None and rating.score == score

    # -- a late wake-up or a restore changes nothing: no second refund, no second alarm -----
    await app.timers.wake(key)
    await app.timers.restore()
    await world.settle()
    assert len(world.seen.finished) == 1 and len(world.seen.boundaries) == 7
    assert [await balance(world, u) for u in (ALICE, BOB, CAROL)] == [1000, 950, 1000]

    # -- nobody extends: the room closes when the vote ends ---------------------------------
    await world.advance_to(started + 231 * MINUTE_MS + 300 * SECOND)
    [closed] = world.seen.closed
    assert isinstance(closed, RoomClosed) and closed.reason == "no_extension"
    assert (await app.rooms.get(room.id)).room.status == "closed"
    assert await app.store.get_run(key) is None
    assert world.next_wakeup(key) is None
    assert all(isinstance(e, BoundaryFired | RunFinished | RoomClosed) for e in world.seen.events)


class SlowPoster:
    """An alarm that reaches the channel 30 s after its boundary, and a member who clicks
    Dismiss 50 s after it appeared — before the wake-up has saved when it appeared."""

    def __init__(self, world: World, user_id: int) -> None:
        self.world = world
        self.user_id = user_id
        self.clicks: list[bool] = []

    async def on_boundary(self, event: BoundaryFired) -> int | None:
        appeared = event.boundary.at_ms + 30 * SECOND
        outcome = await self.world.app.timers.dismiss(
            event.key,
            event.run_id,
            event.boundary.index,
            self.user_id,
            alarm_shown_ms=appeared,
            dismissed_ms=appeared + 50 * SECOND,
        )
        self.clicks.append(outcome.on_time)
        return appeared

    async def on_run_finished(self, event: RunFinished) -> None:
        pass

    async def on_room_closed(self, event: RoomClosed) -> None:
        pass


async def test_a_click_before_the_alarm_is_settled_is_judged_from_the_message(
    world: World,
) -> None:
    app = world.app
    room = await app.rooms.create(GUILD, ALICE, "Late wire", 5, 5, 1, "", "")
    await app.rooms.join(room.id, BOB)
    poster = SlowPoster(world, BOB)
    app.events.add_room_listener(poster)
    started = world.now_ms()
    view = await app.timers.start(room.id, ALICE)

    await world.advance_to(started + 5 * MINUTE_MS + 91 * SECOND)
    # 80 s after the boundary but 50 s after the alarm appeared: on time (60 s grace)
    assert poster.clicks == [True]
    [end] = world.seen.finished
    assert end.run_id == view.run_id and end.kings == (BOB,)

"""The listener hub gives every listener each event: one that fails never skips another's
work, and its failure is raised after all have run (so what was announced stays owed)."""

from __future__ import annotations

import pytest

from bot.domain.run import RoomKey
from bot.domain.timer import Pattern, Timer
from bot.services.events import BoundaryFired, ListenerHub, RoomClosed, RunFinished

KEY = RoomKey(1, 2)
TIMER = Timer(Pattern.from_minutes(5, 5, 1), 1_767_225_600_000)


class Listener:
    def __init__(self, fails: bool, reached: int | None = None) -> None:
        self.fails = fails
        self.reached = reached
        self.seen: list[str] = []

    async def on_boundary(self, event: BoundaryFired) -> int | None:
        self.seen.append("boundary")
        if self.fails:
            raise ConnectionError("down")
        return self.reached

    async def on_run_finished(self, event: RunFinished) -> None:
        self.seen.append("finished")
        if self.fails:
            raise ConnectionError("down")

    async def on_room_closed(self, event: RoomClosed) -> None:
        self.seen.append("closed")
        if self.fails:
            raise ConnectionError("down")


def boundary() -> BoundaryFired:
    b = TIMER.boundaries()[0]
    return BoundaryFired(KEY, 7, b, TIMER.pattern, b.at_ms, False, None, None)


async def test_a_failing_listener_skips_no_other_and_its_failure_is_raised_after() -> None:
    hub = ListenerHub()
    broken, poster = Listener(fails=True), Listener(fails=False, reached=1234)
    hub.add_room_listener(broken)
    hub.add_room_listener(poster)
    with pytest.raises(ConnectionError):
        await hub.on_boundary(boundary())
    with pytest.raises(ConnectionError):
        await hub.on_run_finished(RunFinished(KEY, 7, (), (), {}, 0))
    with pytest.raises(ConnectionError):
        await hub.on_room_closed(RoomClosed(KEY, None, None, "owner"))
    assert poster.seen == ["boundary", "finished", "closed"]
    assert broken.seen == ["boundary", "finished", "closed"]


async def test_without_failures_the_latest_reported_appearance_counts() -> None:
    hub = ListenerHub()
    for reached in (None, 1234, 1200):
        hub.add_room_listener(Listener(fails=False, reached=reached))
    assert await hub.on_boundary(boundary()) == 1234

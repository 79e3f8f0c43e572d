"""What the timer's parts share: the delivery constants, the views they return, the per-room
locks, and when a room next wakes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.domain.liveness import Liveness
from bot.domain.run import Run
from bot.domain.study import study_spans, total
from bot.domain.timer import Boundary, Pattern, TimerState
from storage.session.base import RoomKey

# a boundary posted this long after its instant is marked late (the bot was down or busy)
LATE_MS = 5_000
MAX_DELIVERY_ATTEMPTS = 120  # with a wake-up every few seconds: about a quarter of an hour
RETRY_MS = 5_000  # after a failed delivery, when the room is woken again
ANOTHER_PROCESS = "another process"  # owes an announcement whose claim this one lost


@dataclass(frozen=True, slots=True)
class TimerView:
    key: RoomKey
    run_id: int
    pattern: Pattern
    started_ms: int  # when the run began: the start of its first phase
    state: TimerState
    boundaries: tuple[Boundary, ...]
    fired_through: int
    finished: bool
    vote_until_ms: int | None
    now_ms: int
    run_no: int | None = None  # which run of the room this is
    # the owner's stop ended a count-up run with its results, not early without them
    ended_with_results: bool = False
    studied_ms: int = 0  # the run's study time so far, pauses left out
    # up to when the schedule is known (``Run.schedule_fixed_until``): what falls after it,
    # a flowtime owner may still move
    fixed_until_ms: int = 0


@dataclass(frozen=True, slots=True)
class DismissOutcome:
    boundary: int
    recorded: bool  # False: this member had already dismissed it
    on_time: bool
    dismissed_ms: int
    run_no: int | None = None  # which run of the room the alarm belongs to


def next_wakeup(
    run: Run, grace_ms: int, woke_ms: int | None = None, alive: Liveness | None = None
) -> int | None:
    """When the room next needs attention: the domain's ``Run.next_wakeup`` with this
    service's retry delay (``woke_ms``: rescheduling from a wake-up at that instant;
    ``alive``: who was alive, for the claims of other processes)."""
    return run.next_wakeup(grace_ms, RETRY_MS, woke_ms, alive)


class RoomLocks:
    """One lock per room in this process: controls, dismissals' checks and wake-ups of a
    room never interleave."""

    def __init__(self) -> None:
        self._locks: dict[RoomKey, asyncio.Lock] = {}

    def __call__(self, key: RoomKey) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def forget(self, key: RoomKey) -> None:
        self._locks.pop(key, None)


def view_of(key: RoomKey, state: Run, now: int) -> TimerView:
    return TimerView(
        key=key,
        run_id=state.run_id,
        pattern=state.timer.pattern,
        started_ms=state.timer.started_at_ms,
        state=state.timer.state_at(max(now, state.timer.started_at_ms)),
        boundaries=state.timer.boundaries(),
        fired_through=state.fired_through,
        finished=state.finished,
        vote_until_ms=state.vote_until_ms,
        now_ms=now,
        run_no=state.run_no,
        studied_ms=total(study_spans(state.timer, now)),
        fixed_until_ms=state.schedule_fixed_until(now),
    )

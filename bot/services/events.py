"""What the use cases tell the outside world (the Discord layer) has happened.

Services never import discord; they call a ``RoomListener`` that the cogs implement.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.domain.alarms import MemberResult
from bot.domain.timer import Boundary, Pattern, Phase
from bot.services.outage import storage_failure
from storage.session.base import RoomKey

if TYPE_CHECKING:
    from bot.services.timer.common import TimerView

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BoundaryFired:
    key: RoomKey
    run_id: int
    boundary: Boundary
    pattern: Pattern
    fired_ms: int
    late: bool  # posted well after its instant (the bot was down or busy)
    next_phase: Phase | None  # the phase that starts now; None when the run ended
    next_phase_ends_ms: int | None
    run_no: int | None = None  # which run of the room (None: not known for an old run)
    studied_ms: int = 0  # the run's study time up to this boundary, pauses left out
    phase_studied_ms: int = 0  # of that, the study time of the phase this boundary ends
    # an earlier attempt may have posted it unseen (its process died before recording the
    # message): the listener looks for that post before posting again
    retry: bool = False


@dataclass(frozen=True, slots=True)
class RunFinished:
    key: RoomKey
    run_id: int
    kings: tuple[int, ...]
    results: tuple[MemberResult, ...]
    refunds: dict[int, int] = field(default_factory=dict)  # user_id -> points refunded now
    vote_until_ms: int = 0
    retry: bool = False  # as ``BoundaryFired.retry``


@dataclass(frozen=True, slots=True)
class RoomClosed:
    key: RoomKey
    text_channel_id: int | None
    voice_channel_id: int | None
    reason: str  # "owner", "empty", "no_extension"


class RoomListener(Protocol):
    async def on_boundary(self, event: BoundaryFired) -> int | None:
        """Show the boundary; the instant (ms) its alarm reached the channel, when this
        listener posted it (or had posted it already), else None."""

    async def on_run_finished(self, event: RunFinished) -> int | None:
        """Show the results; the instant (ms) they reached the channel, when this listener
        posted them (or had posted them already), else None."""

    async def on_room_closed(self, event: RoomClosed) -> None: ...


@dataclass(frozen=True, slots=True)
class TodoCompleted:
    """A member ticked a todo; ``room_ids`` are the open rooms they are in (for the board)."""

    guild_id: int
    user_id: int
    todo_id: int
    text: str
    room_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RunEnding:
    """The room's run is about to leave the session store early: the owner stopped it, or
    the room is closing. Sent before the run is deleted, so a listener can still read it
    (study time is accounted up to ``at_ms`` from the run's phases and pauses)."""

    key: RoomKey
    at_ms: int


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A scheduled start happened: the run of ``view`` began on its own, for ``owner_id``
    (a start from ``/timer start`` is answered by the command itself)."""

    key: RoomKey
    owner_id: int
    view: TimerView


async def notify_run_started(listener: object, event: RunStarted) -> None:
    """Tell ``listener`` a scheduled run started, if it listens for that (optional hook)."""
    hook = getattr(listener, "on_run_started", None)
    if hook is not None:
        await hook(event)


async def notify_run_ending(listener: object, event: RunEnding) -> None:
    """Tell ``listener`` a run is ending, if it listens for that (an optional hook, so
    existing room listeners need not implement it)."""
    hook = getattr(listener, "on_run_ending", None)
    if hook is not None:
        await hook(event)


@dataclass(frozen=True, slots=True)
class TimerChanged:
    """The owner started, paused or resumed the room's run (boundaries, the end and a stop
    have events of their own): what the room's timer shows changed at ``at_ms``."""

    key: RoomKey
    at_ms: int


async def notify_timer_changed(listener: object, event: TimerChanged) -> None:
    """Tell ``listener`` the timer changed, if it listens for that (an optional hook)."""
    hook = getattr(listener, "on_timer_changed", None)
    if hook is not None:
        await hook(event)


class TodoListener(Protocol):
    async def on_todo_completed(self, event: TodoCompleted) -> None: ...


class ListenerHub:
    """Fans events out to whatever listeners are attached (the Discord cogs attach theirs
    once the bot is ready; before that, events only reach the recorders tests attach)."""

    def __init__(self) -> None:
        self._room: list[RoomListener] = []
        self._todo: list[TodoListener] = []

    def add_room_listener(self, listener: RoomListener) -> None:
        self._room.append(listener)

    def add_todo_listener(self, listener: TodoListener) -> None:
        self._todo.append(listener)

    async def on_boundary(self, event: BoundaryFired) -> int | None:
        """Every listener shows the boundary; when the alarm reached the channel, as the one
        that posted it says."""
        reached: int | None = None
        async with _each_runs() as failures:
            for listener in list(self._room):
                with failures.kept():
                    at = await listener.on_boundary(event)
                    if at is not None:
                        reached = at if reached is None else max(reached, at)
        return reached

    async def on_run_finished(self, event: RunFinished) -> int | None:
        """Every listener shows the results; when they reached the channel, as the one that
        posted them says."""
        reached: int | None = None
        async with _each_runs() as failures:
            for listener in list(self._room):
                with failures.kept():
                    at = await listener.on_run_finished(event)
                    if at is not None:
                        reached = at if reached is None else max(reached, at)
        return reached

    async def on_room_closed(self, event: RoomClosed) -> None:
        async with _each_runs() as failures:
            for listener in list(self._room):
                with failures.kept():
                    await listener.on_room_closed(event)

    async def on_run_ending(self, event: RunEnding) -> None:
        async with _each_runs() as failures:
            for listener in list(self._room):
                with failures.kept():
                    await notify_run_ending(listener, event)

    async def on_run_started(self, event: RunStarted) -> None:
        async with _each_runs() as failures:
            for listener in list(self._room):
                with failures.kept():
                    await notify_run_started(listener, event)

    async def on_timer_changed(self, event: TimerChanged) -> None:
        async with _each_runs() as failures:
            for listener in list(self._room):
                with failures.kept():
                    await notify_timer_changed(listener, event)

    async def on_todo_completed(self, event: TodoCompleted) -> None:
        async with _each_runs() as failures:
            for listener in list(self._todo):
                with failures.kept():
                    await listener.on_todo_completed(event)


class _Failures:
    def __init__(self) -> None:
        self.first: Exception | None = None

    @contextlib.contextmanager
    def kept(self) -> Iterator[None]:
        try:
            yield
        except Exception as error:
            if self.first is None:
                self.first = error
            elif storage_failure(error) is not None:  # the outage is said once, elsewhere
                log.debug("another listener failed too", exc_info=True)
            else:
                log.warning("another listener failed too", exc_info=True)


@contextlib.asynccontextmanager
async def _each_runs() -> AsyncIterator[_Failures]:
    """Every listener gets the event even when one before it fails; the first failure is
    raised after all have run, so the announcement stays owed and is delivered again
    (listeners are idempotent: a repeat changes nothing for those that succeeded)."""
    failures = _Failures()
    yield failures
    if failures.first is not None:
        raise failures.first

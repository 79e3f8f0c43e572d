"""The shared timer of a room: owner controls, boundaries, dismissals and the end of a run.

The run state in the session store is the truth; the scheduler only holds a wake-up per room.
``wake`` is idempotent: it posts every boundary that is due and not yet posted (a claim in the
store makes each post happen once, even across processes and restarts), finishes the run once
the last alarm's grace window has passed, and closes the room when nobody extended it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.clock import Clock
from bot.domain.alarms import MemberSpan, is_on_time, run_results
from bot.domain.errors import InvalidTimerAction, NotFound, NotMember, NotOwner, RoomClosed
from bot.domain.points import refund_key
from bot.domain.timer import Boundary, Pattern, Timer, TimerState
from bot.services.events import BoundaryFired, RoomListener, RunFinished
from bot.services.points import refund_in
from bot.services.ports import WakeScheduler
from bot.services.rooms import RoomService, key_of, open_room
from bot.services.settings import ServiceSettings
from storage.models import AlarmDismissal, RunResult
from storage.session.base import RoomKey, RunState, SessionStore
from storage.uow import UnitOfWorkFactory

# a boundary posted this long after its instant is marked late (the bot was down or busy)
LATE_MS = 5_000
VOTE_UNTIL = "vote_until_ms"


@dataclass(frozen=True, slots=True)
class TimerView:
    key: RoomKey
    run_id: int
    pattern: Pattern
    state: TimerState
    boundaries: tuple[Boundary, ...]
    fired_through: int
    finished: bool
    vote_until_ms: int | None
    now_ms: int


@dataclass(frozen=True, slots=True)
class DismissOutcome:
    boundary: int
    recorded: bool  # False: this member had already dismissed it
    on_time: bool
    dismissed_ms: int


def next_wakeup(state: RunState, grace_ms: int) -> int | None:
    """When the room next needs attention: its next boundary, the end of the last alarm's
    grace window, or the end of the extension vote. None while paused."""
    if state.finished:
        vote = state.extra.get(VOTE_UNTIL)
        return int(vote) if vote is not None else None
    count = state.timer.pattern.boundary_count
    bounds = state.timer.boundaries()
    if state.fired_through >= count:
        return bounds[-1].at_ms + grace_ms
    for b in bounds:
        if b.index == state.fired_through + 1:
            return b.at_ms
    return None  # paused: the next boundary is not known yet


class TimerService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        store: SessionStore,
        scheduler: WakeScheduler,
        listener: RoomListener,
        clock: Clock,
        settings: ServiceSettings,
        rooms: RoomService,
    ) -> None:
        self._uow = uow_factory
        self._store = store
        self._scheduler = scheduler
        self._listener = listener
        self._clock = clock
        self._settings = settings
        self._rooms = rooms
        self._locks: dict[RoomKey, asyncio.Lock] = {}

    def _lock(self, key: RoomKey) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    # -- owner controls -------------------------------------------------------------------

    async def start(self, room_id: int, user_id: int) -> TimerView:
        return await self._start(room_id, user_id, owner_only=True)

    async def extend(self, room_id: int, user_id: int) -> TimerView:
        """Any member keeps the room for another run with the same pattern, during the vote."""
        return await self._start(room_id, user_id, owner_only=False)

    async def _start(self, room_id: int, user_id: int, *, owner_only: bool) -> TimerView:
        async with self._uow() as uow:
            room = await open_room(uow, room_id)
            key = key_of(room)
        async with self._lock(key):
            now = self._clock.now_ms()
            async with self._uow() as uow:
                room = await open_room(uow, room_id, lock=True)
                if owner_only and room.owner_id != user_id:
                    raise NotOwner()
                if not owner_only and await uow.rooms.active_membership(room_id, user_id) is None:
                    raise NotMember()
                current = await self._store.get_run(key)
                if current is not None and not current.finished:
                    raise InvalidTimerAction("already_running")
                if not owner_only:
                    vote = current.extra.get(VOTE_UNTIL) if current else None
                    if vote is None or now >= int(vote):
                        raise InvalidTimerAction("no_vote")
                pattern = Pattern(room.study_ms, room.break_ms, room.terms)
                run = await uow.runs.add(
                    room_id=room.id,
                    run_no=await uow.runs.last_run_no(room.id) + 1,
                    study_ms=pattern.study_ms,
                    break_ms=pattern.break_ms,
                    terms=pattern.terms,
                    started_ms=now,
                    status="running",
                )
                await uow.commit()
            if current is not None:
                await self._store.delete_run(key)
            state = RunState(run.id, Timer(pattern, now))
            await self._store.put_run(key, state)
            self._reschedule(key, state)
            return self._view(key, state, now)

    async def pause(self, room_id: int, user_id: int) -> TimerView:
        return await self._control(room_id, user_id, "pause")

    async def resume(self, room_id: int, user_id: int) -> TimerView:
        return await self._control(room_id, user_id, "resume")

    async def skip(self, room_id: int, user_id: int) -> TimerView:
        view = await self._control(room_id, user_id, "skip")
        await self.wake(view.key)  # the skipped phase's alarm falls now
        return await self.status_of(view.key) or view

    async def stop(self, room_id: int, user_id: int) -> TimerView:
        """End the run early: no kings, no refunds. The room stays open."""
        view = await self._control(room_id, user_id, "stop")
        async with self._lock(view.key):
            async with self._uow() as uow:
                run = await uow.runs.get(view.run_id)
                if run is not None and run.status == "running":
                    await uow.runs.finish(run, "stopped", view.now_ms)
                await uow.commit()
            await self._store.delete_run(view.key)
            self._scheduler.cancel(view.key)
        return view

    async def _control(self, room_id: int, user_id: int, action: str) -> TimerView:
        async with self._uow() as uow:
            room = await open_room(uow, room_id)
        if room.owner_id != user_id:
            raise NotOwner()
        key = key_of(room)
        async with self._lock(key):
            state = await self._store.get_run(key)
            if state is None or state.finished:
                raise InvalidTimerAction("not_running")
            now = self._clock.now_ms()
            timer = state.timer
            if action == "pause":
                timer = timer.pause(now)
            elif action == "resume":
                timer = timer.resume(now)
            elif action == "skip":
                timer = timer.skip(now)
            else:
                timer = timer.stop(now)
            state = state.with_timer(timer)
            if action != "stop":
                await self._store.put_run(key, state)
                self._reschedule(key, state)
            return self._view(key, state, now)

    # -- queries --------------------------------------------------------------------------

    async def status(self, room_id: int) -> TimerView | None:
        async with self._uow() as uow:
            room = await uow.rooms.get(room_id)
            if room is None:
                raise NotFound("room")
        return await self.status_of(key_of(room))

    async def status_of(self, key: RoomKey) -> TimerView | None:
        state = await self._store.get_run(key)
        if state is None:
            return None
        return self._view(key, state, self._clock.now_ms())

    def _view(self, key: RoomKey, state: RunState, now: int) -> TimerView:
        vote = state.extra.get(VOTE_UNTIL)
        return TimerView(
            key=key,
            run_id=state.run_id,
            pattern=state.timer.pattern,
            state=state.timer.state_at(max(now, state.timer.started_at_ms)),
            boundaries=state.timer.boundaries(),
            fired_through=state.fired_through,
            finished=state.finished,
            vote_until_ms=int(vote) if vote is not None else None,
            now_ms=now,
        )

    # -- alarms ---------------------------------------------------------------------------

    async def dismiss(
        self, key: RoomKey, run_id: int, boundary: int, user_id: int
    ) -> DismissOutcome:
        """A member dismisses alarm #boundary. The first dismissal counts; a repeat changes
        nothing and says so (``recorded`` False)."""
        now = self._clock.now_ms()
        members = await self._store.get_members(key)
        joined = members.get(user_id)
        if joined is None:
            raise NotMember()
        state = await self._store.get_run(key)
        if state is None or state.run_id != run_id or state.finished:
            raise InvalidTimerAction("run_over")
        if not 1 <= boundary <= state.fired_through:
            raise NotFound("alarm")
        b = state.timer.boundaries()[boundary - 1]
        if b.at_ms < joined:
            raise InvalidTimerAction("alarm_before_join")
        recorded = await self._store.add_dismissal(key, run_id, boundary, user_id, now)
        at = now
        if not recorded:
            at = (await self._store.get_dismissals(key, run_id))[(boundary, user_id)]
        return DismissOutcome(
            boundary, recorded, is_on_time(b.at_ms, at, self._settings.alarm_grace_seconds), at
        )

    # -- the scheduler's callback ---------------------------------------------------------

    async def wake(self, key: RoomKey) -> None:
        close = False
        async with self._lock(key):
            state = await self._store.get_run(key)
            if state is None:
                return
            now = self._clock.now_ms()
            if not state.finished:
                state = await self._fire_due(key, state, now)
                count = state.timer.pattern.boundary_count
                if state.fired_through >= count:
                    last = state.timer.boundaries()[-1]
                    if now >= last.at_ms + self._settings.grace_ms:
                        state = await self._finish(key, state, now)
            else:
                vote = state.extra.get(VOTE_UNTIL)
                close = vote is not None and now >= int(vote)
            if not close:
                self._reschedule(key, state)
        if close:
            with contextlib.suppress(NotFound, RoomClosed):  # closed meanwhile
                await self._rooms.close(key.room_id, None, "no_extension")
            self._locks.pop(key, None)

    async def _fire_due(self, key: RoomKey, state: RunState, now: int) -> RunState:
        timer = state.timer
        bounds = timer.boundaries()
        for b in timer.due(state.fired_through, now):
            claimed = await self._store.claim(key, f"b:{state.run_id}:{b.index}")
            # progress is saved before posting: a crash after this may lose a post, never
            # double one (the claim guards other processes too)
            state = replace(state, fired_through=b.index)
            await self._store.put_run(key, state)
            if not claimed:
                continue
            next_phase = None if b.last else timer.pattern.phase(b.index + 1)
            next_end = bounds[b.index].at_ms if not b.last and len(bounds) > b.index else None
            await self._listener.on_boundary(
                BoundaryFired(
                    key=key,
                    run_id=state.run_id,
                    boundary=b,
                    pattern=timer.pattern,
                    fired_ms=now,
                    late=now - b.at_ms > LATE_MS,
                    next_phase=next_phase,
                    next_phase_ends_ms=next_end,
                )
            )
        return state

    async def _finish(self, key: RoomKey, state: RunState, now: int) -> RunState:
        """Kings, refunds and results in one transaction; announced once."""
        vote_until = now + self._settings.vote_ms
        finished = replace(state, finished=True, extra={**state.extra, VOTE_UNTIL: vote_until})
        if not await self._store.claim(key, f"finish:{state.run_id}"):
            await self._store.put_run(key, finished)
            return finished
        dismissals = await self._store.get_dismissals(key, state.run_id)
        bounds = state.timer.boundaries()
        grace_s = self._settings.alarm_grace_seconds
        refunds: dict[int, int] = {}
        async with self._uow() as uow:
            memberships = await uow.rooms.memberships(key.room_id)
            spans: dict[int, list[MemberSpan]] = {}
            for m in memberships:
                if m.left_ms is not None and m.left_ms <= state.timer.started_at_ms:
                    continue  # left before this run began
                spans.setdefault(m.user_id, []).append(
                    MemberSpan(m.user_id, m.joined_ms, m.left_ms)
                )
            results = run_results(bounds, spans, dismissals, grace_s)
            rows: list[RunResult] = []
            for result in results:
                user_id = result.user_id
                refund_id: int | None = None
                if result.is_king:
                    paid = [m for m in memberships if m.user_id == user_id and m.payment_entry_id]
                    if paid:
                        payment_id = paid[-1].payment_entry_id
                        assert payment_id is not None
                        already = await uow.ledger.by_key(refund_key(payment_id))
                        entry = await refund_in(uow, payment_id, f"run:{state.run_id}", now)
                        refund_id = entry.id
                        if already is None:
                            refunds[user_id] = entry.amount
                rows.append(
                    RunResult(
                        run_id=state.run_id,
                        user_id=user_id,
                        alarms=result.alarms,
                        dismissed=result.dismissed,
                        on_time=result.on_time,
                        is_king=result.is_king,
                        refund_entry_id=refund_id,
                    )
                )
            await uow.runs.add_results(rows)
            await uow.runs.add_dismissals(
                AlarmDismissal(
                    run_id=state.run_id,
                    boundary=boundary,
                    user_id=user_id,
                    dismissed_ms=at,
                    on_time=is_on_time(bounds[boundary - 1].at_ms, at, grace_s),
                )
                for (boundary, user_id), at in dismissals.items()
                if 1 <= boundary <= len(bounds)
            )
            run = await uow.runs.get(state.run_id)
            if run is not None:
                await uow.runs.finish(run, "finished", now)
            await uow.commit()
        await self._store.put_run(key, finished)
        kings = tuple(sorted(r.user_id for r in results if r.is_king))
        await self._listener.on_run_finished(
            RunFinished(key, state.run_id, kings, tuple(results), refunds, vote_until)
        )
        return finished

    def _reschedule(self, key: RoomKey, state: RunState) -> None:
        at = next_wakeup(state, self._settings.grace_ms)
        if at is None:
            self._scheduler.cancel(key)
        else:
            self._scheduler.schedule(key, at)

    # -- start-up -------------------------------------------------------------------------

    async def restore(self, owns: Callable[[RoomKey], bool] | None = None) -> int:
        """Reschedule every stored run (after a restart); due wake-ups run at once.
        ``owns`` keeps only the rooms this process serves (its shards' guilds)."""
        keys = await self._store.running_rooms()
        if owns is not None:
            keys = [k for k in keys if owns(k)]
        states = await self._store.get_runs(keys)
        for key, state in states.items():
            self._reschedule(key, state)
        return len(states)

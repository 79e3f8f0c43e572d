"""The shared timer of a room: owner controls, boundaries, dismissals and the end of a run.

The run state in the session store is the truth; the scheduler only holds a wake-up per room.
``wake`` is idempotent: it posts every boundary that is due and not yet posted (a claim in the
store makes each post happen once, even across processes and restarts), finishes the run once
the last alarm's grace window has passed, and closes the room when nobody extended it.

Delivery to the Discord layer can fail (Discord answers 5xx or 429, the process dies mid-post).
Each claimed announcement is recorded as *owed* in the run state before the listener is called
and marked delivered after it returned; a later wake-up delivers what is still owed, claiming
the attempt so two processes never deliver the same attempt. The listener is idempotent too
(it remembers the message it posted), so a retry after an unseen success posts nothing new.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.clock import Clock
from bot.domain.alarms import MemberResult, MemberSpan, is_on_time, rang_at, run_results
from bot.domain.errors import InvalidTimerAction, NotFound, NotMember, NotOwner, RoomClosed
from bot.domain.points import refund_key
from bot.domain.timer import Boundary, Pattern, Timer, TimerState
from bot.services.events import (
    BoundaryFired,
    RoomListener,
    RunEnding,
    RunFinished,
    notify_run_ending,
)
from bot.services.points import refund_in
from bot.services.ports import WakeScheduler
from bot.services.rooms import RoomService, key_of, open_room
from bot.services.settings import ServiceSettings
from storage.models import AlarmDismissal, RunResult
from storage.session.base import RoomKey, RunState, SessionStore
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)

# a boundary posted this long after its instant is marked late (the bot was down or busy)
LATE_MS = 5_000
VOTE_UNTIL = "vote_until_ms"
# announcements claimed but not yet delivered: {"b:<index>" | "end": {"n", "by", "at"}}
OWED = "owed"
ANNOUNCE = "announce"  # what the end-of-run announcement says, kept until it is delivered
# when each alarm reached the channel (its message's creation time): {"<index>": ms}; the
# grace window counts from there, never from the boundary instant
REACHED = "reached"
# another process takes over an undelivered announcement only after this long (its owner may
# still be retrying); the owner itself retries at its next wake-up
OWED_LEASE_MS = 120_000
MAX_DELIVERY_ATTEMPTS = 120  # with a wake-up every few seconds: about a quarter of an hour
RETRY_MS = 5_000  # after a failed delivery, when the room is woken again
END = "end"


def _delivery_order(what: str) -> tuple[bool, int]:
    """Boundaries in order, the end of the run last."""
    return (what == END, 0 if what == END else int(what.removeprefix("b:")))


def delivered_marker(run_id: int, what: str) -> str:
    """The session-store name recording that announcement ``what`` of the run was delivered."""
    return f"delivered:{run_id}:{what}"


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


def reached_times(state: RunState) -> dict[int, int]:
    """{boundary index: when its alarm reached the channel}, for the alarms known delivered."""
    return {int(k): int(v) for k, v in (state.extra.get(REACHED) or {}).items()}


def owed_retry_ms(state: RunState) -> int | None:
    """When what is owed (an alarm or the results not yet delivered) is next tried: shortly
    after the last attempt, so a restart or a passing failure never leaves it waiting for
    the next boundary or the vote deadline."""
    owed: dict[str, dict[str, Any]] = state.extra.get(OWED) or {}
    if not owed:
        return None
    return min(int(entry.get("at", 0)) for entry in owed.values()) + RETRY_MS


def last_alarm_settled_ms(state: RunState, grace_ms: int) -> int | None:
    """When the last alarm's grace window ends (from when it reached the channel); None
    while it is still owed (its grace has not begun)."""
    last = state.timer.boundaries()[-1]
    if f"b:{last.index}" in (state.extra.get(OWED) or {}):
        return None
    return rang_at(last, reached_times(state)) + grace_ms


def next_wakeup(state: RunState, grace_ms: int) -> int | None:
    """When the room next needs attention: a retry of what is owed, its next boundary, the
    end of the last alarm's grace window, or the end of the extension vote. None while
    paused with nothing owed."""
    retry = owed_retry_ms(state)
    at: int | None
    if state.finished:
        vote = state.extra.get(VOTE_UNTIL)
        at = int(vote) if vote is not None else None
    elif state.fired_through >= state.timer.pattern.boundary_count:
        at = last_alarm_settled_ms(state, grace_ms)
    else:
        at = next(
            (b.at_ms for b in state.timer.boundaries() if b.index == state.fired_through + 1),
            None,  # paused: the next boundary is not known yet
        )
    candidates = [t for t in (at, retry) if t is not None]
    return min(candidates) if candidates else None


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
        self._token = uuid.uuid4().hex[:12]  # this process, in owed-delivery records

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
                # the stored run counts only if SQL knows it as this room's: running, or
                # finished (in its extension vote). Anything else was left by a crash or by
                # another database whose room had this id: stale, it never blocks a start.
                stored = current = await self._store.get_run(key)
                if stored is not None and not stored.finished:
                    running = await uow.runs.current(room.id)
                    if running is None or running.id != stored.run_id:
                        current = None
                elif stored is not None:
                    ended = await uow.runs.get(stored.run_id)
                    if ended is None or ended.room_id != room.id or ended.status != "finished":
                        current = None
                if current is not None and not current.finished:
                    raise InvalidTimerAction("already_running")
                if not owner_only:
                    vote = current.extra.get(VOTE_UNTIL) if current else None
                    if vote is None or now >= int(vote):
                        raise InvalidTimerAction("no_vote")
                orphan = await uow.runs.current(room.id)
                if orphan is not None and (current is None or current.run_id != orphan.id):
                    # SQL still counts a run as running whose live state is gone (the store
                    # was lost or cleared): nothing of it can be announced any more
                    await uow.runs.finish(orphan, "stopped", now)
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
            if stored is not None:
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
        try:
            await self.wake(view.key)  # the skipped phase's alarm falls now
        except Exception:  # the alarm stays owed; a wake-up shortly delivers it
            log.exception("posting the skipped phase's alarm in room %s failed", view.key)
            self._scheduler.schedule(view.key, self._clock.now_ms() + RETRY_MS)
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
            await notify_run_ending(self._listener, RunEnding(view.key, view.now_ms))
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
                if action != "skip":  # skip wakes the room itself, right after
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
        rang = rang_at(b, reached_times(state))
        return DismissOutcome(
            boundary, recorded, is_on_time(rang, at, self._settings.alarm_grace_seconds), at
        )

    # -- the scheduler's callback ---------------------------------------------------------

    async def wake(self, key: RoomKey) -> None:
        close = False
        async with self._lock(key):
            state = await self._store.get_run(key)
            if state is None:
                return
            now = self._clock.now_ms()
            state = await self._deliver_owed(key, state, now)
            if not state.finished:
                state = await self._fire_due(key, state, now)
                if state.fired_through >= state.timer.pattern.boundary_count:
                    settled = last_alarm_settled_ms(state, self._settings.grace_ms)
                    if settled is not None and now >= settled:
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
        for b in state.timer.due(state.fired_through, now):
            claimed = await self._store.claim(key, f"b:{state.run_id}:{b.index}")
            # progress (and, when ours to post, the debt) is saved before posting: a crash
            # after this leaves the post owed, to be delivered by the next wake-up
            state = replace(state, fired_through=b.index)
            if claimed:
                state = self._owe(state, f"b:{b.index}", now, attempt=1)
            await self._store.put_run(key, state)
            if claimed:
                state = await self._deliver(key, state, f"b:{b.index}", now)
        return state

    # -- owed announcements ---------------------------------------------------------------

    def _owe(self, state: RunState, what: str, now: int, attempt: int) -> RunState:
        owed = dict(state.extra.get(OWED) or {})
        owed[what] = {"n": attempt, "by": self._token, "at": now}
        return replace(state, extra={**state.extra, OWED: owed})

    @staticmethod
    def _settle_owed(state: RunState, done: set[str]) -> RunState:
        owed = {k: v for k, v in (state.extra.get(OWED) or {}).items() if k not in done}
        extra = (
            {**state.extra, OWED: owed}
            if owed
            else {k: v for k, v in state.extra.items() if k != OWED}
        )
        if END in done:
            extra.pop(ANNOUNCE, None)
        return replace(state, extra=extra)

    async def _deliver(self, key: RoomKey, state: RunState, what: str, now: int) -> RunState:
        """Hand announcement ``what`` to the listener; on success mark it delivered. A failure
        propagates (the scheduler retries the wake-up) and leaves it owed."""
        if what == END:
            # the vote window opens when the results can be seen, not when they were
            # computed: a results post that failed for a while still gets the whole window
            vote_until = now + self._settings.vote_ms
            state = replace(state, extra={**state.extra, VOTE_UNTIL: vote_until})
            await self._store.put_run(key, state)
            await self._listener.on_run_finished(self._finished_event(key, state))
        else:
            index = int(what.removeprefix("b:"))
            reached = await self._listener.on_boundary(self._boundary_event(key, state, index, now))
            if reached is not None:
                times = {**(state.extra.get(REACHED) or {}), str(index): reached}
                state = replace(state, extra={**state.extra, REACHED: times})
        await self._store.set_message(key, delivered_marker(state.run_id, what), 1)
        state = self._settle_owed(state, {what})
        await self._store.put_run(key, state)
        return state

    async def _deliver_owed(self, key: RoomKey, state: RunState, now: int) -> RunState:
        """Deliver what an earlier wake-up claimed but could not deliver, in order."""
        owed: dict[str, dict[str, Any]] = dict(state.extra.get(OWED) or {})
        if not owed:
            return state
        markers = await self._store.get_messages(key)
        stale = {what for what in owed if delivered_marker(state.run_id, what) in markers}
        for what, entry in owed.items():
            if what not in stale and int(entry.get("n", 1)) >= MAX_DELIVERY_ATTEMPTS:
                log.error("room %s: giving up on announcing %s of run %s", key, what, state.run_id)
                stale.add(what)
        if stale:
            state = self._settle_owed(state, stale)
            await self._store.put_run(key, state)
        for what in sorted(set(owed) - stale, key=_delivery_order):
            entry = owed[what]
            if entry.get("by") != self._token and now - int(entry.get("at", 0)) < OWED_LEASE_MS:
                continue  # another process is still retrying it
            attempt = int(entry.get("n", 1)) + 1
            if not await self._store.claim(key, f"{what}:{state.run_id}:try{attempt}"):
                continue  # another process took this attempt
            state = self._owe(state, what, now, attempt)
            await self._store.put_run(key, state)
            state = await self._deliver(key, state, what, now)
        return state

    def _boundary_event(self, key: RoomKey, state: RunState, index: int, now: int) -> BoundaryFired:
        timer = state.timer
        bounds = timer.boundaries()
        b = bounds[index - 1]
        next_phase = None if b.last else timer.pattern.phase(b.index + 1)
        next_end = bounds[b.index].at_ms if not b.last and len(bounds) > b.index else None
        return BoundaryFired(
            key=key,
            run_id=state.run_id,
            boundary=b,
            pattern=timer.pattern,
            fired_ms=now,
            late=now - b.at_ms > LATE_MS,
            next_phase=next_phase,
            next_phase_ends_ms=next_end,
        )

    @staticmethod
    def _finished_event(key: RoomKey, state: RunState) -> RunFinished:
        a = state.extra.get(ANNOUNCE) or {}
        return RunFinished(
            key,
            state.run_id,
            tuple(int(u) for u in a.get("kings", ())),
            tuple(MemberResult(*r) for r in a.get("results", ())),
            {int(u): int(p) for u, p in (a.get("refunds") or {}).items()},
            int(state.extra.get(VOTE_UNTIL) or 0),
        )

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
            started = state.timer.started_at_ms
            # the stays of this run: not ended before it began, and not a join that was taken
            # back at once (zero length, its payment already returned)
            stays = [
                m
                for m in await uow.rooms.memberships(key.room_id)
                if (m.left_ms is None or m.left_ms > started) and m.left_ms != m.joined_ms
            ]
            spans: dict[int, list[MemberSpan]] = {}
            for m in stays:
                spans.setdefault(m.user_id, []).append(
                    MemberSpan(m.user_id, m.joined_ms, m.left_ms)
                )
            reached = reached_times(state)
            results = run_results(bounds, spans, dismissals, grace_s, reached)
            rows: list[RunResult] = []
            for result in results:
                user_id = result.user_id
                refund_id: int | None = None
                if result.is_king:
                    # every payment for a stay of this run (a rejoin paid again), each once
                    paid = [
                        m.payment_entry_id
                        for m in stays
                        if m.user_id == user_id and m.payment_entry_id is not None
                    ]
                    for payment_id in paid:
                        already = await uow.ledger.by_key(refund_key(payment_id))
                        entry = await refund_in(uow, payment_id, f"run:{state.run_id}", now)
                        refund_id = entry.id
                        if already is None:
                            refunds[user_id] = refunds.get(user_id, 0) + entry.amount
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
                    on_time=is_on_time(rang_at(bounds[boundary - 1], reached), at, grace_s),
                )
                for (boundary, user_id), at in dismissals.items()
                if 1 <= boundary <= len(bounds)
            )
            run = await uow.runs.get(state.run_id)
            if run is not None:
                await uow.runs.finish(run, "finished", now)
            await uow.commit()
        kings = sorted(r.user_id for r in results if r.is_king)
        announce = {
            "kings": kings,
            "results": [[r.user_id, r.alarms, r.dismissed, r.on_time, r.is_king] for r in results],
            "refunds": {str(u): p for u, p in refunds.items()},
        }
        finished = self._owe(
            replace(finished, extra={**finished.extra, ANNOUNCE: announce}), END, now, 1
        )
        await self._store.put_run(key, finished)
        return await self._deliver(key, finished, END, now)

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
            owed = state.extra.get(OWED)
            if owed:  # this process serves the room now: what the last one owed is ours
                adopted = {w: {**e, "by": self._token} for w, e in owed.items()}
                await self._store.put_run(key, replace(state, extra={**state.extra, OWED: adopted}))
            self._reschedule(key, state)
        return len(states)

"""The shared timer of a room: owner controls, boundaries, dismissals and the end of a run.

The run state in the session store is the truth; the scheduler only holds a wake-up per room.
``wake`` is idempotent: it posts every boundary that is due and not yet posted (a claim in the
store makes each post happen once, even across processes and restarts), finishes the run once
the last alarm's grace window has passed, and closes the room when nobody extended it.

Delivery to the Discord layer can fail (Discord answers 5xx or 429, the process dies mid-post).
Each claimed announcement is recorded as *owed* in the run (``bot.domain.run.Run``) before the
listener is called and settled after it returned; a later wake-up delivers what is still owed,
claiming the attempt so two processes never deliver the same attempt. The listener is the one
idempotency mechanism per announcement (it remembers the message it posted), so a retry after
an unseen success posts nothing new.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from bot.clock import Clock
from bot.domain.alarms import MemberSpan, is_on_time, run_results
from bot.domain.errors import InvalidTimerAction, NotFound, NotMember, NotOwner, RoomClosed
from bot.domain.run import Owed, Run, RunOutcome
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
from storage.models import AlarmDismissal, RunResult, RunStatus
from storage.session.base import RoomKey, SessionStore
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)

# a boundary posted this long after its instant is marked late (the bot was down or busy)
LATE_MS = 5_000
# another process takes over an undelivered announcement only after this long (its owner may
# still be retrying); the owner itself retries at its next wake-up
OWED_LEASE_MS = 120_000
MAX_DELIVERY_ATTEMPTS = 120  # with a wake-up every few seconds: about a quarter of an hour
RETRY_MS = 5_000  # after a failed delivery, when the room is woken again
ANOTHER_PROCESS = "another process"  # owes an announcement whose claim this one lost


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


def next_wakeup(run: Run, grace_ms: int) -> int | None:
    """When the room next needs attention (``Run.next_wakeup`` with this service's retry)."""
    return run.next_wakeup(grace_ms, RETRY_MS)


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
                if not owner_only and (current is None or not current.vote_open(now)):
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
            state = Run(run.id, Timer(pattern, now))
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

    def _view(self, key: RoomKey, state: Run, now: int) -> TimerView:
        return TimerView(
            key=key,
            run_id=state.run_id,
            pattern=state.timer.pattern,
            state=state.timer.state_at(max(now, state.timer.started_at_ms)),
            boundaries=state.timer.boundaries(),
            fired_through=state.fired_through,
            finished=state.finished,
            vote_until_ms=state.vote_until_ms,
            now_ms=now,
        )

    # -- alarms ---------------------------------------------------------------------------

    async def dismiss(
        self,
        key: RoomKey,
        run_id: int,
        boundary: int,
        user_id: int,
        *,
        alarm_shown_ms: int | None = None,
        dismissed_ms: int | None = None,
    ) -> DismissOutcome:
        """A member dismisses alarm #boundary. The first dismissal counts; a repeat changes
        nothing and says so (``recorded`` False).

        ``alarm_shown_ms`` is when the alarm message was created and ``dismissed_ms`` when
        Discord created the click (both from snowflakes, one clock): a click that lands
        before the wake-up has saved when its alarm appeared is judged from the message,
        not from the boundary. Without them, this process's clock stands in."""
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
        rang = max(state.rang_at(b), alarm_shown_ms or 0)
        # a dismissal cannot precede its alarm: a clock a little behind Discord's (a
        # reaction has no snowflake of its own) must not turn a prompt dismissal late
        at = max(dismissed_ms if dismissed_ms is not None else now, rang)
        recorded = await self._store.add_dismissal(key, run_id, boundary, user_id, at)
        if not recorded:
            at = (await self._store.get_dismissals(key, run_id))[(boundary, user_id)]
        return DismissOutcome(
            boundary, recorded, is_on_time(rang, at, self._settings.alarm_grace_seconds), at
        )

    # -- the scheduler's callback ---------------------------------------------------------

    async def wake(self, key: RoomKey) -> None:
        close = False
        async with self._lock(key):
            run = await self._store.get_run(key)
            if run is None:
                return
            now = self._clock.now_ms()
            run = await self._deliver_owed(key, run, now)
            if not run.finished:
                run = await self._fire_due(key, run, now)
                if run.ready_to_finish(now, self._settings.grace_ms):
                    run = await self._finish(key, run, now)
            else:
                close = run.vote_over(now)
            if not close:
                self._reschedule(key, run, now)
        if close:
            with contextlib.suppress(NotFound, RoomClosed):  # closed meanwhile
                await self._rooms.close(key.room_id, None, "no_extension")
            self._locks.pop(key, None)

    async def _fire_due(self, key: RoomKey, run: Run, now: int) -> Run:
        for b in run.due(now):
            claimed = await self._store.claim(key, f"b:{run.run_id}:{b.index}")
            # progress (and, when ours to post, the debt) is saved before posting: a crash
            # after this leaves the post owed, to be delivered by the next wake-up
            run = run.claim_alarm(b.index, self._token, now) if claimed else run.skip_alarm(b.index)
            await self._store.put_run(key, run)
            if claimed:
                run = await self._deliver_alarm(key, run, b.index, now)
        return run

    # -- owed announcements ---------------------------------------------------------------

    async def _deliver_alarm(self, key: RoomKey, run: Run, index: int, now: int) -> Run:
        """Hand alarm ``index`` to the listener; settle it with when it appeared. A failure
        propagates (the scheduler retries the wake-up) and leaves it owed; the listener is
        idempotent, so a retry after an unseen success posts nothing new."""
        appeared = await self._listener.on_boundary(self._boundary_event(key, run, index, now))
        run = run.alarm_delivered(index, appeared)
        await self._store.put_run(key, run)
        return run

    async def _deliver_results(self, key: RoomKey, run: Run) -> Run:
        await self._listener.on_run_finished(self._finished_event(key, run))
        run = run.results_delivered()
        await self._store.put_run(key, run)
        return run

    def _takes_over(self, owed: Owed, now: int) -> bool:
        """Whether this process makes the next attempt (its own, or one left for too long)."""
        return owed.by == self._token or now - owed.at_ms >= OWED_LEASE_MS

    async def _deliver_owed(self, key: RoomKey, run: Run, now: int) -> Run:
        """Deliver what an earlier wake-up claimed but could not deliver, in order: the
        alarms, then the results."""
        for index in sorted(run.owed_alarms):
            owed = run.owed_alarms[index]
            if owed.attempt >= MAX_DELIVERY_ATTEMPTS:
                log.error("room %s: giving up on alarm #%s of run %s", key, index, run.run_id)
                run = run.give_up_alarm(index)
                await self._store.put_run(key, run)
                continue
            if not self._takes_over(owed, now):
                continue  # another process is still retrying it
            if not await self._store.claim(key, f"b:{index}:{run.run_id}:try{owed.attempt + 1}"):
                run = run.attempt_taken(index, now)  # and, if it died, the next one is ours
                await self._store.put_run(key, run)
                continue
            run = run.retry_alarm(index, self._token, now)
            await self._store.put_run(key, run)
            run = await self._deliver_alarm(key, run, index, now)
        owed_results = run.owed_results
        if owed_results is None:
            return run
        if owed_results.attempt >= MAX_DELIVERY_ATTEMPTS:
            log.error("room %s: giving up on announcing the end of run %s", key, run.run_id)
            run = run.results_delivered()
            await self._store.put_run(key, run)
            return run
        if not self._takes_over(owed_results, now):
            return run
        if not await self._store.claim(key, f"end:{run.run_id}:try{owed_results.attempt + 1}"):
            run = run.attempt_taken(None, now)
            await self._store.put_run(key, run)
            return run
        # the vote window opens when the results can be seen, not when they were computed:
        # a results post that failed for a while still gets the whole window
        run = run.attempt_results(self._token, now, self._settings.vote_ms)
        await self._store.put_run(key, run)
        return await self._deliver_results(key, run)

    def _boundary_event(self, key: RoomKey, run: Run, index: int, now: int) -> BoundaryFired:
        timer = run.timer
        bounds = timer.boundaries()
        b = bounds[index - 1]
        next_phase = None if b.last else timer.pattern.phase(b.index + 1)
        next_end = bounds[b.index].at_ms if not b.last and len(bounds) > b.index else None
        return BoundaryFired(
            key=key,
            run_id=run.run_id,
            boundary=b,
            pattern=timer.pattern,
            fired_ms=now,
            late=now - b.at_ms > LATE_MS,
            next_phase=next_phase,
            next_phase_ends_ms=next_end,
        )

    @staticmethod
    def _finished_event(key: RoomKey, run: Run) -> RunFinished:
        outcome = run.outcome or RunOutcome((), ())
        return RunFinished(
            key,
            run.run_id,
            outcome.kings,
            outcome.results,
            dict(outcome.refunds),
            run.vote_until_ms or 0,
        )

    async def _finish(self, key: RoomKey, run: Run, now: int) -> Run:
        """Kings, refunds and results in one transaction, settled once under the run's row
        lock: a wake-up after a crash (at any step) finds them settled, or settles them, and
        reads the same outcome. Then the results are owed, and announced once."""
        vote_ms = self._settings.vote_ms
        outcome = await self._settle(key, run, now)
        if await self._store.claim(key, f"finish:{run.run_id}"):
            finished = run.finish(outcome, self._token, now, vote_ms)
        else:
            # another process claimed the announcement: it is owed by that process, and
            # taken over after the lease if it never comes (it may have died claiming)
            finished = run.finish(outcome, ANOTHER_PROCESS, now, vote_ms)
        await self._store.put_run(key, finished)
        if finished.owed_results is not None and finished.owed_results.by == self._token:
            return await self._deliver_results(key, finished)
        return finished

    async def _settle(self, key: RoomKey, run: Run, now: int) -> RunOutcome:
        dismissals = await self._store.get_dismissals(key, run.run_id)
        bounds = run.timer.boundaries()
        grace_s = self._settings.alarm_grace_seconds
        refunds: dict[int, int] = {}
        async with self._uow() as uow:
            row = await uow.runs.get_for_update(run.run_id)
            settled = row is not None and row.status == RunStatus.FINISHED.value
            started = run.timer.started_at_ms
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
            results = run_results(bounds, spans, dismissals, grace_s, run.reached)
            rows: list[RunResult] = []
            for result in results:
                user_id = result.user_id
                refund_id: int | None = None
                if result.is_king:
                    # every payment for a stay of this run (a rejoin paid again), each once:
                    # a refund already paid is found by its key, not paid again; this run
                    # announces the refunds it paid (a settling repeated after a crash
                    # included), not those an earlier run of the same stay paid
                    paid = [
                        m.payment_entry_id
                        for m in stays
                        if m.user_id == user_id and m.payment_entry_id is not None
                    ]
                    reference = f"run:{run.run_id}"
                    for payment_id in paid:
                        entry = await refund_in(uow, payment_id, reference, now)
                        refund_id = entry.id
                        if entry.reference.startswith(reference + ";"):
                            refunds[user_id] = refunds.get(user_id, 0) + entry.amount
                rows.append(
                    RunResult(
                        run_id=run.run_id,
                        user_id=user_id,
                        alarms=result.alarms,
                        dismissed=result.dismissed,
                        on_time=result.on_time,
                        is_king=result.is_king,
                        refund_entry_id=refund_id,
                    )
                )
            if not settled:
                await uow.runs.add_results(rows)
                await uow.runs.add_dismissals(
                    AlarmDismissal(
                        run_id=run.run_id,
                        boundary=boundary,
                        user_id=user_id,
                        dismissed_ms=at,
                        on_time=is_on_time(run.rang_at(bounds[boundary - 1]), at, grace_s),
                    )
                    for (boundary, user_id), at in dismissals.items()
                    if 1 <= boundary <= len(bounds)
                )
                if row is not None:
                    await uow.runs.finish(row, RunStatus.FINISHED, now)
            await uow.commit()
        kings = tuple(sorted(r.user_id for r in results if r.is_king))
        return RunOutcome(kings, tuple(results), refunds)

    def _reschedule(self, key: RoomKey, run: Run, woke_ms: int | None = None) -> None:
        at = next_wakeup(run, self._settings.grace_ms)
        if at is not None and woke_ms is not None and at <= woke_ms:
            # what is owed could not be tried now (another process holds it): never spin
            at = woke_ms + RETRY_MS
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
        runs = await self._store.get_runs(keys)
        for key, run in runs.items():
            if run.owes_anything:  # this process serves the room now: what was owed is ours
                run = run.adopt_owed(self._token)
                await self._store.put_run(key, run)
            self._reschedule(key, run)
        return len(runs)

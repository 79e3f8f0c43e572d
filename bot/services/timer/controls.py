"""The shared timer of a room: the owner's controls, members' dismissals, and the room's
wake-up (``BoundaryDispatch``), which posts what is owed and what fell due and ends the run
(``RunEnd``) through the announcement outbox (``Announcements``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from bot.clock import Clock
from bot.domain.alarms import AlarmDismissal, dismissals_of_alarm, is_on_time
from bot.domain.errors import InvalidTimerAction, NotFound, NotMember, NotOwner, StudyOnError
from bot.domain.run import Run, RunStatus
from bot.domain.schedule import scheduled_start
from bot.domain.timer import Timer
from bot.services.base import SqlService
from bot.services.events import (
    RoomListener,
    RunEnding,
    RunStarted,
    TimerChanged,
    notify_run_ending,
    notify_run_started,
    notify_timer_changed,
)
from bot.services.liveness import Heartbeat
from bot.services.members import member_zone
from bot.services.ports import CallScheduler, WakeScheduler
from bot.services.rooms import RoomService, key_of, open_room
from bot.services.settings import ServiceSettings
from bot.services.timer.common import RETRY_MS, DismissOutcome, RoomLocks, TimerView, view_of
from bot.services.timer.dispatch import BoundaryDispatch
from bot.services.timer.ending import RunEnd
from bot.services.timer.outbox import Announcements
from bot.services.timer.scheduled import ScheduledStart, start_call
from storage.models import RoomMember
from storage.session.base import RoomKey, SessionStore
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)


class TimerService(SqlService):
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        store: SessionStore,
        scheduler: WakeScheduler,
        listener: RoomListener,
        clock: Clock,
        settings: ServiceSettings,
        rooms: RoomService,
        *,
        calls: CallScheduler,
        heartbeat: Heartbeat,
    ) -> None:
        super().__init__(uow_factory, clock, settings)
        self._store = store
        self._scheduler = scheduler
        self._calls = calls
        self._listener = listener
        self._lock = RoomLocks()
        token = heartbeat.token  # this process, in owed-delivery records
        outbox = Announcements(store, listener, token, settings)
        end = RunEnd(uow_factory, store, settings, outbox, token)
        self._dispatch = BoundaryDispatch(
            store, scheduler, clock, settings, rooms, self._lock, outbox, end, heartbeat
        )

    def _grace_s(self, key: RoomKey) -> int:
        """The grace window dismissals are judged with: the room's server's, as it is now
        (the run's end judges every alarm with the value in effect at the end)."""
        return self._settings.for_guild(key.guild_id).alarm_grace_seconds

    async def wake(self, key: RoomKey) -> None:
        """The scheduler's callback (see ``BoundaryDispatch.wake``)."""
        await self._dispatch.wake(key)

    async def restore(self, owns: Callable[[RoomKey], bool] | None = None) -> int:
        """Reschedule every stored run after a restart (``owns``: the rooms this serves)."""
        await self._number_stored_runs(owns)
        restored = await self._dispatch.restore(owns)
        await self._restore_scheduled(owns)
        return restored

    async def _number_stored_runs(self, owns: Callable[[RoomKey], bool] | None) -> None:
        """Give a run stored before runs carried their number its number from SQL, so its
        later alarms say which run they belong to like every other run's."""
        keys = [k for k in await self._store.running_rooms() if owns is None or owns(k)]
        unnumbered = {
            k: r for k, r in (await self._store.get_runs(keys)).items() if r.run_no is None
        }
        if not unnumbered:
            return
        numbers: dict[RoomKey, tuple[int, int]] = {}  # room → (run id, its number)
        async with self._uow() as uow:
            for key, run in unnumbered.items():
                row = await uow.runs.get(run.run_id)
                if row is not None and row.room_id == key.room_id:
                    numbers[key] = (run.run_id, row.run_no)
        for key, (run_id, number) in numbers.items():
            async with self._lock(key):
                stored = await self._store.get_run(key)
                if stored is not None and stored.run_id == run_id and stored.run_no is None:
                    await self._store.put_run(key, replace(stored, run_no=number))

    # -- owner controls -------------------------------------------------------------------

    async def start(self, room_id: int, user_id: int) -> TimerView:
        return await self._changed(await self._start(room_id, user_id, owner_only=True))

    async def extend(self, room_id: int, user_id: int) -> TimerView:
        """Any member keeps the room for another run with the same pattern, during the vote."""
        return await self._changed(await self._start(room_id, user_id, owner_only=False))

    async def _changed(self, view: TimerView) -> TimerView:
        """Tell the listeners (outside the room's lock) what the owner changed. The change is
        made already: a listener failing is logged, and catches up at the next boundary."""
        try:
            await notify_timer_changed(self._listener, TimerChanged(view.key, view.now_ms))
        except Exception:
            log.exception("a listener missed the timer change in room %s", view.key)
        return view

    async def _start(
        self, room_id: int, user_id: int, *, owner_only: bool, scheduled_ms: int | None = None
    ) -> TimerView:
        """Start the room's run now. ``scheduled_ms``: the scheduled start of that instant
        is what starts it (refused unless it is still the room's scheduled start); any other
        start is refused while a start is scheduled."""
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
                if room.scheduled_start_ms != scheduled_ms:
                    if scheduled_ms is not None:
                        raise InvalidTimerAction("not_scheduled")
                    raise InvalidTimerAction("already_scheduled")
                room.scheduled_start_ms = None
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
                    if (
                        ended is None
                        or ended.room_id != room.id
                        or ended.status != RunStatus.FINISHED
                    ):
                        current = None
                if current is not None and not current.finished:
                    raise InvalidTimerAction("already_running")
                if not owner_only and (current is None or not current.vote_open(now)):
                    raise InvalidTimerAction("no_vote")
                pattern = room.info().pattern  # Extend repeats it, long breaks and all
                orphan = await uow.runs.current(room.id)
                run = None
                if orphan is not None and (current is None or current.run_id != orphan.id):
                    if self._never_live(current, orphan.id):
                        # a start made again: the last attempt took this run (and its
                        # number) and died before the live state had it. Taken up again,
                        # from now, so the run keeps the number it was given
                        run = orphan
                        run.study_ms, run.break_ms = pattern.study_ms, pattern.break_ms
                        run.terms, run.started_ms = pattern.terms, now
                    else:
                        # SQL still counts a run as running whose live state is gone (the
                        # store was lost or cleared): nothing of it can be announced any more
                        await uow.runs.finish(orphan, RunStatus.STOPPED, now)
                if run is None:
                    run = await uow.runs.add(
                        room_id=room.id,
                        run_no=await uow.runs.last_run_no(room.id) + 1,
                        study_ms=pattern.study_ms,
                        break_ms=pattern.break_ms,
                        terms=pattern.terms,
                        started_ms=now,
                        status=RunStatus.RUNNING,
                    )
                await uow.commit()
            # the new run replaces the stored one in one write: a process dying here leaves
            # the old run (its vote still open, so the start can be made again) or the new
            # one, never none. What the old run left (its claims, dismissals and message
            # ids) is keyed by its run id, so nothing of it counts for the new run; it goes
            # with the room.
            state = Run(run.id, Timer(pattern, now), run_no=run.run_no)
            await self._store.put_run(key, state)
            self._dispatch.reschedule(key, state)
            return view_of(key, state, now)

    @staticmethod
    def _never_live(current: Run | None, orphan_id: int) -> bool:
        """Whether the room's running run ``orphan_id`` (one the live state does not hold)
        never reached the live state: the store still holds the run it would have replaced
        in one write (an Extend's finished run, older). With no run stored it may be a run
        that was stopped (the store forgets it first) or lost with the store, whose alarms
        may have rung: that one is stopped, not taken up."""
        return current is not None and current.run_id < orphan_id

    # -- scheduled starts -----------------------------------------------------------------

    async def schedule_start(
        self, room_id: int, user_id: int, at: str, day: str | None = None
    ) -> ScheduledStart:
        """The owner schedules the room's run to start at ``at`` (HH:MM) on ``day``
        (YYYY-MM-DD; default: the next time the clocks show ``at``), in the owner's zone.
        Refused while a run is in progress (or in its extension vote) or a start is already
        scheduled."""
        async with self._uow() as uow:
            room = await open_room(uow, room_id)
            key = key_of(room)
        async with self._lock(key):
            now = self._clock.now_ms()
            async with self._uow() as uow:
                room = await open_room(uow, room_id, lock=True)
                if room.owner_id != user_id:
                    raise NotOwner()
                default = self._settings.for_guild(room.guild_id).default_timezone
                zone = await member_zone(uow, room.guild_id, user_id, default)
                starts = scheduled_start(at, day, zone, now)
                if room.scheduled_start_ms is not None:
                    raise InvalidTimerAction("already_scheduled")
                await self._refuse_live_run(uow, key, room.id, now)
                room.scheduled_start_ms = starts
                await uow.commit()
            self._schedule_call(key, starts)
            return ScheduledStart(key, starts, zone.key)

    async def _refuse_live_run(self, uow: UnitOfWork, key: RoomKey, room_id: int, now: int) -> None:
        """Refuse while the room has a run SQL knows as running, or one in its vote."""
        stored = await self._store.get_run(key)
        if stored is None:
            return
        row = await uow.runs.get(stored.run_id)
        if row is None or row.room_id != room_id:
            return  # stale: left by a crash or another database
        if not stored.finished and row.status == RunStatus.RUNNING:
            raise InvalidTimerAction("already_running")
        if stored.finished and row.status == RunStatus.FINISHED and stored.vote_open(now):
            raise InvalidTimerAction("in_vote")

    async def cancel_scheduled_start(self, room_id: int, user_id: int) -> ScheduledStart | None:
        """The owner cancels the room's scheduled start; None when none was scheduled."""
        async with self._uow() as uow:
            room = await open_room(uow, room_id)
            key = key_of(room)
        if room.owner_id != user_id:
            raise NotOwner()
        async with self._lock(key):
            async with self._uow() as uow:
                room = await open_room(uow, room_id, lock=True)
                if room.owner_id != user_id:
                    raise NotOwner()
                starts = room.scheduled_start_ms
                if starts is None:
                    return None
                room.scheduled_start_ms = None
                await uow.commit()
            self._calls.cancel_call(start_call(key))
            return ScheduledStart(key, starts, "")

    def _schedule_call(self, key: RoomKey, at_ms: int, when_ms: int | None = None) -> None:
        """Run the start scheduled for ``at_ms`` then (or at ``when_ms``: a retry)."""

        async def call() -> None:
            await self._start_scheduled(key, at_ms)

        self._calls.schedule_call(start_call(key), at_ms if when_ms is None else when_ms, call)

    async def _start_scheduled(self, key: RoomKey, at_ms: int) -> None:
        """The scheduled instant came: start the run for the room's owner, counted from now,
        and tell the listeners (the board line, the card). A start cancelled or replaced
        meanwhile, or a room closed, starts nothing."""
        if self._clock.now_ms() < at_ms:  # woken early (clocks disagree): wait for it
            self._schedule_call(key, at_ms)
            return
        async with self._uow() as uow:
            room = await uow.rooms.get(key.room_id)
            if room is None or not room.info().is_open or room.scheduled_start_ms != at_ms:
                return
            owner = room.owner_id
        try:
            view = await self._start(key.room_id, owner, owner_only=True, scheduled_ms=at_ms)
        except StudyOnError as error:
            # the start cannot happen (a stale run blocks it, the room closed): say so in the
            # log and drop it rather than retry for ever
            log.warning("room %s: scheduled start at %s not made: %s", key, at_ms, error)
            async with self._uow() as uow:
                row = await uow.rooms.get(key.room_id)
                if row is not None and row.scheduled_start_ms == at_ms:
                    row.scheduled_start_ms = None
                    await uow.commit()
            return
        except Exception:  # the database was busy or gone: try again shortly
            log.exception("room %s: scheduled start failed; retrying", key)
            self._schedule_call(key, at_ms, self._clock.now_ms() + RETRY_MS)
            return
        await notify_run_started(self._listener, RunStarted(key, owner, view))
        await notify_timer_changed(self._listener, TimerChanged(view.key, view.now_ms))

    async def _restore_scheduled(self, owns: Callable[[RoomKey], bool] | None) -> None:
        """Schedule every open room's start again (after a restart); one already due
        starts at once."""
        async with self._uow() as uow:
            rooms = [r.info() for r in await uow.rooms.scheduled_starts()]
        for room in rooms:
            if room.starts_at_ms is not None and (owns is None or owns(room.key)):
                self._schedule_call(room.key, room.starts_at_ms)

    async def pause(self, room_id: int, user_id: int) -> TimerView:
        return await self._changed(await self._control(room_id, user_id, "pause"))

    async def resume(self, room_id: int, user_id: int) -> TimerView:
        return await self._changed(await self._control(room_id, user_id, "resume"))

    async def skip(self, room_id: int, user_id: int, *, action: str = "skip") -> TimerView:
        view = await self._control(room_id, user_id, action)
        try:
            await self._dispatch.wake(view.key)  # the skipped phase's alarm falls now
        except Exception:  # the alarm stays owed; a wake-up shortly delivers it
            log.exception("posting the skipped phase's alarm in room %s failed", view.key)
            self._scheduler.schedule(view.key, self._clock.now_ms() + RETRY_MS)
        return await self.status_of(view.key) or view

    async def call_break(self, room_id: int, user_id: int) -> TimerView:
        """Flowtime: the owner ends the study period now; its alarm falls now, as a skip's."""
        return await self.skip(room_id, user_id, action="break")

    async def stop(self, room_id: int, user_id: int) -> TimerView:
        """End the run early: no kings, no refunds. The room stays open. A count-up run
        with a check-in behind it ends instead, as after its last check-in (``end``)."""
        view = await self._control(room_id, user_id, "end_or_stop")
        if view.ended_with_results:
            # its end follows from the room's next wake-up (rescheduled already), after the
            # last check-in's window: the owner's line comes first, then the results
            return await self._changed(view)
        async with self._lock(view.key):
            # the live run goes before SQL is told: if the store is out of reach nothing has
            # changed, and a run SQL still counts as running once the live one is gone is
            # stopped by the room's next start. The listeners hear of the end first, while
            # the run is still there to credit the study time up to the stop from.
            await notify_run_ending(self._listener, RunEnding(view.key, view.now_ms))
            await self._store.delete_run(view.key)
            self._scheduler.cancel(view.key)
            async with self._uow() as uow:
                run = await uow.runs.get(view.run_id)
                if run is not None and run.status == RunStatus.RUNNING:
                    await uow.runs.finish(run, RunStatus.STOPPED, view.now_ms)
                await uow.commit()
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
            elif action == "break":
                timer = timer.call_break(now)
            elif timer.ends_with_results(now):  # a count-up run's owner ends it
                action = "end"
                timer = timer.end(now)
            else:
                action = "stop"
                timer = timer.stop(now)
            state = state.with_timer(timer)
            if action != "stop":
                await self._store.put_run(key, state)
                if action not in ("skip", "break"):  # those wake the room, right after
                    self._dispatch.reschedule(key, state)
            return replace(view_of(key, state, now), ended_with_results=action == "end")

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
        return view_of(key, state, self._clock.now_ms())

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
            joined = await self._member_since(key, user_id)
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
            boundary, recorded, is_on_time(rang, at, self._grace_s(key)), at, state.run_no
        )

    async def _member_since(self, key: RoomKey, user_id: int) -> int:
        """When a member the live state does not know joined, from SQL (the source of truth
        for who is in a room): a process that died between recording a join and adding the
        member to the live state left them out of it. They are put back, so the next
        dismissal finds them at once. Not in the room in SQL either: ``NotMember``."""
        stay = await self._open_stay(key, user_id)
        if stay is None:
            raise NotMember()
        await self._store.add_member(key, user_id, stay.joined_ms)
        # a leave records the stay's end, then takes the member out of the live state: one
        # that ended meanwhile may have taken them out before they were put back here
        now = await self._open_stay(key, user_id)
        if now is None:
            await self._store.remove_member(key, user_id)
            raise NotMember()
        if now.id != stay.id:  # they left and joined again: the new stay's join counts
            await self._store.add_member(key, user_id, now.joined_ms)
        return now.joined_ms

    async def _open_stay(self, key: RoomKey, user_id: int) -> RoomMember | None:
        async with self._uow() as uow:
            return await uow.rooms.active_membership(key.room_id, user_id)

    async def alarm_dismissals(
        self, key: RoomKey, run_id: int, boundary: int, *, alarm_shown_ms: int
    ) -> list[AlarmDismissal]:
        """Who dismissed alarm #boundary of the run so far, as stored, and whether on time:
        judged, as ``dismiss`` judges, from when the alarm message (``alarm_shown_ms``)
        reached the channel. Empty once the run is gone from live state."""
        state = await self._store.get_run(key)
        if state is None or state.run_id != run_id:
            return []
        rang = alarm_shown_ms
        if 1 <= boundary <= state.fired_through:
            rang = max(state.rang_at(state.boundary(boundary)), alarm_shown_ms)
        dismissals = await self._store.get_dismissals(key, run_id)
        return dismissals_of_alarm(dismissals, boundary, rang, self._grace_s(key))

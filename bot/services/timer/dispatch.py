"""The room's wake-up: what is owed first, then every boundary that fell, then the end of the
run once its last alarm's grace is over, and the room's close when nobody extended it.

The run in the session store is the truth; the scheduler only holds a wake-up per room. A
wake-up is idempotent: a claim in the store makes each boundary's post happen once, even
across processes and restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.clock import Clock
from bot.domain.errors import NotFound, RoomClosed
from bot.domain.run import Run
from bot.services.ports import WakeScheduler
from bot.services.rooms import RoomService
from bot.services.settings import ServiceSettings
from bot.services.timer.common import RoomLocks, next_wakeup
from bot.services.timer.ending import RunEnd
from bot.services.timer.outbox import Announcements
from storage.session.base import RoomKey, SessionStore


@dataclass(frozen=True, slots=True)
class BoundaryDispatch:
    _store: SessionStore
    _scheduler: WakeScheduler
    _clock: Clock
    _settings: ServiceSettings
    _rooms: RoomService
    _lock: RoomLocks
    _outbox: Announcements
    _end: RunEnd
    _token: str

    async def wake(self, key: RoomKey) -> None:
        close = False
        async with self._lock(key):
            run = await self._store.get_run(key)
            if run is None:
                return
            now = self._clock.now_ms()
            run = await self._outbox.deliver_owed(key, run, now)
            if not run.finished:
                run = await self._fire_due(key, run, now)
                if run.ready_to_finish(now, self._settings.for_guild(key.guild_id).grace_ms):
                    run = await self._end.finish(key, run, now)
            else:
                # never while the results are still owed: the vote opens when they are seen
                close = run.owed_results is None and run.vote_over(now)
            if not close:
                self.reschedule(key, run, now)
        if close:
            try:
                await self._rooms.close(key.room_id, None, "no_extension")
            except (NotFound, RoomClosed):
                # closed meanwhile, or by a process that died before forgetting its live
                # state: that state is dropped now, or it would wake the room for ever
                self._scheduler.cancel(key)
                await self._store.drop_room(key)
            self._lock.forget(key)

    async def _fire_due(self, key: RoomKey, run: Run, now: int) -> Run:
        for b in run.due(now):
            # the claim and the progress it makes, with the debt, are stored in one step
            # before posting: a crash after it leaves the post owed, to be delivered by the
            # next wake-up. Another process that claimed it stored its own run with the debt:
            # that run is read, never written over
            won = run.claim_alarm(b.index, self._token, now)
            if await self._store.claim_and_put_run(key, f"b:{run.run_id}:{b.index}", won):
                run = await self._outbox.deliver_alarm(key, won, b.index, now)
            else:
                run = await self._store.get_run(key) or run.skip_alarm(b.index)
        return run

    def reschedule(self, key: RoomKey, run: Run, woke_ms: int | None = None) -> None:
        at = next_wakeup(run, self._settings.for_guild(key.guild_id).grace_ms, woke_ms)
        if at is None:
            self._scheduler.cancel(key)
        else:
            self._scheduler.schedule(key, at)

    async def _adopt(self, key: RoomKey, run: Run) -> Run:
        """Make what the run owes this process's to deliver, only if nobody changed the run
        since it was read: another process may be delivering it right now, and its progress
        must not be overwritten with the stale run (it would be delivered again)."""
        adopted = run.adopt_owed(self._token)
        if await self._store.replace_run(key, run, adopted):  # in any format it was stored
            return adopted
        now = await self._store.get_run(key)
        return now if now is not None else run

    async def restore(self, owns: Callable[[RoomKey], bool] | None = None) -> int:
        """Reschedule every stored run (after a restart); due wake-ups run at once.
        ``owns`` keeps only the rooms this process serves (its shards' guilds)."""
        keys = await self._store.running_rooms()
        if owns is not None:
            keys = [k for k in keys if owns(k)]
        runs = await self._store.get_runs(keys)
        for key, run in runs.items():
            if run.owes_anything:  # this process serves the room now: what was owed is ours
                run = await self._adopt(key, run)
            self.reschedule(key, run)
        return len(runs)

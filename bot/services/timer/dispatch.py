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
from bot.domain.liveness import Liveness
from bot.domain.run import Run
from bot.services.liveness import Heartbeat
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
    _heartbeat: Heartbeat

    @property
    def _token(self) -> str:
        return self._heartbeat.token

    async def wake(self, key: RoomKey) -> None:
        close = False
        async with self._lock(key):
            run = await self._store.get_run(key)
            if run is None:
                return
            # whatever this wake-up claims, this process's beat is in the store first: a
            # claim is never left by a process that looks gone while it is making it
            await self._heartbeat.ensure()
            now = self._clock.now_ms()
            alive = await self._heartbeat.liveness(run)
            run = await self._outbox.deliver_owed(key, run, now, alive)
            if not run.finished:
                run = await self._fire_due(key, run, now)
                if run.ready_to_finish(now, self._settings.for_guild(key.guild_id).grace_ms):
                    run = await self._end.finish(key, run, now)
            else:
                # never while the results are still owed: the vote opens when they are seen
                close = run.owed_results is None and run.vote_over(now)
            if not close:
                self.reschedule(key, run, now, alive)
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

    def reschedule(
        self,
        key: RoomKey,
        run: Run,
        woke_ms: int | None = None,
        alive: Liveness | None = None,
    ) -> None:
        """Schedule the room's next wake-up; ``alive``: who was alive, so another process's
        claim is looked at again when its beat runs out (at once, if it is gone)."""
        grace_ms = self._settings.for_guild(key.guild_id).grace_ms
        at = next_wakeup(run, grace_ms, woke_ms, alive)
        if at is None:
            self._scheduler.cancel(key)
        else:
            self._scheduler.schedule(key, at)

    async def restore(self, owns: Callable[[RoomKey], bool] | None = None) -> int:
        """Reschedule every stored run (after a restart); due wake-ups run at once.
        ``owns`` keeps only the rooms this process serves (its shards' guilds). What a
        process that is gone left claimed is due at once (its wake-up takes it over); what a
        live one is making is looked at again when its beat would run out."""
        keys = await self._store.running_rooms()
        if owns is not None:
            keys = [k for k in keys if owns(k)]
        runs = await self._store.get_runs(keys)
        await self._heartbeat.ensure()
        alive = await self._heartbeat.liveness()  # one read for every room
        for key, run in runs.items():
            self.reschedule(key, run, None, alive)
        return len(runs)

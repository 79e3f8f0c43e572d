"""The announcement outbox of a run: each alarm, and the results, are recorded as owed in the
run before the listener is called and settled after it returned. A later wake-up delivers
what is still owed, claiming each attempt so two processes never make the same one (a claim of
another process is taken over only once that process is gone: ``bot.domain.liveness``); the
listener is the one idempotency mechanism per announcement (it remembers the message it
posted), so a retry after an unseen success posts nothing new."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from bot.domain.liveness import Liveness
from bot.domain.run import Run, RunOutcome
from bot.domain.study import study_spans, total
from bot.services.events import BoundaryFired, RoomListener, RunFinished
from bot.services.settings import ServiceSettings
from bot.services.timer.common import LATE_MS, MAX_DELIVERY_ATTEMPTS
from storage.session.base import RoomKey, SessionStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Announcements:
    _store: SessionStore
    _listener: RoomListener
    _token: str  # this process, in owed-delivery records
    _settings: ServiceSettings  # the vote's length: the room's server's, when it opens

    async def deliver_alarm(
        self, key: RoomKey, run: Run, index: int, now: int, *, retry: bool = False
    ) -> Run:
        """Hand alarm ``index`` to the listener; settle it with when it appeared. A failure
        propagates (the scheduler retries the wake-up) and leaves it owed; the listener is
        idempotent, so a retry after an unseen success posts nothing new."""
        event = replace(self.boundary_event(key, run, index, now), retry=retry)
        appeared = await self._listener.on_boundary(event)
        run = run.alarm_delivered(index, appeared)
        await self._store.put_run(key, run)
        return run

    async def deliver_results(self, key: RoomKey, run: Run, *, retry: bool = False) -> Run:
        event = replace(self.finished_event(key, run), retry=retry)
        appeared = await self._listener.on_run_finished(event)
        run = run.results_delivered()
        if appeared is not None:
            run = run.vote_from(appeared, self._settings.for_guild(key.guild_id).vote_ms)
        await self._store.put_run(key, run)
        return run

    async def deliver_owed(self, key: RoomKey, run: Run, now: int, alive: Liveness) -> Run:
        """Deliver what an earlier wake-up claimed but could not deliver, in order: the
        alarms, then the results. A claim is this process's to retry, or taken over when its
        process is gone (``alive``); one whose process is alive is left to it. Each attempt
        is claimed with the run that records who makes it, in one write: a lost claim means
        the winner's run is stored already, and no crash leaves an attempt claimed by nobody
        known."""
        for index in sorted(run.owed_alarms):
            owed = run.owed_alarms[index]
            if owed.attempt >= MAX_DELIVERY_ATTEMPTS:
                log.error("room %s: giving up on alarm #%s of run %s", key, index, run.run_id)
                run = run.give_up_alarm(index)
                await self._store.put_run(key, run)
                continue
            if not alive.takes_over(owed, now):
                continue  # its process is alive and still making it
            attempt = run.retry_alarm(index, self._token, now)
            token = f"b:{index}:{run.run_id}:try{owed.attempt + 1}"
            if not await self._store.claim_and_put_run(key, token, attempt):
                # the run read now may hold claims of a process that began beating after
                # ``alive`` was read: nothing more is taken over before it is read again
                return await self._lost_attempt(key, run, index, now)
            run = await self.deliver_alarm(key, attempt, index, now, retry=True)
        owed_results = run.owed_results
        if owed_results is None:
            return run
        if owed_results.attempt >= MAX_DELIVERY_ATTEMPTS:
            log.error("room %s: giving up on announcing the end of run %s", key, run.run_id)
            run = run.results_delivered()
            await self._store.put_run(key, run)
            return run
        if not alive.takes_over(owed_results, now):
            return run
        # the vote window opens when the results can be seen, not when they were computed:
        # a results post that failed for a while still gets the whole window
        vote_ms = self._settings.for_guild(key.guild_id).vote_ms
        attempt = run.attempt_results(self._token, now, vote_ms)
        token = f"end:{run.run_id}:try{owed_results.attempt + 1}"
        if await self._store.claim_and_put_run(key, token, attempt):
            return await self.deliver_results(key, attempt, retry=True)
        return await self._lost_attempt(key, run, None, now)

    async def _lost_attempt(self, key: RoomKey, run: Run, index: int | None, now: int) -> Run:
        """Another process claimed the attempt at alarm ``index`` (None: the results): its
        run, which records it, is read. One that still shows the attempt before it is a claim
        that left no trace (made by an earlier version, which claimed and recorded in two
        writes, dying in between): the attempt counts as made, from now, so the next one has
        a claim of its own and waits a retry; recorded only over the run as read, so the
        winner's record is never written over."""
        stored = await self._store.get_run(key)
        if stored is None:
            return run
        before = run.owed_results if index is None else run.owed_alarms.get(index)
        now_owed = stored.owed_results if index is None else stored.owed_alarms.get(index)
        if before is None or now_owed != before:
            return stored
        passed = stored.attempt_taken(index, now)
        if await self._store.replace_run(key, stored, passed):
            return passed
        return await self._store.get_run(key) or stored

    def boundary_event(self, key: RoomKey, run: Run, index: int, now: int) -> BoundaryFired:
        timer = run.timer
        bounds = timer.boundaries()
        b = bounds[index - 1]
        next_phase = None if b.last else timer.pattern.phase(b.index + 1)
        next_end = bounds[b.index].at_ms if not b.last and len(bounds) > b.index else None
        studied = total(study_spans(timer, b.at_ms))
        before = bounds[index - 2].at_ms if index > 1 else timer.started_at_ms
        studied_before = total(study_spans(timer, before))
        return BoundaryFired(
            key=key,
            run_id=run.run_id,
            boundary=b,
            pattern=timer.pattern,
            fired_ms=now,
            late=now - b.at_ms > LATE_MS,
            next_phase=next_phase,
            next_phase_ends_ms=next_end,
            run_no=run.run_no,
            studied_ms=studied,
            phase_studied_ms=studied - studied_before,
        )

    @staticmethod
    def finished_event(key: RoomKey, run: Run) -> RunFinished:
        outcome = run.outcome or RunOutcome((), ())
        return RunFinished(
            key,
            run.run_id,
            outcome.kings,
            outcome.results,
            dict(outcome.refunds),
            run.vote_until_ms or 0,
        )

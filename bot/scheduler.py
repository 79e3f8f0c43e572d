"""One APScheduler job per running room, for the room's next wake-up.

Jobs are a cache: the truth is the run state in the session store. Each job has an explicit id
(``room:<guild>:<room>``) and is added with ``replace_existing``, so rescheduling a room can
never leave two jobs behind. A wake-up that is already due (a boundary that fell while the
process was down) runs at once; it is never dropped as a misfire, and the claim in the session
store makes sure it is posted only once.

Other timed work (owed Discord cleanups) is a named call (``call:<name>``), one pending per
name, scheduled the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import SystemClock, from_datetime, to_datetime
from bot.services.outage import StorageOutages
from storage.session.base import RoomKey

log = logging.getLogger(__name__)

WakeUp = Callable[[RoomKey], Awaitable[None]]
Call = Callable[[], Awaitable[None]]
CALL_INSTANCES = 100
MAX_RETRY_MS = 60_000  # the longest pause between retries of a failing wake-up
CLOSE_WAIT_S = 5.0  # how long closing waits for running jobs to unwind
_IDLE_DAYS = 3650  # a room's job between wake-ups: paused, or moved to the next one


def job_id(key: RoomKey) -> str:
    return f"room:{key.guild_id}:{key.room_id}"


def call_id(name: str) -> str:
    return f"call:{name}"


class TimerScheduler:
    """Schedules ``wake_up(room)`` at given instants; at most one pending job per room."""

    def __init__(
        self,
        wake_up: WakeUp,
        retry_ms: int = 5_000,
        *,
        outages: StorageOutages | None = None,
        max_retry_ms: int = MAX_RETRY_MS,
    ) -> None:
        self._wake_up = wake_up
        self._retry_ms = retry_ms
        self._max_retry_ms = max(retry_ms, max_retry_ms)
        self._failures: dict[RoomKey, int] = {}  # room -> wake-ups in a row a store failed
        # rooms whose wake-up found a store out of reach: woken at once when it is back
        self._waiting: set[RoomKey] = set()
        self._outages = outages
        if outages is not None:
            outages.on_back(self._store_back)
        self._clock = SystemClock()  # APScheduler reads the wall clock; so do retries
        self._running: set[asyncio.Task[object]] = set()  # jobs running now
        self._background: set[str] = set()  # ids of the calls next_due_ms leaves out
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                # a due wake-up always runs, however late: the handler decides what is due
                "misfire_grace_time": None,
                "coalesce": True,
                "max_instances": 1,
            },
        )

    @property
    def apscheduler(self) -> AsyncIOScheduler:
        """The APScheduler underneath, for watching its job events (the tests and the
        benchmarks wait on them for due wake-ups to finish); schedule through this class."""
        return self._scheduler

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        if not self._scheduler.running:
            self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def schedule(self, key: RoomKey, at_ms: int) -> None:
        """Wake the room at ``at_ms`` (now, if that is past), replacing any pending wake-up."""
        when = to_datetime(at_ms)
        job = self._scheduler.get_job(job_id(key))
        if job is not None:
            # moving a room's one job is cheap; making a new one (as a one-off date job
            # would need after every wake-up) costs APScheduler a signature check each time
            job.modify(next_run_time=when)
            return
        self._scheduler.add_job(
            self._run,
            # the job outlives each wake-up: it is paused while the room runs and moved to
            # the next wake-up; the interval is never reached in practice
            trigger=IntervalTrigger(days=_IDLE_DAYS, timezone=UTC),
            next_run_time=when,
            args=(key,),
            id=job_id(key),
            replace_existing=True,
        )

    def cancel(self, key: RoomKey) -> None:
        self._failures.pop(key, None)
        self._waiting.discard(key)
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(job_id(key))

    def schedule_call(self, name: str, at_ms: int, call: Call, *, background: bool = False) -> None:
        """Run ``call`` at ``at_ms`` (now, if that is past), replacing a pending call of the
        same name. The call may schedule itself again while it runs. A ``background`` call
        (the heartbeat, every second) is left out of ``next_due_ms``: stepping virtual time
        through it would stop every second for nothing a member sees."""
        if background:
            self._background.add(call_id(name))
        else:
            self._background.discard(call_id(name))
        self._scheduler.add_job(
            self._run_call,
            trigger="date",
            run_date=to_datetime(at_ms),
            args=(name, call),
            id=call_id(name),
            replace_existing=True,
            # a call rescheduled while it still runs must not be skipped as a second instance
            max_instances=CALL_INSTANCES,
        )

    def cancel_call(self, name: str) -> None:
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(call_id(name))

    def scheduled_ms(self, key: RoomKey) -> int | None:
        """When the room's pending wake-up is due, or None (for tests and status)."""
        job = self._scheduler.get_job(job_id(key))
        if job is None or job.next_run_time is None:
            return None
        return from_datetime(job.next_run_time)

    def next_due_ms(self) -> int | None:
        """The earliest pending wake-up of any room or call but the background ones (tests
        step virtual time through it)."""
        times = [
            j.next_run_time
            for j in self._scheduler.get_jobs()
            if j.next_run_time and j.id not in self._background
        ]
        return from_datetime(min(times)) if times else None

    def job_count(self) -> int:
        """Rooms with a pending wake-up."""
        return sum(1 for j in self._scheduler.get_jobs() if j.next_run_time is not None)

    async def _run_call(self, name: str, call: Call) -> None:
        with self._tracked():
            try:
                await call()
            except Exception as error:  # the call retries itself when it must
                if self._outages is None or self._outages.note(error) is None:
                    log.exception("scheduled call %s failed", name)

    @contextlib.contextmanager
    def _tracked(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._running.discard(task)

    async def aclose(self) -> None:
        """Stop, cancel the wake-ups and calls still running, and wait for them to unwind
        (bounded), so nothing is still using the database when it closes."""
        self.shutdown()  # cancels what runs
        running = [t for t in self._running if not t.done()]
        for task in running:
            task.cancel()
        if running:
            _, pending = await asyncio.wait(running, timeout=CLOSE_WAIT_S)
            if pending:
                log.warning("%d scheduled job(s) did not stop in time", len(pending))

    async def _run(self, key: RoomKey) -> None:
        with self._tracked():
            await self._run_tracked(key)

    async def _run_tracked(self, key: RoomKey) -> None:
        job = self._scheduler.get_job(job_id(key))
        if job is not None:
            job.modify(next_run_time=None)  # nothing pending until the wake-up says when
        try:
            await self._wake_up(key)
        except Exception as error:  # a failing room must not take the scheduler down
            delay = self._retry_ms
            if self._outages is not None and self._outages.note(error) is not None:
                # said once for the whole outage; the room waits for the store to be back
                # (woken then at once), retried meanwhile ever less often
                failed = self._failures[key] = self._failures.get(key, 0) + 1
                delay = self.retry_delay_ms(failed)
                self._waiting.add(key)
            else:
                log.exception("wake-up of room %s failed; retrying", key)
            if self.scheduled_ms(key) is None:
                self.schedule(key, self._clock.now_ms() + delay)
        else:
            self._failures.pop(key, None)
            self._waiting.discard(key)

    def retry_delay_ms(self, failed: int) -> int:
        """How long after its ``failed``-th wake-up in a row that found a store out of reach
        a room is tried again: doubling from ``retry_ms`` up to ``max_retry_ms``."""
        return int(min(self._retry_ms * 2 ** min(failed - 1, 16), self._max_retry_ms))

    def _store_back(self, store: str) -> None:
        """A store came back: every room that waited for one is woken now (still-failing
        rooms wait again), rather than at their next backed-off retry."""
        waiting, self._waiting = self._waiting, set()
        now = self._clock.now_ms()
        for key in waiting:
            self._failures.pop(key, None)
            if self.scheduled_ms(key) is not None:  # not cancelled meanwhile
                self.schedule(key, now)

"""Waiting for the scheduler: the benchmarks wait until every due wake-up has run, and the
tests, which move a frozen wall clock, ask it to look for due jobs at once and then wait.

The count comes from APScheduler's own job events (submitted, then executed or failed), so
the production scheduler carries nothing for tests. Watch a scheduler before the jobs to be
waited for are submitted: right after it is made, or right after ``open_services`` returns
(a started scheduler first looks for due jobs on the event loop's next turn).
"""

from __future__ import annotations

import asyncio
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED

from bot.scheduler import TimerScheduler


class JobWatch:
    """Counts the scheduler's jobs that started and have not finished yet."""

    def __init__(self, scheduler: TimerScheduler) -> None:
        self._scheduler = scheduler
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        scheduler.apscheduler.add_listener(
            self._on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR
        )

    def _on_event(self, event: Any) -> None:
        if event.code == EVENT_JOB_SUBMITTED:
            self.in_flight += 1
            self._idle.clear()
            return
        self.in_flight = max(0, self.in_flight - 1)
        if self.in_flight == 0:
            self._idle.set()

    def poke(self) -> None:
        """Look for due jobs now (after the test moved the wall clock)."""
        if self._scheduler.running:
            self._scheduler.apscheduler.wakeup()

    async def settle(self) -> None:
        """Let due jobs start and wait until none is running (a job may schedule another)."""
        for _ in range(100):
            for _ in range(3):
                await asyncio.sleep(0)
            if self.in_flight == 0 or not self._scheduler.running:
                return
            await self._idle.wait()

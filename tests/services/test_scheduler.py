"""The APScheduler wrapper: one job per room, due jobs always run, failures retry."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import time_machine

from bench.jobs import JobWatch
from bot.clock import SystemClock
from bot.scheduler import TimerScheduler, job_id
from storage.session.base import RoomKey

A = RoomKey(1, 10)
B = RoomKey(1, 11)


async def test_one_job_per_room_replaced_not_added(frozen: time_machine.Traveller) -> None:
    calls: list[RoomKey] = []

    async def wake(key: RoomKey) -> None:
        calls.append(key)

    s = TimerScheduler(wake)
    jobs = JobWatch(s)
    s.start()
    now = SystemClock().now_ms()
    s.schedule(A, now + 60_000)
    s.schedule(A, now + 30_000)  # replaces
    s.schedule(B, now + 45_000)
    assert s.job_count() == 2
    assert s.scheduled_ms(A) == now + 30_000
    assert job_id(A) == "room:1:10"

    frozen.shift(timedelta(seconds=30))
    jobs.poke()
    await jobs.settle()
    assert calls == [A]
    assert s.scheduled_ms(A) is None and s.job_count() == 1
    s.cancel(B)
    s.cancel(B)  # cancelling twice is harmless
    frozen.shift(timedelta(hours=1))
    jobs.poke()
    await jobs.settle()
    assert calls == [A]
    s.shutdown()


async def test_a_job_due_before_start_runs_once(frozen: time_machine.Traveller) -> None:
    calls: list[RoomKey] = []

    async def wake(key: RoomKey) -> None:
        calls.append(key)

    s = TimerScheduler(wake)
    jobs = JobWatch(s)
    s.schedule(A, SystemClock().now_ms() - 3_600_000)  # fell due an hour ago, while down
    s.start()
    await jobs.settle()
    jobs.poke()
    await jobs.settle()
    assert calls == [A]  # not dropped as a misfire, not run twice
    s.shutdown()


async def test_a_failing_wake_up_is_retried(frozen: time_machine.Traveller) -> None:
    calls: list[int] = []

    async def wake(key: RoomKey) -> None:
        calls.append(SystemClock().now_ms())
        if len(calls) == 1:
            raise RuntimeError("Discord is down")

    s = TimerScheduler(wake, retry_ms=5_000)
    jobs = JobWatch(s)
    s.start()
    now = SystemClock().now_ms()
    s.schedule(A, now)
    await jobs.settle()
    assert len(calls) == 1
    assert s.scheduled_ms(A) == now + 5_000
    frozen.shift(timedelta(seconds=5))
    jobs.poke()
    await jobs.settle()
    assert len(calls) == 2 and s.scheduled_ms(A) is None
    s.shutdown()


async def test_settle_waits_for_a_wake_up_still_running(frozen: time_machine.Traveller) -> None:
    gate = asyncio.Event()
    done: list[RoomKey] = []

    async def wake(key: RoomKey) -> None:
        await gate.wait()
        done.append(key)

    s = TimerScheduler(wake)
    jobs = JobWatch(s)
    s.start()
    s.schedule(A, SystemClock().now_ms())
    settling = asyncio.ensure_future(jobs.settle())
    for _ in range(10):
        await asyncio.sleep(0)
    assert jobs.in_flight == 1 and not settling.done() and done == []
    gate.set()
    await asyncio.wait_for(settling, timeout=5)
    assert done == [A] and jobs.in_flight == 0
    s.shutdown()


async def test_a_background_call_is_left_out_of_the_next_due_instant(
    frozen: time_machine.Traveller,
) -> None:
    """Virtual time steps through ``next_due_ms``: the heartbeat, due every second, is not a
    stop on the way, while it still runs when its instant has passed."""
    ran: list[str] = []

    async def wake(key: RoomKey) -> None:
        ran.append(str(key))

    async def beat() -> None:
        ran.append("beat")

    s = TimerScheduler(wake)
    jobs = JobWatch(s)
    s.start()
    now = SystemClock().now_ms()
    s.schedule(A, now + 60_000)
    s.schedule_call("heartbeat", now + 1_000, beat, background=True)
    s.schedule_call("cleanup", now + 30_000, beat)
    assert s.next_due_ms() == now + 30_000
    s.cancel_call("cleanup")
    assert s.next_due_ms() == now + 60_000
    frozen.shift(timedelta(seconds=2))
    jobs.poke()
    await jobs.settle()
    assert ran == ["beat"]
    s.schedule_call("heartbeat", now + 5_000, beat)  # no longer in the background
    assert s.next_due_ms() == now + 5_000
    s.shutdown()

"""How fast is every timer rescheduled after a restart, and is any boundary lost or doubled?

N running rooms are written to the session store as a process would have left them: about a
fifth have a boundary that fell while the process was down, the rest wait for a boundary in
the future. A fresh process (a new TimerService, TimerScheduler and store connection) then
restores. ``rebuild_s`` is the time from reading the store to every job being scheduled.
Afterwards: every missed boundary must be posted exactly once (also across a second restart
straight after the first), and every other room must have exactly one job, at its next
boundary.

    python -m bench.restart --rooms 10000 --store embedded
    python -m bench.restart --rooms 10000 --store redis
    python -m bench.restart --rooms 10000 --store redis --redis-url redis+cluster://host:7000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from bench.common import GUILD, REDIS_URL, random_run, report, timer_stack
from bot.services.timer import next_wakeup
from storage.session.base import RoomKey, Run


async def run(
    rooms: int, store: str, seed: int, missed_share: float, redis_url: str = REDIS_URL
) -> dict[str, object]:
    rng = random.Random(seed)
    namespace = f"studyon-bench-restart-{seed}-{time.time_ns()}"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        expected_missed: set[tuple[RoomKey, int, int]] = set()
        future: dict[RoomKey, Run] = {}
        # -- the process that went down: its rooms as the store holds them -------------
        async with timer_stack(store, work, namespace, redis_url) as before:
            now = before.timers._clock.now_ms()
            for i in range(rooms):
                key = RoomKey(GUILD, i + 1)
                if rng.random() < missed_share:
                    at = now - rng.randrange(1_000, 3_600_000)  # fell while down
                else:
                    at = now + rng.randrange(600_000, 3_600_000)
                state = random_run(rng, i + 1, at)
                await before.store.put_run(key, state)
                if at <= now:
                    for b in state.timer.due(state.fired_through, now):
                        expected_missed.add((key, state.run_id, b.index))
                else:
                    future[key] = state

        # -- restart: a new process restores from the store ----------------------------
        rebuild: list[float] = []
        posted: dict[tuple[RoomKey, int, int], int] = {}
        wrong_jobs = 0
        for attempt in range(2):  # the second restart must post nothing again
            async with timer_stack(store, work, namespace, redis_url) as after:
                after.scheduler.start()
                t0 = time.perf_counter()
                restored = await after.timers.restore()
                rebuild.append(time.perf_counter() - t0)
                await after.jobs.settle()
                for k, n in after.listener.seen.items():
                    posted[k] = posted.get(k, 0) + n
                if attempt == 0:
                    grace = after.timers._settings.grace_ms
                    for key, state in future.items():
                        want = next_wakeup(state, grace)
                        if after.scheduler.scheduled_ms(key) != want:
                            wrong_jobs += 1
                    if after.scheduler.job_count() < len(future):
                        wrong_jobs += len(future) - after.scheduler.job_count()
                if store == "redis" and attempt == 1:
                    await _cleanup(after.store, rooms)
        lost = len(expected_missed - posted.keys()) + wrong_jobs
        doubled = sum(n - 1 for n in posted.values() if n > 1)
        unexpected = len(posted.keys() - expected_missed)
        return {
            "rooms": rooms,
            "store": store,
            "restored": restored,
            "missed_while_down": len(expected_missed),
            "rebuild_s": round(rebuild[0], 3),
            "rebuild_again_s": round(rebuild[1], 3),
            "lost": lost,
            "doubled": doubled,
            # boundaries that became due during the benchmark itself (not an error)
            "became_due_meanwhile": unexpected,
        }


async def _cleanup(store: object, rooms: int) -> None:
    drop = getattr(store, "drop_room", None)
    if drop is None:
        return
    for i in range(rooms):
        await drop(RoomKey(GUILD, i + 1))


def main(argv: list[str] | None = None) -> dict[str, object]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--rooms", type=int, default=1000)
    p.add_argument("--store", choices=("embedded", "redis"), default="embedded")
    p.add_argument("--missed-share", type=float, default=0.2)
    p.add_argument("--redis-url", default=REDIS_URL, help="with --store redis; or redis+cluster://")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    figures = asyncio.run(run(a.rooms, a.store, a.seed, a.missed_share, a.redis_url))
    report(f"restart: {a.rooms} rooms, {a.store} store", figures)
    return figures


if __name__ == "__main__":
    main()

"""How late do boundaries fire with N rooms running at once in one process?

Each room gets a random pattern and start, arranged so that one of its boundaries falls at a
random instant inside the measuring window. Every room runs on the real path: one APScheduler
job per room (``TimerScheduler``), ``TimerService.wake`` reading and claiming through the
session store. Lateness is the wall time at which the boundary reached the Discord layer minus
the boundary's instant.

    python -m bench.timer_load --rooms 10000 --window 60
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time

from bench.common import (
    GUILD,
    REDIS_URL,
    cpu_seconds,
    percentile,
    random_run,
    report,
    rss_kb,
    timer_stack,
)
from storage.session.base import RoomKey


async def run(
    rooms: int, window_s: float, lead_s: float, store: str, seed: int, redis_url: str = REDIS_URL
) -> dict[str, object]:
    rng = random.Random(seed)
    namespace = f"studyon-bench-load-{seed}"
    async with timer_stack(store, namespace=namespace, redis_url=redis_url) as stack:
        gc.collect()
        rss_before = rss_kb()
        start = stack.timers._clock.now_ms()
        window_start = start + int(lead_s * 1000) + rooms // 5  # setup time grows with N
        keys = []
        for i in range(rooms):
            key = RoomKey(GUILD, i + 1)
            at = window_start + rng.randrange(int(window_s * 1000))
            await stack.store.put_run(key, random_run(rng, i + 1, at))
            keys.append(key)
        stack.scheduler.start()
        t0 = time.perf_counter()
        restored = await stack.timers.restore()
        schedule_s = time.perf_counter() - t0
        gc.collect()
        rss_after = rss_kb()
        cpu0 = cpu_seconds()
        # wait (for real: this measures the wall clock) until every boundary has fired
        deadline = time.monotonic() + lead_s + window_s + rooms / 5000 + 30
        while len(stack.listener.late_ms) < rooms and time.monotonic() < deadline:  # noqa: ASYNC110 - polls a plain list
            await asyncio.sleep(0.2)
        await stack.jobs.settle()
        cpu = cpu_seconds() - cpu0
        late = stack.listener.late_ms
        doubled = sum(n - 1 for n in stack.listener.seen.values() if n > 1)
        return {
            "rooms": rooms,
            "store": store,
            "restored": restored,
            "fired": len(late),
            "doubled": doubled,
            "schedule_s": round(schedule_s, 3),
            "p50_late_ms": round(percentile(late, 50), 1),
            "p99_late_ms": round(percentile(late, 99), 1),
            "max_late_ms": round(max(late) if late else 0.0, 1),
            "cpu_s": round(cpu, 2),
            "rss_kb_per_room": round((rss_after - rss_before) / max(rooms, 1), 2),
            "window_s": window_s,
        }


def main(argv: list[str] | None = None) -> dict[str, object]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--rooms", type=int, default=1000)
    p.add_argument("--window", type=float, default=None, help="seconds the boundaries spread over")
    p.add_argument("--lead", type=float, default=2.0, help="seconds before the window opens")
    p.add_argument("--store", choices=("embedded", "redis"), default="embedded")
    p.add_argument("--redis-url", default=REDIS_URL, help="with --store redis; or redis+cluster://")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    window = a.window if a.window is not None else max(2.0, min(60.0, a.rooms / 150))
    figures = asyncio.run(run(a.rooms, window, a.lead, a.store, a.seed, a.redis_url))
    report(f"timer_load: {a.rooms} rooms, {a.store} store", figures)
    return figures


if __name__ == "__main__":
    main()

"""Shared pieces of the benchmarks: building a real timer stack and reporting figures."""

from __future__ import annotations

import json
import random
import resource
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.jobs import JobWatch
from bot.clock import Clock
from bot.domain.timer import Pattern, Timer
from bot.scheduler import TimerScheduler
from bot.services.events import BoundaryFired, RoomClosed, RunFinished
from bot.services.timer import TimerService
from bot.wiring import open_services
from storage.session.base import RoomKey, Run, SessionStore
from storage.session.embedded import EmbeddedSessionStore
from storage.session.redis_store import RedisSessionStore

GUILD = 1
REDIS_URL = "redis://127.0.0.1:6379/0"  # --redis-url: another server, or redis+cluster://...


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def rss_kb() -> int:
    """Current resident set size in KiB (Linux /proc), falling back to the peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def random_run(rng: random.Random, run_id: int, next_at_ms: int) -> Run:
    """A run with a random pattern, started so that one of its boundaries (not the first,
    when the pattern has more) falls at ``next_at_ms``; earlier ones count as posted."""
    pattern = Pattern.from_minutes(rng.randint(1, 180), rng.randint(1, 60), rng.randint(1, 12))
    k = rng.randint(1, pattern.boundary_count)
    offset = sum(pattern.phase(i).nominal_ms for i in range(1, k + 1))
    timer = Timer(pattern, next_at_ms - offset)
    return Run(run_id, timer, fired_through=k - 1)


class LatenessListener:
    """Records how late each boundary reached the Discord layer, and any repeat."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.late_ms: list[float] = []
        self.seen: dict[tuple[RoomKey, int, int], int] = {}

    async def on_boundary(self, event: BoundaryFired) -> int | None:
        self.late_ms.append(self._clock.now_ms() - event.boundary.at_ms)
        k = (event.key, event.run_id, event.boundary.index)
        self.seen[k] = self.seen.get(k, 0) + 1
        return None

    async def on_run_finished(self, event: RunFinished) -> None:
        return None

    async def on_room_closed(self, event: RoomClosed) -> None:
        return None


@dataclass
class Stack:
    store: SessionStore
    scheduler: TimerScheduler
    timers: TimerService
    listener: LatenessListener
    jobs: JobWatch  # watching the scheduler from before it starts


def make_store(
    kind: str, workdir: Path, namespace: str, redis_url: str = REDIS_URL
) -> SessionStore:
    if kind == "redis":
        return RedisSessionStore(redis_url, namespace=namespace)
    return EmbeddedSessionStore(workdir / "session.db")


@asynccontextmanager
async def timer_stack(
    kind: str,
    workdir: Path | None = None,
    namespace: str = "studyon-bench",
    redis_url: str = REDIS_URL,
) -> AsyncIterator[Stack]:
    """The production timer path, as the bot wires it (``open_services``): TimerService,
    TimerScheduler (APScheduler, not started) and a session store."""
    with tempfile.TemporaryDirectory() as tmp:
        base = workdir or Path(tmp)
        services = await open_services(
            f"sqlite+aiosqlite:///{base / 'bench.db'}",
            store=make_store(kind, base, namespace, redis_url),
            start_scheduler=False,
        )
        listener = LatenessListener(services.clock)
        services.events.add_room_listener(listener)
        try:
            yield Stack(
                services.store,
                services.scheduler,
                services.timers,
                listener,
                JobWatch(services.scheduler),
            )
        finally:
            await services.close()


def report(title: str, figures: dict[str, Any]) -> None:
    """Print the figures for a person, then one JSON line for machines."""
    print(title)
    for k, v in figures.items():
        print(f"  {k:>24}: {v}")
    print(json.dumps(figures, sort_keys=True))

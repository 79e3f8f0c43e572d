"""Real processes, really killed: is any alarm lost or doubled, or any refund paid twice?

P operating-system processes of the real bot (``create_bot`` and ``login``, as ``studyon run``
does up to the gateway, which is not needed here) share one PostgreSQL database and one
Redis, each with its own ``STUDYON_SHARD_IDS`` (shards ``2p`` and ``2p+1`` of ``2P``) and
configuration file in its own working directory, and post over HTTP to the REST stand-in
(``bench/standin.py``, Discord's limits, in a process of its own). ``--rooms`` rooms per
process are seeded through the production services in servers of both of its shards, each
room with its owner and one member; their runs are then re-timed in the session store so
that their boundaries fall in waves (every ``WAVE_S`` seconds, all processes at once) over
the bench window, a quarter of them with three boundaries (two study periods), the others
with one. Both members dismiss every alarm one second after it appears, through the
production ``TimerService.dismiss`` (as the Dismiss button does), so every run that ends
has two kings, whose payments are refunded.

Meanwhile one process at a time is killed with SIGKILL, at a random instant (every other
kill just after a wave, while that process is posting its alarms) and restarted with the
same shards at once; one restart is in a fresh working directory (a new temporary
directory, nothing of the old one), as on another machine.

Reported: ``lost`` (a boundary that fell during the bench with no alarm in the stand-in's
message log), ``doubled`` (alarm messages beyond the first for one boundary of a run),
``double_refunds`` (king refunds in the SQL ledger beyond the first for one member and run),
``kills``, ``mid_wakeup_kills`` (kills after which the session store held alarms or results
the victim had claimed for posting and not posted: it died inside a wake-up),
``max_recovery_s`` (restart → every alarm of the victim that was due by the restart posted,
the worst of the kills), ``max_ready_s`` (restart → the new process has rescheduled its
rooms), and the end of runs: ``runs_ended``, ``results_lost``,
``results_doubled``, ``kings``, ``refunds``. Targets at 600 rooms per process: 0, 0, 0,
≥ 5 kills, ``max_recovery_s < 5``.

    python -m bench.cluster --processes 3 --rooms 600 --kills 5

PostgreSQL and Redis must answer at the given URLs; if they do not, ``scripts/start-services``
is run once to start them. The bench uses a database of its own (``cluster_bench``, dropped
and created again) and Redis database 5 (flushed), which no test uses.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import discord
import redis.asyncio as aioredis

from bench.common import report
from bot.config import SHARD_IDS_ENV, TOKEN_ENV, load_config
from bot.domain.run import RoomKey
from bot.domain.timer import Timer
from bot.services.settings import ServiceSettings
from bot.wiring import Services, open_services

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "cluster_bench"
REDIS = "redis://127.0.0.1:6379/5"  # a database of its own: the tests use 0, alarm_storm 3
TOKEN = "cluster-token"
READY = "READY"

GRACE_S = 10  # the servers' alarm grace (the least is 5): a run ends 10 s after its last alarm
VOTE_S = 3600  # no room closes during the bench: its end of run is what is measured
WAVE_S = 4.0  # boundaries fall in waves, every process's rooms at once
FIRST_ALARMS_PER_S = 10  # first boundaries per second over the window, all processes together
MIN_SPAN_S = 20.0
KILL_CYCLE_S = 14.0  # room in the window for one kill: restart, recovery and a pause
THREE_BOUNDARIES_EVERY = 4  # one room in four studies twice (three boundaries)
GUILDS_PER_SHARD = 3
DISMISS_AFTER_MS = 1000
SETTLE_TIMEOUT_S = 90.0

FIRST_GUILD = 1000  # guild ids are (n << 22): the shard is n % shard_count
FIRST_CHANNEL = 2_000_000_000_000_000_000
FIRST_USER = 3_000_000_000_000_000_000
_DISMISS = re.compile(r"studyon:dismiss:([0-9]+):([0-9]+):([0-9]+):([0-9]+)")
_EXTEND = re.compile(r"studyon:extend:([0-9]+):([0-9]+):([0-9]+)")


def now_ms() -> int:
    return int(time.time() * 1000)


def guild_of(shard: int, n: int, shard_count: int) -> int:
    """The ``n``-th seeded server on ``shard`` (``(guild_id >> 22) % shard_count``)."""
    return ((FIRST_GUILD + n) * shard_count + shard) << 22


def shard_of(guild_id: int, shard_count: int) -> int:
    return (guild_id >> 22) % shard_count


# -- the plan ---------------------------------------------------------------------------


@dataclass
class Room:
    index: int
    process: int
    guild_id: int
    owner: int
    member: int
    channel: int
    terms: int
    first_ms: int = 0  # boundary #1 (set when re-timed)
    room_id: int = 0
    run_id: int = 0
    boundaries: list[int] = field(default_factory=list)  # instants, by index - 1

    @property
    def key(self) -> RoomKey:
        return RoomKey(self.guild_id, self.room_id)


def plan_rooms(processes: int, per_process: int) -> list[Room]:
    shard_count = 2 * processes
    rooms = []
    for i in range(processes * per_process):
        p = i // per_process
        shard = 2 * p + i % 2
        guild = guild_of(shard, (i // 2) % GUILDS_PER_SHARD, shard_count)
        assert shard_of(guild, shard_count) == shard
        terms = 2 if i % THREE_BOUNDARIES_EVERY == 0 else 1
        owner, member = FIRST_USER + 2 * i, FIRST_USER + 2 * i + 1
        rooms.append(Room(i, p, guild, owner, member, FIRST_CHANNEL + i, terms))
    return rooms


def span_s(total_rooms: int, kills: int) -> float:
    """The window over which first boundaries fall: wide enough for the kills, and for the
    pace (45 requests a second for the whole bot) to keep well ahead of the alarms."""
    return max(MIN_SPAN_S, total_rooms / FIRST_ALARMS_PER_S, kills * KILL_CYCLE_S + 6)


def assign_waves(rooms: list[Room], span: float, rng: random.Random) -> None:
    """Each room's first boundary on a wave (``first_ms`` counted from the window's start);
    rooms that study twice (their last boundary 2 minutes after their first) only where that
    still falls inside the window."""
    waves = max(1, int(span // WAVE_S))
    two_minutes = 120_000
    early = [w for w in range(waves) if w * WAVE_S * 1000 + two_minutes <= span * 1000]
    for room in rooms:
        if room.terms == 2 and not early:
            room.terms = 1
        choices = early if room.terms == 2 else range(waves)
        room.first_ms = int(rng.choice(choices) * WAVE_S * 1000)


# -- the processes ----------------------------------------------------------------------


def write_config(workdir: Path, database_url: str, redis_url: str, shard_count: int) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.toml"
    path.write_text(
        "\n".join(
            [
                "[discord]",
                f"shard_count = {shard_count}",
                "[database]",
                f'url = "{database_url}"',
                "[session]",
                f'redis_url = "{redis_url}"',
                "[timer]",
                f"alarm_grace_seconds = {GRACE_S}",
                f"extend_vote_seconds = {VOTE_S}",
                "",
            ]
        )
    )
    return path


@dataclass
class Worker:
    """One bot process: shards ``2p`` and ``2p+1``, in ``workdir``."""

    index: int
    workdir: Path
    proc: asyncio.subprocess.Process | None = None
    started_ms: int = 0
    ready_ms: int | None = None
    _reader: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def shards(self) -> str:
        return f"{2 * self.index},{2 * self.index + 1}"

    async def start(self, api: str, database_url: str, redis_url: str, shard_count: int) -> None:
        config = write_config(self.workdir, database_url, redis_url, shard_count)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),  # this checkout, whatever the working directory
            SHARD_IDS_ENV: self.shards,
            TOKEN_ENV: TOKEN,
        }
        self.ready = asyncio.Event()
        self.ready_ms = None
        self.started_ms = now_ms()
        log = (self.workdir / "bot.log").open("ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.cluster",
                "--bot",
                str(config),
                api,
                cwd=self.workdir,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        finally:
            log.close()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for line in self.proc.stdout:
            if line.decode().strip() == READY and self.ready_ms is None:
                self.ready_ms = now_ms()
                self.ready.set()

    async def kill(self) -> int:
        """SIGKILL; the instant (ms) it was sent."""
        assert self.proc is not None
        at = now_ms()
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        if self._reader is not None:
            await self._reader
        return at

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
        if self._reader is not None:
            await self._reader


async def _bot_main(config_path: str, api: str) -> None:
    """One process of the bot: the real bot, logged in to the stand-in (its setup hook opens
    the stores and reschedules the rooms of its shards); no gateway. SIGTERM closes it."""
    import logging

    from bot.app import create_bot

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    discord.http.Route.BASE = api
    config = load_config(config_path)
    bot = create_bot(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await bot.login(config.discord.token.reveal())
        bot.dispatch("ready")
        print(READY, flush=True)
        await stop.wait()
    finally:
        await bot.close()


def _start_standin() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.standin", "--global-per-s", "50"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}"


# -- the servers ------------------------------------------------------------------------


async def _postgres_up(admin_url: str) -> bool:
    try:
        conn = await asyncpg.connect(admin_url + "/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def _redis_up(url: str) -> bool:
    client: aioredis.Redis = aioredis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        await client.ping()
        return True
    except (OSError, aioredis.RedisError):
        return False
    finally:
        await client.aclose()


async def ensure_servers(admin_url: str, redis_url: str) -> None:
    """PostgreSQL and Redis answering; if not, start them as the test set-up does, once."""
    if await _postgres_up(admin_url) and await _redis_up(redis_url):
        return
    script = ROOT / "scripts" / "start-services"
    print(f"cluster: starting PostgreSQL and Redis ({script})", file=sys.stderr)
    starter = await asyncio.create_subprocess_exec(str(script))
    await starter.wait()
    if not await _postgres_up(admin_url):
        raise SystemExit(f"cluster: PostgreSQL does not answer at {admin_url}: start it")
    if not await _redis_up(redis_url):
        raise SystemExit(f"cluster: Redis does not answer at {redis_url}: start redis-server")


async def fresh_database(admin_url: str, name: str) -> None:
    admin = await asyncpg.connect(admin_url + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop_database(admin_url: str, name: str) -> None:
    admin = await asyncpg.connect(admin_url + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def flush_redis(url: str) -> None:
    client: aioredis.Redis = aioredis.Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


# -- seeding ----------------------------------------------------------------------------


async def seed(services: Services, rooms: list[Room], parallel: int = 8) -> None:
    """Every room through the production services: created (the owner pays), its channel
    attached, the member joined (and paid), the run started."""
    queue = list(rooms)

    async def one(room: Room) -> None:
        made = await services.rooms.create(
            room.guild_id, room.owner, f"Cluster {room.index}", 1, 1, room.terms
        )
        room.room_id = made.id
        await services.rooms.attach_channels(made.id, room.channel, None)
        await services.rooms.join(made.id, room.member)
        view = await services.timers.start(made.id, room.owner)
        room.run_id = view.run_id

    async def lane() -> None:
        while queue:
            await one(queue.pop())

    await asyncio.gather(*(lane() for _ in range(parallel)))


async def retime(services: Services, rooms: list[Room], t0_ms: int) -> None:
    """Move each run so that its first boundary falls ``first_ms`` after ``t0_ms``."""
    store = services.store
    for room in rooms:
        room.first_ms += t0_ms
        run = await store.get_run(room.key)
        assert run is not None
        started = room.first_ms - run.timer.pattern.study_ms
        timer = Timer(run.timer.pattern, started)
        await store.put_run(room.key, replace(run, timer=timer))
        room.boundaries = [b.at_ms for b in timer.boundaries()]


# -- watching the stand-in --------------------------------------------------------------


@dataclass
class Log:
    """The stand-in's message log as it grows: alarms and results, by what their buttons
    say (the room, the run, the boundary), each with the instants its messages appeared."""

    alarms: dict[tuple[int, int, int], list[int]] = field(default_factory=dict)
    results: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    read: int = 0

    def add(self, message: dict[str, Any]) -> tuple[int, int, int, int] | None:
        """Record one message; a new alarm's (guild, room, run, boundary)."""
        for row in message.get("components") or []:
            for item in row.get("components") or []:
                custom = str(item.get("custom_id") or "")
                if m := _DISMISS.fullmatch(custom):
                    g, r, run, k = (int(x) for x in m.groups())
                    seen = self.alarms.setdefault((r, run, k), [])
                    seen.append(int(message["created_ms"]))
                    return (g, r, run, k) if len(seen) == 1 else None
                if m := _EXTEND.fullmatch(custom):
                    _, r, run = (int(x) for x in m.groups())
                    self.results.setdefault((r, run), []).append(int(message["created_ms"]))
                    return None
        return None

    def first(self, room: Room, k: int) -> int | None:
        seen = self.alarms.get((room.room_id, room.run_id, k))
        return min(seen) if seen else None


class Watch:
    """Reads the stand-in's log, and dismisses each new alarm as both members of its room
    would: a second after it appeared, through the production ``dismiss``."""

    def __init__(self, url: str, services: Services, rooms: list[Room]) -> None:
        self._url = url
        self.services = services
        self._by_room = {r.room_id: r for r in rooms}
        self.log = Log()
        self.dismissed = 0
        self.refused = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._grew = asyncio.Event()  # set after each read of the log

    async def poll(self, session: aiohttp.ClientSession) -> None:
        url = f"{self._url}/_standin/messages"
        async with session.get(url, params={"since": str(self.log.read)}) as r:
            messages: list[dict[str, Any]] = await r.json()
        self.log.read += len(messages)
        self._grew.set()
        for message in messages:
            new = self.log.add(message)
            if new is not None:
                task = asyncio.create_task(self._dismiss(new, int(message["created_ms"])))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _dismiss(self, alarm: tuple[int, int, int, int], shown_ms: int) -> None:
        g, r, run, k = alarm
        room = self._by_room.get(r)
        if room is None:
            return
        for user in (room.owner, room.member):
            try:
                await self.services.timers.dismiss(
                    RoomKey(g, r),
                    run,
                    k,
                    user,
                    alarm_shown_ms=shown_ms,
                    dismissed_ms=shown_ms + DISMISS_AFTER_MS,
                )
                self.dismissed += 1
            except Exception:
                self.refused += 1

    async def until(self, done: Callable[[Log], bool]) -> None:
        """Return once ``done(log)`` holds, checked after every read of the log."""
        while not done(self.log):
            self._grew.clear()
            await self._grew.wait()

    async def run(self, stop: asyncio.Event) -> None:
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                await self.poll(session)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.25)
            await self.poll(session)
        if self._tasks:
            await asyncio.gather(*self._tasks)


# -- killing ----------------------------------------------------------------------------


@dataclass
class Kill:
    victim: int
    at_ms: int
    restarted_ms: int
    fresh: bool
    aimed: bool  # timed just after a wave
    ready_s: float = 0.0
    recovery_s: float | None = None  # None: some due alarm never came
    # claimed for posting in the session store and not yet posted when it died: alarms, and
    # the results of runs (the kill fell inside a wake-up, between a claim and its post)
    owed_alarms: int = 0
    owed_results: int = 0
    owed: set[tuple[int, int]] = field(default_factory=set)  # (room id, boundary) claimed
    # the alarm posted last of those due at the restart: how long before the restart it
    # fell, how long after it it was posted, and whether the killed process had claimed it
    slowest: tuple[float, float, bool] | None = None

    @property
    def mid_wakeup(self) -> bool:
        return self.owed_alarms + self.owed_results > 0


def _due(rooms: list[Room], victim: int, by_ms: int) -> list[tuple[Room, int]]:
    return [
        (room, k)
        for room in rooms
        if room.process == victim
        for k, at in enumerate(room.boundaries, 1)
        if at <= by_ms
    ]


def next_wave_of(rooms: list[Room], victim: int, after_ms: int) -> int | None:
    """The next instant after ``after_ms`` at which some of the victim's rooms are due."""
    times = [at for r in rooms if r.process == victim for at in r.boundaries if at > after_ms]
    return min(times) if times else None


async def _sleep_until(at_ms: int) -> None:
    delay = (at_ms - now_ms()) / 1000
    if delay > 0:
        await asyncio.sleep(delay)


@dataclass(frozen=True)
class Chaos:
    """What the kills act on: the processes and their rooms, the log that tells what
    members saw, how to start a process again, and the working directories made for fresh
    restarts (removed at the end)."""

    kills: int
    rng: random.Random
    workers: list[Worker]
    rooms: list[Room]
    watch: Watch
    start: Callable[[Worker], Awaitable[None]]
    dirs: list[Path]


async def kill_and_restart(i: int, chaos: Chaos, not_before_ms: int) -> Kill:
    rng, workers, rooms, watch = chaos.rng, chaos.workers, chaos.rooms, chaos.watch
    victim = rng.randrange(len(workers))
    aimed = i % 2 == 0
    await _sleep_until(not_before_ms)
    target: int | None = None
    if aimed:
        wave = next_wave_of(rooms, victim, now_ms() + 1500)
        if wave is not None:
            target = wave + rng.randint(50, 400)
    if target is None:
        aimed = False
        target = now_ms() + rng.randint(500, 4000)
    await _sleep_until(target)
    worker = workers[victim]
    killed = await worker.kill()
    # what it left claimed and unposted, as the session store holds it
    runs = await watch.services.store.get_runs([r.key for r in rooms if r.process == victim])
    owed_alarms = sum(len(run.owed_alarms) for run in runs.values())
    owed = {(key.room_id, k) for key, run in runs.items() for k in run.owed_alarms}
    owed_results = sum(run.owed_results is not None for run in runs.values())
    fresh = i == chaos.kills // 2
    if fresh:  # as on another machine: a new directory, nothing of the old one
        worker.workdir = Path(tempfile.mkdtemp(prefix="studyon-cluster-fresh-"))
        chaos.dirs.append(worker.workdir)
    restarted = now_ms()
    await chaos.start(worker)
    kill = Kill(victim, killed, restarted, fresh, aimed, owed_alarms=owed_alarms)
    kill.owed_results = owed_results
    kill.owed = owed
    due = _due(rooms, victim, restarted)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(worker.ready.wait(), SETTLE_TIMEOUT_S)
    if worker.ready_ms is not None:
        kill.ready_s = round((worker.ready_ms - restarted) / 1000, 2)

    def recovered(log: Log) -> bool:
        return all(log.first(room, k) is not None for room, k in due)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(watch.until(recovered), SETTLE_TIMEOUT_S)
    firsts = [(watch.log.first(room, k), room, k) for room, k in due]
    if all(f is not None for f, _, _ in firsts):
        late = [(f - restarted, room, k) for f, room, k in firsts if f is not None]
        worst = max(late, key=lambda x: x[0])
        kill.recovery_s = round(max(0, worst[0]) / 1000, 2)
        fell = (restarted - worst[1].boundaries[worst[2] - 1]) / 1000
        claimed = (worst[1].room_id, worst[2]) in owed
        kill.slowest = (round(fell, 2), round(worst[0] / 1000, 2), claimed)
    return kill


# -- the bench --------------------------------------------------------------------------


async def bench(
    processes: int,
    per_process: int,
    kills: int,
    seed_value: int,
    admin_url: str = POSTGRES,
    database: str = DATABASE,
    redis_url: str = REDIS,
    keep: bool = False,
) -> dict[str, Any]:
    rng = random.Random(seed_value)
    await ensure_servers(admin_url, redis_url)
    await fresh_database(admin_url, database)
    await flush_redis(redis_url)
    database_url = admin_url.replace("postgresql://", "postgresql+asyncpg://") + f"/{database}"
    shard_count = 2 * processes
    standin, url = _start_standin()
    base = Path(tempfile.mkdtemp(prefix="studyon-cluster-"))
    dirs = [base]
    workers = [Worker(p, base / f"p{p}") for p in range(processes)]

    async def start(worker: Worker) -> None:
        await worker.start(url + "/api/v10", database_url, redis_url, shard_count)

    try:
        seed_config = write_config(base / "seed", database_url, redis_url, shard_count)
        services = await open_services(
            database_url,
            redis_url,
            settings=ServiceSettings.from_config(load_config(seed_config, env={})),
            start_scheduler=False,
        )
        try:
            rooms = plan_rooms(processes, per_process)
            span = span_s(len(rooms), kills)
            assign_waves(rooms, span, rng)
            t = time.perf_counter()
            await seed(services, rooms)
            seed_s = time.perf_counter() - t
            t0 = now_ms() + 8000 + 2 * len(rooms)  # the processes start meanwhile
            await retime(services, rooms, t0)
            for worker in workers:
                await start(worker)
            for worker in workers:
                await asyncio.wait_for(worker.ready.wait(), 120)
            watch = Watch(url, services, rooms)
            chaos = Chaos(kills, rng, workers, rooms, watch, start, dirs)
            done = await _kill_while_running(chaos, t0, span)
        finally:
            for worker in workers:
                await worker.stop()
            await services.close()
        async with aiohttp.ClientSession() as session, session.get(url + "/_standin/stats") as r:
            stats = await r.json()
        ledger = await _ledger(admin_url, database)
    finally:
        standin.terminate()
        standin.wait()
        await drop_database(admin_url, database)
        await flush_redis(redis_url)
        if keep:
            print(f"cluster: working directories kept: {[str(d) for d in dirs]}", file=sys.stderr)
        else:
            for d in dirs:
                shutil.rmtree(d, ignore_errors=True)
    return _figures(processes, per_process, rooms, watch, done, stats, ledger, seed_s, span)


async def _kill_while_running(chaos: Chaos, t0: int, span: float) -> list[Kill]:
    """Kill and restart ``chaos.kills`` times while the runs go on, then wait for every run
    to end and every alarm and result to be posted (or for the time-out)."""
    kills, rng, rooms, watch = chaos.kills, chaos.rng, chaos.rooms, chaos.watch
    stop = asyncio.Event()
    watching = asyncio.create_task(watch.run(stop))
    done: list[Kill] = []
    try:
        await _sleep_until(t0 + 1000)
        for i in range(kills):
            # spread over the window: kills fall among first alarms, later ones and run ends
            not_before = t0 + int(i * span * 1000 / kills)
            done.append(await kill_and_restart(i, chaos, not_before))
            await asyncio.sleep(rng.uniform(0.5, 2.0))
        last_end = max(r.boundaries[-1] for r in rooms) + GRACE_S * 1000
        await _sleep_until(last_end + 2000)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watch.until(lambda log: _settled(rooms, log)), SETTLE_TIMEOUT_S)
    finally:
        stop.set()
        await watching
    return done


def _settled(rooms: list[Room], log: Log) -> bool:
    return all(
        log.first(r, k) is not None for r in rooms for k in range(1, len(r.boundaries) + 1)
    ) and all((r.room_id, r.run_id) in log.results for r in rooms)


async def _ledger(admin_url: str, database: str) -> dict[str, int]:
    conn = await asyncpg.connect(f"{admin_url}/{database}")
    try:
        double = await conn.fetchval(
            """
            SELECT coalesce(sum(n - 1), 0) FROM (
                SELECT count(*) AS n FROM ledger_entries WHERE reason = 'king_refund'
                GROUP BY guild_id, user_id, split_part(reference, ';', 1)
            ) AS per_member_and_run
            """
        )
        refunds = await conn.fetchval(
            "SELECT count(*) FROM ledger_entries WHERE reason = 'king_refund'"
        )
        kings = await conn.fetchval("SELECT count(*) FROM run_results WHERE is_king")
        ended = await conn.fetchval("SELECT count(*) FROM runs WHERE status = 'finished'")
    finally:
        await conn.close()
    return {
        "double_refunds": int(double),
        "refunds": int(refunds),
        "kings": int(kings),
        "runs_ended": int(ended),
    }


def _figures(
    processes: int,
    per_process: int,
    rooms: list[Room],
    watch: Watch,
    kills: list[Kill],
    stats: dict[str, Any],
    ledger: dict[str, int],
    seed_s: float,
    span: float,
) -> dict[str, Any]:
    log = watch.log
    expected = [(r, k) for r in rooms for k in range(1, len(r.boundaries) + 1)]
    lost = sum(1 for r, k in expected if log.first(r, k) is None)
    doubled = sum(len(v) - 1 for v in log.alarms.values())
    results_lost = sum(1 for r in rooms if (r.room_id, r.run_id) not in log.results)
    results_doubled = sum(len(v) - 1 for v in log.results.values())
    recoveries = [k.recovery_s for k in kills]
    return {
        "processes": processes,
        "rooms_per_process": per_process,
        "boundaries": len(expected),
        "window_s": round(span, 1),
        "seed_s": round(seed_s, 1),
        "lost": lost,
        "doubled": doubled,
        "double_refunds": ledger["double_refunds"],
        "kills": len(kills),
        "mid_wakeup_kills": sum(k.mid_wakeup for k in kills),
        "fresh_dir_restarts": sum(k.fresh for k in kills),
        # null when the alarms due at some restart never all came (they count as lost too)
        "max_recovery_s": max_recovery(recoveries),
        "recovery_s": recoveries,
        "owed_at_kills": [k.owed_alarms + k.owed_results for k in kills],
        # per kill: the last alarm posted of those due at the restart (fell s before it,
        # posted s after it, claimed by the killed process)
        "slowest_at_kills": [k.slowest for k in kills],
        "max_ready_s": max((k.ready_s for k in kills), default=0.0),
        "runs_ended": ledger["runs_ended"],
        "results_lost": results_lost,
        "results_doubled": results_doubled,
        "kings": ledger["kings"],
        "refunds": ledger["refunds"],
        "dismissals": watch.dismissed,
        "dismissals_refused": watch.refused,
        "nonce_repeats": stats["nonce_repeats"],
        "http_429": stats["http_429"],
        "http_429_by_route": stats["http_429_by_route"],
    }


def max_recovery(recoveries: list[float | None]) -> float | None:
    if any(r is None for r in recoveries):
        return None
    return max((r for r in recoveries if r is not None), default=0.0)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--bot"]:
        asyncio.run(_bot_main(argv[1], argv[2]))
        return {}
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--processes", type=int, default=3)
    p.add_argument("--rooms", type=int, default=600, help="rooms per process")
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--seed", type=int, default=1, help="random seed (victims, instants)")
    p.add_argument("--postgres-url", default=POSTGRES, help="server (no database)")
    p.add_argument("--database", default=DATABASE, help="dropped and created again")
    p.add_argument("--redis-url", default=REDIS, help="a database of its own: it is flushed")
    p.add_argument("--keep", action="store_true", help="keep the processes' directories (logs)")
    a = p.parse_args(argv)
    if a.processes < 1 or a.rooms < 1 or a.kills < 0:
        p.error("--processes and --rooms must be ≥ 1, --kills ≥ 0")
    figures = asyncio.run(
        bench(
            a.processes, a.rooms, a.kills, a.seed, a.postgres_url, a.database, a.redis_url, a.keep
        )
    )
    report(f"cluster: {a.processes} processes × {a.rooms} rooms, {a.kills} SIGKILLs", figures)
    return figures


if __name__ == "__main__":
    main()

"""Does every alarm reach its channel in time when thousands of rooms ring in the same second?

N rooms, each in its own channel, all with their first boundary at the same instant: the
real bot (every REST call through its pacer, discord.py's real ``HTTPClient``) posts the alarms
to a local stand-in for Discord's REST API that enforces Discord's limits (50 requests a
second per token, per-route buckets) in a process of its own. With ``--processes P`` the rooms
are split over P bot processes sharing one token, whose pacers share one pace through Redis.

Reported: ``alarm_p50_s`` and ``alarm_p99_s`` (boundary → the alarm accepted by Discord, from
the message's snowflake), ``limit_s`` (N ÷ the global limit: no bot can do better),
``http_429`` and ``invalid_requests`` (answers Discord counts towards its ban),
``global_calls_per_boundary`` (every REST call from the boundary until the bot is idle, the
bot's own ⏰ reactions included, per room) and ``unfair_late``: members who dismissed within
the grace window after their alarm was delivered but were judged late (each room has one,
dismissing just inside the window; the judgement is the production ``dismiss``).
Targets: ``alarm_p99_s ≤ 1.25 × limit_s + 2``, ``http_429 = 0``, ``unfair_late = 0``.

    python -m bench.alarm_storm --rooms 1000
    python -m bench.alarm_storm --rooms 3000 --processes 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import discord

from bench.common import percentile, report
from bot.app import StudyOnBot, create_bot
from bot.config import parse_config
from bot.domain.run import RoomKey
from bot.domain.timer import Timer
from storage.db import create_engine, migrate

GLOBAL_PER_S = 50
GUILD = 1_000_000_000_000_000_002  # the stand-in's guild
FIRST_CHANNEL = 2_000_000_000_000_000_000
FIRST_USER = 3_000_000_000_000_000_000
STUDY_MINUTES = 50
READY = "READY"


POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/"
REDIS = "redis://127.0.0.1:6379/3"  # a database of its own: binding a fresh store clears it


def _config(workdir: Path, database: str | None) -> Any:
    """One process alone: SQLite and the embedded store. Several: one PostgreSQL database
    and one Redis, as a big host runs them (the pace is then shared through Redis)."""
    if database is None:
        return parse_config(
            {
                "database": {"url": f"sqlite+aiosqlite:///{workdir / 'storm.db'}"},
                "session": {"embedded_path": str(workdir / "session.db")},
            },
            env={},
        )
    return parse_config(
        {"database": {"url": POSTGRES + database}, "session": {"redis_url": REDIS}}, env={}
    )


async def _seed(bot: StudyOnBot, first: int, count: int) -> list[tuple[RoomKey, int]]:
    """``count`` running rooms of two members each, through the production services: each
    with its own text channel, its run started now (boundary #1 in 50 minutes)."""
    services = bot.services
    rooms: list[tuple[RoomKey, int]] = []
    for i in range(first, first + count):
        owner, member = FIRST_USER + 2 * i, FIRST_USER + 2 * i + 1
        room = await services.rooms.create(GUILD, owner, f"Storm {i}", STUDY_MINUTES, 10, 4)
        await services.rooms.attach_channels(room.id, FIRST_CHANNEL + i, None)
        await services.rooms.join(room.id, member)
        view = await services.timers.start(room.id, owner)
        rooms.append((RoomKey(GUILD, room.id), view.run_id))
    return rooms


async def _ring_at(bot: StudyOnBot, rooms: list[tuple[RoomKey, int]], at_ms: int) -> None:
    """Move every run so that its first boundary falls at ``at_ms``."""
    services = bot.services
    for key, _ in rooms:
        run = await services.store.get_run(key)
        assert run is not None
        started = at_ms - run.timer.pattern.study_ms
        await services.store.put_run(key, replace(run, timer=Timer(run.timer.pattern, started)))
        services.scheduler.schedule(key, at_ms)


async def _delivered(bot: StudyOnBot, rooms: list[tuple[RoomKey, int]]) -> dict[RoomKey, int]:
    """Wait until every room's alarm #1 is posted and the pacer is idle; alarm message ids."""
    posted = bot.services.posted
    found: dict[RoomKey, int] = {}
    while len(found) < len(rooms):
        await asyncio.sleep(0.5)
        for key, run_id in rooms:
            if key not in found and (message := await posted.alarm(key, run_id, 1)) is not None:
                found[key] = message
    pacer = bot._pacer
    while True:  # the bot's own ⏰ reactions go last
        if pacer is None or not pacer.waiting:
            return found
        await asyncio.sleep(0.2)


async def _judge(
    bot: StudyOnBot, rooms: list[tuple[RoomKey, int]], alarms: dict[RoomKey, int]
) -> int:
    """One member per room dismisses one second inside the grace window after delivery (as
    the snowflake of its message says); how many the production ``dismiss`` judged late,
    judging from the delivery instant the wake-up recorded for the run."""
    grace_ms = bot.config.timer.alarm_grace_seconds * 1000
    unfair = 0
    for key, run_id in rooms:
        shown = created_ms(alarms[key])
        owner_or_member = (await bot.services.store.get_members(key)).keys()
        user = max(owner_or_member)  # the member who joined
        # judged from what the bot recorded of the delivery, not from this message id
        outcome = await bot.services.timers.dismiss(
            key, run_id, 1, user, dismissed_ms=shown + grace_ms - 1000
        )
        unfair += not outcome.on_time
    return unfair


def created_ms(snowflake: int) -> int:
    return (snowflake >> 22) + discord.utils.DISCORD_EPOCH


async def worker(
    base: str,
    first: int,
    count: int,
    workdir: Path,
    database: str | None,
    go: Any,
    unpaced: bool = False,
) -> dict[str, Any]:
    """One bot process's share: seed, wait for the common instant, ring, measure.
    ``unpaced``: discord.py alone meets the global limit, from 429s (the bot before pacing)."""
    discord.http.Route.BASE = base
    bot = create_bot(_config(workdir, database), simulated=unpaced)
    await bot.login("storm-token")  # runs setup_hook: services, cogs, pacer
    bot.dispatch("ready")  # what the gateway would say: no voice to reconcile here
    try:
        rooms = await _seed(bot, first, count)
        at_ms = await go()
        await _ring_at(bot, rooms, at_ms)
        alarms = await _delivered(bot, rooms)
        late_s = [(created_ms(alarms[key]) - at_ms) / 1000 for key, _ in rooms]
        unfair = await _judge(bot, rooms, alarms)
        return {"late_s": late_s, "unfair_late": unfair, "at_ms": at_ms}
    finally:
        await bot.close()


async def _stats(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(url + "/_standin/stats") as r:
        data: dict[str, Any] = await r.json()
        return data


def _start_standin() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.standin", "--global-per-s", str(GLOBAL_PER_S)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}"


async def storm(rooms: int, processes: int, lead_s: float, unpaced: bool = False) -> dict[str, Any]:
    standin, url = _start_standin()
    base = url + "/api/v10"
    try:
        with tempfile.TemporaryDirectory(prefix="studyon-storm-") as tmp:
            before = await _stats(url)
            if processes == 1:
                results = [await _in_process(base, rooms, Path(tmp), lead_s, unpaced)]
            else:
                results = await _in_processes(base, rooms, processes, Path(tmp), lead_s)
        after = await _stats(url)
    finally:
        standin.terminate()
        standin.wait()
    late = [s for r in results for s in r["late_s"]]
    global_calls = after["global_calls"] - before["global_calls"]
    limit_s = rooms / GLOBAL_PER_S
    return {
        "rooms": rooms,
        "processes": processes,
        "paced": not unpaced,
        "alarm_p50_s": round(percentile(late, 50), 2),
        "alarm_p99_s": round(percentile(late, 99), 2),
        "alarm_max_s": round(max(late), 2),
        "limit_s": round(limit_s, 2),
        "target_p99_s": round(1.25 * limit_s + 2, 2),
        "http_429": after["http_429"] - before["http_429"],
        "global_429": after["global_429"] - before["global_429"],
        "invalid_requests": after["invalid_requests"] - before["invalid_requests"],
        # seeding calls Discord only to log in: /users/@me and the application, once a process
        "global_calls_per_boundary": round((global_calls - 2 * processes) / rooms, 2),
        "unfair_late": sum(r["unfair_late"] for r in results),
    }


async def _in_process(
    base: str, rooms: int, workdir: Path, lead_s: float, unpaced: bool
) -> dict[str, Any]:
    async def go() -> int:
        return int(time.time() * 1000 + lead_s * 1000 + rooms)  # rewriting takes ~1 ms a room

    return await worker(base, 0, rooms, workdir, None, go, unpaced)


async def _fresh_database() -> str:
    """A new PostgreSQL database, migrated, for the processes to share."""
    name = f"studyon_storm_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    engine = create_engine(POSTGRES + name)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    return name


async def _drop_database(name: str) -> None:
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _in_processes(
    base: str, rooms: int, processes: int, workdir: Path, lead_s: float
) -> list[dict[str, Any]]:
    database = await _fresh_database()
    try:
        return await _run_processes(base, rooms, processes, workdir, lead_s, database)
    finally:
        await _drop_database(database)


async def _run_processes(
    base: str, rooms: int, processes: int, workdir: Path, lead_s: float, database: str
) -> list[dict[str, Any]]:
    share = -(-rooms // processes)
    procs = []
    for p in range(processes):
        first, count = p * share, min(share, rooms - p * share)
        args = [base, str(first), str(count), str(workdir / f"p{p}"), database]
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.alarm_storm",
                "--worker",
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
        )
    for proc in procs:  # every process has seeded its rooms
        assert proc.stdout is not None
        while (await proc.stdout.readline()).decode().strip() != READY:
            pass
    at_ms = int(time.time() * 1000 + lead_s * 1000 + share)
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"{at_ms}\n".encode())
        await proc.stdin.drain()
    results = []
    for proc in procs:
        out, _ = await proc.communicate()
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    return results


async def _worker_main(argv: list[str]) -> None:
    base, first, count, workdir, database = argv

    async def go() -> int:
        print(READY, flush=True)
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        return int(line)

    result = await worker(base, int(first), int(count), Path(workdir), database, go)
    print(json.dumps(result), flush=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        Path(argv[4]).mkdir(parents=True, exist_ok=True)
        asyncio.run(_worker_main(argv[1:]))
        return {}
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--rooms", type=int, default=1000)
    p.add_argument("--processes", type=int, default=1)
    p.add_argument("--lead", type=float, default=3.0, help="seconds from seeded to ringing")
    p.add_argument(
        "--unpaced", action="store_true", help="no pacer, as before it (one process only)"
    )
    a = p.parse_args(argv)
    if a.unpaced and a.processes != 1:
        p.error("--unpaced runs in one process")
    figures = asyncio.run(storm(a.rooms, a.processes, a.lead, a.unpaced))
    report(f"alarm_storm: {a.rooms} rooms ring at once, {a.processes} process(es)", figures)
    return figures


if __name__ == "__main__":
    main()

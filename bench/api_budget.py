"""How many Discord REST calls does a room's timer cost?

A full run of one room (default 4 × (50 + 10) with three members) is played in SimCord with
the real bot. REST calls are counted per route in three places: between boundaries (nothing
happens but time passing: the target is 0), at each boundary (the target is ≤ 2 per room:
the alarm and its ⏰ reaction; the card already shows the whole run), and at the end of the
run. The total is compared with designs that edit a countdown message every 5 s, 20 s or
5 minutes for the same run.

    python -m bench.api_budget [--study 50 --break 10 --terms 4]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import simcord

from bench.common import report
from bot.app import create_bot, studyon_teardown
from bot.config import parse_config
from bot.simulation import VirtualTime, frozen_wall_clock

_ID = re.compile(r"/[0-9]{15,21}")
_TOKEN = re.compile(r"/interactions/[0-9]+/[^/]+")


def route(entry: Any) -> str:
    """``METHOD /path`` with ids folded, so calls group by what they do."""
    path = _TOKEN.sub("/interactions/{id}/{token}", entry.path)
    return f"{entry.method} {_ID.sub('/{id}', path)}"


async def measure(study: int, brk: int, terms: int, workdir: Path) -> dict[str, Any]:
    config = parse_config(
        {
            "database": {"url": f"sqlite+aiosqlite:///{workdir / 'budget.db'}"},
            "session": {"embedded_path": str(workdir / "budget-session.db")},
        },
        env={},
    )
    with frozen_wall_clock() as wall:
        bot: Any = create_bot(config)
        async with simcord.run(bot) as env:
            try:
                return await _run(env, VirtualTime(env, wall), study, brk, terms)
            finally:
                await studyon_teardown(bot)


async def _run(
    env: simcord.Env, time: VirtualTime, study: int, brk: int, terms: int
) -> dict[str, Any]:
    bot: Any = env.bot
    await bot.tree.sync()
    guild = env.create_guild("Budget")
    general = guild.create_text_channel("general")
    alice, bob, carol = (guild.add_member(env.create_user(n)) for n in ("alice", "bob", "carol"))
    await alice.slash(
        general, "room create", title="Budget room", study=study, terms=terms, **{"break": brk}
    )
    [room] = await bot.services.rooms.list_open(guild.id)
    for member in (bob, carol):
        await member.slash(general, "room join", room=str(room.room.id))
    channel = next(h for h in guild.channels.values() if h.id == room.room.text_channel_id)
    await alice.slash(channel, "timer start")
    view = await bot.services.timers.status(room.room.id)
    assert view is not None

    def mark() -> int:
        return len(env.http_requests)

    between: Counter[str] = Counter()
    at_boundary: Counter[str] = Counter()
    per_boundary: list[int] = []
    for b in view.boundaries:
        start = mark()
        await time.advance_to(b.at_ms - 1000)  # the whole phase but its last second
        between.update(route(e) for e in env.http_requests[start:])
        start = mark()
        await time.advance_to(b.at_ms)
        calls = [route(e) for e in env.http_requests[start:]]
        at_boundary.update(calls)
        per_boundary.append(len(calls))
    start = mark()
    await time.advance(bot.config.timer.alarm_grace_seconds)  # the run's end is announced
    end = Counter(route(e) for e in env.http_requests[start:])

    run_s = view.boundaries[-1].at_ms // 1000 - view.boundaries[0].at_ms // 1000
    run_s += study * 60  # the first phase
    ours = sum(per_boundary) + sum(between.values())
    boundaries = len(per_boundary)
    figures: dict[str, Any] = {
        "boundaries": boundaries,
        "calls_between_boundaries": sum(between.values()),
        "calls_per_boundary": round(sum(per_boundary) / boundaries, 2),
        "max_calls_at_a_boundary": max(per_boundary),
        "calls_at_end_of_run": sum(end.values()),
        "run_minutes": run_s // 60,
    }
    for label, every_s in (("5s", 5), ("20s", 20), ("5min", 300)):
        theirs = run_s // every_s + boundaries  # countdown edits plus the same alarms
        figures[f"ratio_vs_countdown_{label}"] = round(theirs / max(ours, 1), 1)
    figures["routes_at_boundaries"] = dict(sorted(at_boundary.items()))
    figures["routes_between_boundaries"] = dict(sorted(between.items()))
    figures["routes_at_end"] = dict(sorted(end.items()))
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--study", type=int, default=50)
    p.add_argument("--break", dest="brk", type=int, default=10)
    p.add_argument("--terms", type=int, default=4)
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="studyon-budget-") as tmp:
        figures = asyncio.run(measure(a.study, a.brk, a.terms, Path(tmp)))
    detail = {k: figures.pop(k) for k in list(figures) if k.startswith("routes_")}
    print(f"api_budget: one room, {a.terms} × ({a.study} + {a.brk}) min, three members")
    for k, v in detail.items():
        print(f"  {k}:")
        for r, n in v.items():
            print(f"    {n:4d}  {r}")
    report("  totals", figures)
    return figures


if __name__ == "__main__":
    main()

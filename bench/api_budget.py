"""How many Discord REST calls does a room's timer cost, in a full room?

A full run of one room (default 4 × (50 + 10) with 25 members) is played in SimCord with the
real bot. At every boundary every member dismisses the alarm within the grace window, by its
Dismiss button, and a few by the ⏰ reaction instead (the last to dismiss among them, so its
reaction needs an edit of the alarm that no later click's response makes). Calls are split
into those against the bot's global limit (every REST call) and interaction calls (responses
and followups, which Discord does not count against it), and counted in three places: in the
grace window after each boundary (target ≤ 2 global calls: the alarm, and one folded edit of
it for the ⏰ reactions; clicks show on the alarm through their responses, and the card
already shows the whole run), between those windows (nothing happens but time passing:
target 0), and at the end of the run. The most messages the bot posted in the room channel
in any 5 s is reported too (Discord allows about 5). The total is compared with designs that
edit a countdown message every 5 s, 20 s or 5 minutes.

    python -m bench.api_budget [--members 25] [--study 50 --break 10 --terms 4]
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
_TOKEN = re.compile(r"/(interactions|webhooks)/[0-9]+/[^/]+")


def route(entry: Any) -> str:
    """``METHOD /path`` with ids folded, so calls group by what they do."""
    path = _TOKEN.sub(r"/\1/{id}/{token}", entry.path)
    return f"{entry.method} {_ID.sub('/{id}', path)}"


async def measure(members: int, study: int, brk: int, terms: int, workdir: Path) -> dict[str, Any]:
    config = parse_config(
        {
            "database": {"url": f"sqlite+aiosqlite:///{workdir / 'budget.db'}"},
            "session": {"embedded_path": str(workdir / "budget-session.db")},
        },
        env={},
    )
    with frozen_wall_clock() as wall:
        bot: Any = create_bot(config, simulated=True)
        async with simcord.run(bot) as env:
            try:
                return await _run(env, VirtualTime(env, wall), members, study, brk, terms)
            finally:
                await studyon_teardown(bot)


REACTING_EVERY = 8  # one member in this many dismisses by ⏰ instead of the button
INTERACTION = ("/interactions/", "/webhooks/")


def is_interaction(entry: Any) -> bool:
    return any(entry.path.startswith(prefix) for prefix in INTERACTION)


def alarm_message(channel: Any, k: int) -> Any:
    for message in reversed(channel.history()):
        for row in message.components:
            for item in getattr(row, "children", ()):
                if (getattr(item, "custom_id", None) or "").startswith("studyon:dismiss:") and (
                    item.custom_id.endswith(f":{k}")
                ):
                    return message
    raise RuntimeError(f"alarm #{k} was not posted")


class Log:
    """The bot's REST calls, each with the virtual instant (s) it was seen at."""

    def __init__(self, env: simcord.Env, time: VirtualTime) -> None:
        self._env = env
        self._time = time
        self.calls: list[tuple[float, Any]] = []
        self._seen = 0

    def take(self) -> list[Any]:
        """The calls since the last take, stamped with now."""
        new = self._env.http_requests[self._seen :]
        self._seen += len(new)
        now = self._time.now_ms() / 1000
        self.calls.extend((now, e) for e in new)
        return list(new)


async def _run(
    env: simcord.Env, time: VirtualTime, members: int, study: int, brk: int, terms: int
) -> dict[str, Any]:
    bot: Any = env.bot
    await bot.tree.sync()
    guild = env.create_guild("Budget")
    general = guild.create_text_channel("general")
    people = [guild.add_member(env.create_user(f"m{i:02d}")) for i in range(members)]
    owner = people[0]
    await owner.slash(
        general,
        "room create",
        title="Budget room",
        study=study,
        terms=terms,
        capacity=members,
        **{"break": brk},
    )
    [room] = await bot.services.rooms.list_open(guild.id)
    for member in people[1:]:
        await member.slash(general, "room join", room=str(room.room.id))
    channel = next(h for h in guild.channels.values() if h.id == room.room.text_channel_id)
    await owner.slash(channel, "timer start")
    view = await bot.services.timers.status(room.room.id)
    assert view is not None
    grace_s = bot.config.timer.alarm_grace_seconds
    log = Log(env, time)
    log.take()
    log.calls.clear()  # from the start of the run on

    between: Counter[str] = Counter()
    at_boundary: Counter[str] = Counter()
    interactions: Counter[str] = Counter()
    global_per_boundary: list[int] = []
    interaction_per_boundary: list[int] = []
    by_reaction = 0
    for b in view.boundaries:
        await time.advance_to(b.at_ms - 1000)  # the phase up to its last second
        between.update(route(e) for e in log.take())
        await time.advance_to(b.at_ms)
        window = log.take()
        alarm = alarm_message(channel, b.index)
        # each member dismisses within the grace window: one a second, a few by ⏰
        for i, member in enumerate(people):
            await time.advance(1)
            # the last to dismiss reacts: no later click can show it, an edit must
            if i % REACTING_EVERY == REACTING_EVERY - 1 or i == len(people) - 1:
                await member.react(alarm, "⏰")
                by_reaction += 1
            else:
                await member.click(alarm, label="Dismiss")
            window += log.take()
        await time.advance_to(b.at_ms + grace_s * 1000 - 1000)  # the window closes
        window += log.take()
        ours = [e for e in window if not is_interaction(e)]
        theirs = [e for e in window if is_interaction(e)]
        at_boundary.update(route(e) for e in ours)
        interactions.update(route(e) for e in theirs)
        global_per_boundary.append(len(ours))
        interaction_per_boundary.append(len(theirs))
    await time.advance(bot.config.timer.alarm_grace_seconds)  # the run's end is announced
    end = Counter(route(e) for e in log.take())

    boundaries = len(global_per_boundary)
    run_s = (view.boundaries[-1].at_ms - view.boundaries[0].at_ms) // 1000 + study * 60
    ours_total = sum(global_per_boundary) + sum(between.values())
    figures: dict[str, Any] = {
        "members": members,
        "boundaries": boundaries,
        "dismissals_by_reaction": by_reaction,
        "calls_between_boundaries": sum(between.values()),
        "global_calls_per_boundary": round(sum(global_per_boundary) / boundaries, 2),
        "max_global_calls_at_a_boundary": max(global_per_boundary),
        "interaction_calls_per_boundary": round(sum(interaction_per_boundary) / boundaries, 2),
        "max_channel_posts_per_5s": max_posts_per_5s(log.calls, channel.id),
        "calls_at_end_of_run": sum(end.values()),
        "run_minutes": run_s // 60,
    }
    for label, every_s in (("5s", 5), ("20s", 20), ("5min", 300)):
        theirs_total = run_s // every_s + boundaries  # countdown edits plus the same alarms
        figures[f"ratio_vs_countdown_{label}"] = round(theirs_total / max(ours_total, 1), 1)
    figures["routes_at_boundaries"] = dict(sorted(at_boundary.items()))
    figures["routes_between_boundaries"] = dict(sorted(between.items()))
    figures["routes_of_interactions"] = dict(sorted(interactions.items()))
    figures["routes_at_end"] = dict(sorted(end.items()))
    return figures


def max_posts_per_5s(calls: list[tuple[float, Any]], channel_id: int) -> int:
    """The most messages posted in the channel within any 5 s."""
    posts = [
        at for at, e in calls if e.method == "POST" and e.path == f"/channels/{channel_id}/messages"
    ]
    best = 0
    for i, start in enumerate(posts):
        best = max(best, sum(1 for at in posts[i:] if at < start + 5))
    return best


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--members", type=int, default=25)
    p.add_argument("--study", type=int, default=50)
    p.add_argument("--break", dest="brk", type=int, default=10)
    p.add_argument("--terms", type=int, default=4)
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="studyon-budget-") as tmp:
        figures = asyncio.run(measure(a.members, a.study, a.brk, a.terms, Path(tmp)))
    detail = {k: figures.pop(k) for k in list(figures) if k.startswith("routes_")}
    print(f"api_budget: one room, {a.terms} × ({a.study} + {a.brk}) min, {a.members} members")
    for k, v in detail.items():
        print(f"  {k}:")
        for r, n in v.items():
            print(f"    {n:4d}  {r}")
    report("  totals", figures)
    return figures


if __name__ == "__main__":
    main()

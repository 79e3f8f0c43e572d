"""A full room clicking Dismiss in the same instant, truly concurrently.

SimCord runs one click at a time, so here the clicks reach the real bot's alarm board
(``AlarmBoards``) side by side, each answered through a stand-in for Discord's interaction
response that takes a random while to land. Each dismissal is recorded through the real
timer service first, as the button does; what is checked is what lands on the alarm.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

import discord

from cogs.alarms.board import AlarmRef, alarm_boards
from tests.support.studio import Studio
from tests.support.timer import MINUTE, open_room


@dataclass
class Landed:
    """What Discord shows of the alarm: the renderings in the order they landed."""

    boards: list[list[str]] = field(default_factory=list)
    deferred: int = 0


class InteractionResponse:
    """Discord's side of one click's response: it takes a while to land, then shows."""

    def __init__(self, landed: Landed, rng: random.Random) -> None:
        self._landed = landed
        self._rng = rng
        self._done = False

    def is_done(self) -> bool:
        return self._done

    async def edit_message(self, *, embed: discord.Embed, **_: Any) -> None:
        self._done = True
        await asyncio.sleep(self._rng.uniform(0, 0.01))
        self._landed.boards.append((embed.description or "").split("\n"))

    async def defer(self) -> None:
        self._done = True
        self._landed.deferred += 1


@dataclass
class Click:
    response: InteractionResponse


async def test_twenty_five_clicks_at_once_never_show_fewer_than_recorded(studio: Studio) -> None:
    names = ["alice", *(f"m{i:02d}" for i in range(1, 25))]
    town = studio.guild(*names)
    owner, *others = town.members
    room = await open_room(studio, town, owner, *others)
    await owner.slash(room.channel, "timer start")
    await studio.advance(50 * MINUTE)
    alarm = room.alarm(1)
    bot = studio.bot
    view = await bot.services.timers.status_of(room.key)
    assert view is not None
    ref = AlarmRef(room.key, view.run_id, 1, room.channel.id, alarm.id)
    landed = Landed()
    rng = random.Random(7)

    async def click(member_id: int) -> None:
        await bot.services.timers.dismiss(room.key, view.run_id, 1, member_id)
        interaction: Any = Click(InteractionResponse(landed, rng))
        await alarm_boards(bot).answer_click(interaction, ref)

    # every member's name is known from their /room join
    await asyncio.gather(*(click(m.id) for m in town.members))

    # every click was answered, by an update or (already shown) by acknowledging it
    assert len(landed.boards) + landed.deferred == 25
    # each rendering that landed shows more than the one before: never a stale one after
    counts = [len(b) for b in landed.boards]
    assert counts == sorted(set(counts))
    # and the last one shows everyone: what is recorded
    assert sorted(landed.boards[-1]) == sorted(f"**{n}** dismissed alarm #1" for n in names)
    # renderings fold: far fewer than one per click
    assert len(landed.boards) < 25

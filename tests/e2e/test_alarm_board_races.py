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
from typing import Any, cast

import discord

from bot.scheduler import call_id
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
    # renderings fold: a few, not one per click
    assert len(landed.boards) <= 3


class SlowResponse(InteractionResponse):
    """A response that takes long to land (Discord struggling), holding the alarm."""

    sending = asyncio.Event()

    async def edit_message(self, *, embed: discord.Embed, **_: Any) -> None:
        self._done = True
        self.sending.set()
        await asyncio.sleep(0.2)
        self._landed.boards.append((embed.description or "").split("\n"))


async def test_clicks_behind_a_slow_update_are_acknowledged_in_time_and_shown_later(
    studio: Studio, monkeypatch: Any
) -> None:
    from cogs.alarms import board

    monkeypatch.setattr(board, "CLICK_WAIT_S", 0.05)  # Discord's deadline, scaled down
    town = studio.guild("alice", "bob", "carol")
    alice, bob, carol = town.members
    room = await open_room(studio, town, alice, bob, carol)
    await alice.slash(room.channel, "timer start")
    await studio.advance(50 * MINUTE)
    bot = studio.bot
    view = await bot.services.timers.status_of(room.key)
    assert view is not None
    ref = AlarmRef(room.key, view.run_id, 1, room.channel.id, room.alarm(1).id)
    landed = Landed()
    rng = random.Random(1)
    boards = alarm_boards(bot)

    async def click(member_id: int, response: InteractionResponse) -> None:
        await bot.services.timers.dismiss(room.key, view.run_id, 1, member_id)
        await boards.answer_click(cast(Any, Click(response)), ref)

    slow = SlowResponse(landed, rng)
    slow.sending = asyncio.Event()
    first = asyncio.ensure_future(click(alice.id, slow))
    await slow.sending.wait()  # alice's update is on its way, holding the alarm
    await asyncio.gather(
        click(bob.id, InteractionResponse(landed, rng)),
        click(carol.id, InteractionResponse(landed, rng)),
    )
    await first
    # alice's update landed; bob and carol were acknowledged without waiting for it…
    assert len(landed.boards) == 1 and landed.deferred == 2
    # …and an edit of the alarm by REST is owed, to show everyone (the folded edit itself is
    # shown to members in test_alarms_dismiss and test_owed_across_restarts)
    assert bot.services.scheduler.apscheduler.get_job(call_id(f"alarm-board:{ref.message_id}"))

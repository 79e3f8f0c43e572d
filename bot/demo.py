"""``studyon demo``: the real bot in a simulated Discord, with a scripted study room.

No token and no network: SimCord plays Discord, in virtual time. Alice creates a room with a
short pattern (2 × (2 + 1) minutes), Bob and Carol join, Alice starts the timer; Alice and
Carol dismiss every alarm, Bob misses one; at the end Alice and Carol are Today's Study
Kings and get their points back, and Alice rates the day. Then the room's channel is printed
the way a member would read it. It takes a few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import discord
import simcord
from simcord.actors import MemberActor
from simcord.builders import ChannelHandle

from bot.app import create_bot, studyon_teardown
from bot.config import parse_config
from bot.simulation import VirtualTime, frozen_wall_clock

STUDY_MIN, BREAK_MIN, TERMS = 2, 1, 2


class DemoError(RuntimeError):
    """A scripted step did not get the answer it expected."""


def _button(message: discord.Message, prefix: str) -> str | None:
    for row in message.components:
        for item in getattr(row, "children", ()):
            custom_id = getattr(item, "custom_id", None) or ""
            if custom_id.startswith(prefix):
                return str(custom_id)
    return None


_MENTION = re.compile(r"<@!?([0-9]+)>")
_STAMP = re.compile(r"<t:([0-9]+):R>")


def _readable(text: str, names: dict[int, str], at: float) -> str:
    """What a Discord client shows for mentions and live timestamps."""

    def stamp(m: re.Match[str]) -> str:
        delta = round((int(m.group(1)) - at) / 60)
        return f"in {delta} min" if delta >= 0 else f"{-delta} min ago"

    text = _MENTION.sub(lambda m: "@" + names.get(int(m.group(1)), m.group(1)), text)
    return _STAMP.sub(stamp, text)


def _render_message(message: discord.Message, start: float, names: dict[int, str]) -> list[str]:
    at = message.created_at.timestamp()
    minutes = (at - start) / 60
    who = message.author.display_name
    lines = []
    if message.type is discord.MessageType.pins_add:
        return [f"[+{minutes:5.1f} min] {who} pinned a message"]
    head = f"[+{minutes:5.1f} min] {who}: "
    body = _readable(message.content, names, at).splitlines() or [""]
    lines.append(head + body[0])
    lines.extend(" " * len(head) + rest for rest in body[1:])
    for embed in message.embeds:
        if embed.title:
            lines.append(f"    ┃ **{embed.title}**")
        if embed.description:
            lines.extend(f"    ┃ {line}" for line in embed.description.splitlines())
        for f in embed.fields:
            lines.append(f"    ┃ {f.name}: {_readable(f.value or '', names, at)}")
    buttons = [
        getattr(item, "label", None) or str(getattr(item, "emoji", "") or "")
        for row in message.components
        for item in getattr(row, "children", ())
    ]
    if buttons:
        lines.append("    " + " ".join(f"[{b}]" for b in buttons))
    if message.reactions:
        lines.append("    " + " ".join(f"{r.emoji} {r.count}" for r in message.reactions))
    return lines


async def run_scenario(workdir: Path, out: TextIO) -> list[str]:
    """Play the scripted room and return the room channel as printed lines."""
    config = parse_config(
        {
            "database": {"url": f"sqlite+aiosqlite:///{workdir / 'demo.db'}"},
            "session": {"embedded_path": str(workdir / "demo-session.db")},
            "timer": {"extend_vote_seconds": 60},
        },
        env={},
    )
    with frozen_wall_clock() as wall:
        bot = create_bot(config, simulated=True)
        async with simcord.run(bot) as env:
            try:
                return await _play(env, VirtualTime(env, wall), out)
            finally:
                await studyon_teardown(bot)


async def _play(env: simcord.Env, time: VirtualTime, out: TextIO) -> list[str]:
    bot: Any = env.bot
    await bot.tree.sync()
    start = time.now_ms() / 1000
    guild = env.create_guild("Study Café")
    general = guild.create_text_channel("general")
    alice, bob, carol = (guild.add_member(env.create_user(n)) for n in ("alice", "bob", "carol"))

    print("alice: /room create title:Morning focus study:2 break:1 terms:2", file=out)
    await alice.slash(
        general,
        "room create",
        title="Morning focus",
        study=STUDY_MIN,
        **{"break": BREAK_MIN},
        terms=TERMS,
        tags="exam, math",
        notice="Cameras optional. Be kind.",
    )
    rooms = await bot.services.rooms.list_open(guild.id)
    if len(rooms) != 1:
        raise DemoError("the room was not created")
    room_id = rooms[0].room.id
    channel = _channel(guild.channels.values(), rooms[0].room.text_channel_id)
    for member in (bob, carol):
        print(f"{member.name}: /room join room:Morning focus", file=out)
        await member.slash(general, "room join", room=str(room_id))
    if len((await bot.services.rooms.get(room_id)).members) != 3:
        raise DemoError("bob and carol could not join")
    print("alice: /timer start", file=out)
    await alice.slash(channel, "timer start")
    if await bot.services.timers.status(room_id) is None:
        raise DemoError("the timer did not start")

    view = await bot.services.timers.status(room_id)
    assert view is not None
    for boundary in view.boundaries:
        k = boundary.index
        await time.advance_to(boundary.at_ms)
        alarm = _alarm(channel, k)
        await time.advance(5)
        await _dismiss(alice, alarm)
        await time.advance(20)
        if k != 2:  # Bob misses alarm #2
            await _dismiss(bob, alarm)
        await time.advance(10)
        await _react(carol, alarm)
        print(f"alarm #{k}: alice and carol dismissed" + ("" if k == 2 else ", bob too"), file=out)
    await time.advance_to(view.boundaries[-1].at_ms + 60_000)  # grace over: kings announced
    history = channel.history()
    end = next((m for m in reversed(history) if _button(m, "studyon:rate:")), None)
    rate = _button(end, "studyon:rate:") if end is not None else None
    if end is None or rate is None:
        raise DemoError("the end of the run was not announced")
    await alice.click(end, custom_id=rate.rsplit(":", 1)[0] + ":5")
    print("alice rated the day 5", file=out)
    names = {m.id: m.name for m in (alice, bob, carol)}
    return [line for m in channel.history() for line in _render_message(m, start, names)]


def _channel(channels: Any, channel_id: int | None) -> ChannelHandle:
    for handle in channels:
        if handle.id == channel_id:
            return handle  # type: ignore[no-any-return]
    raise DemoError("the room's channel was not created")


def _alarm(channel: ChannelHandle, k: int) -> discord.Message:
    for message in reversed(channel.history()):
        custom_id = _button(message, "studyon:dismiss:")
        if custom_id is not None and custom_id.endswith(f":{k}"):
            return message
    raise DemoError(f"alarm #{k} was not posted")


async def _dismiss(member: MemberActor, alarm: discord.Message) -> None:
    custom_id = _button(alarm, "studyon:dismiss:")
    assert custom_id is not None
    await member.click(alarm, custom_id=custom_id)


async def _react(member: MemberActor, alarm: discord.Message) -> None:
    await member.react(alarm, "⏰")


def run_demo(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    logging.getLogger("discord").setLevel(logging.WARNING)
    print("StudyOn offline demo: the real bot in a simulated Discord (no token, no network)\n")
    with tempfile.TemporaryDirectory(prefix="studyon-demo-") as tmp:
        try:
            lines = asyncio.run(run_scenario(Path(tmp), out))
        except DemoError as exc:
            print(f"demo failed: {exc}", file=sys.stderr)
            return 1
    print("\n#morning-focus, as a member sees it:\n", file=out)
    for line in lines:
        print(line, file=out)
    print(
        "\nTo run StudyOn for real, set a bot token (see README) and run it again.",
        file=out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run_demo())

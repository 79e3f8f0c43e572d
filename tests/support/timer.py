"""Shared arrangements for the timer and alarm end-to-end tests: rooms made through the real
``/room create`` and ``/room join``, and ways to read the room channel as a member sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import discord
from simcord.actors import MemberActor
from simcord.builders import ChannelHandle
from simcord.results import InteractionResult, ResponseMessage
from simcord.types import HttpLogEntry

from storage.session.base import RoomKey
from tests.support.studio import Studio, Town

MINUTE = 60
ALARM = "⏰"


@dataclass
class StudyRoom:
    studio: Studio
    town: Town
    room_id: int
    channel_id: int
    owner: MemberActor
    members: list[MemberActor] = field(default_factory=list)

    @property
    def key(self) -> RoomKey:
        return RoomKey(self.town.guild.id, self.room_id)

    @property
    def channel(self) -> ChannelHandle:
        [channel] = [c for c in self.town.guild.channels.values() if c.id == self.channel_id]
        return channel

    def exists(self) -> bool:
        return any(c.id == self.channel_id for c in self.town.guild.channels.values())

    def bot_messages(self) -> list[discord.Message]:
        bot = self.studio.bot.user
        assert bot is not None
        return [
            m
            for m in self.channel.history()
            if m.author.id == bot.id and m.type is not discord.MessageType.pins_add
        ]

    def lines(self) -> list[str]:
        """What the bot said in the room channel, in order (the card has no text)."""
        return [m.content for m in self.bot_messages() if m.content]

    def alarms(self) -> list[discord.Message]:
        return [m for m in self.bot_messages() if m.content.startswith(ALARM)]

    def alarm(self, k: int) -> discord.Message:
        [found] = [m for m in self.alarms() if m.content.startswith(f"{ALARM} **Alarm #{k}**")]
        return found

    def dismissed(self, k: int) -> list[str]:
        """Who alarm #k shows as having dismissed it (its board), in order."""
        embeds = self.alarm(k).embeds
        if not embeds or not embeds[0].description:
            return []
        return embeds[0].description.split("\n")

    def end_messages(self) -> list[discord.Message]:
        return [m for m in self.bot_messages() if m.content.startswith("🏁")]

    def end_message(self) -> discord.Message:
        [found] = self.end_messages()
        return found

    def card_message(self) -> discord.Message:
        [card] = self.channel.pinned_messages()
        return card

    def card(self) -> discord.Embed:
        return self.card_message().embeds[0]

    def timer_field(self, name: str = "Timer") -> str:
        return next(f.value or "" for f in self.card().fields if f.name == name)

    def schedule(self, timer: str = "Timer") -> list[str]:
        """The card's schedule, one line per phase: the fields after the timer's (named
        ``timer``), however many the schedule takes."""
        fields = self.card().fields
        after = next(i for i, f in enumerate(fields) if f.name == timer) + 1
        return [line for f in fields[after:] for line in (f.value or "").splitlines()]

    def card_edits(self, entries: list[HttpLogEntry]) -> list[HttpLogEntry]:
        """The requests among ``entries`` that edited the pinned card."""
        path = f"/channels/{self.channel_id}/messages/{self.card_message().id}"
        return [e for e in entries if e.method == "PATCH" and e.path == path]


async def open_room(
    studio: Studio,
    town: Town,
    owner: MemberActor,
    *joiners: MemberActor,
    study: int | None = 50,
    brk: int | None = 10,
    terms: int | None = 4,
    title: str = "Morning grind",
    **options: int | str,
) -> StudyRoom:
    """``owner`` runs ``/room create`` in #general (with any further ``options``, such as
    ``long_break`` and ``long_every``, or a ``mode``; a pattern option given as None is left
    out), then each joiner ``/room join``."""
    pattern = {"study": study, "break": brk, "terms": terms}
    created = await owner.slash(
        town.general,
        "room create",
        title=title,
        **{name: value for name, value in pattern.items() if value is not None},
        **options,
    )
    assert created.acknowledged
    services = studio.bot.services
    [room] = [r for r in await services.rooms.rooms_of(town.guild.id, owner.id) if r.title == title]
    assert room.text_channel_id is not None
    for member in joiners:
        joined = await member.slash(town.general, "room join", room=str(room.id))
        assert joined.acknowledged
    return StudyRoom(studio, town, room.id, room.text_channel_id, owner, [owner, *joiners])


FOLD_S = 7  # ⏰ reactions are shown on their alarm within this long: the 6 s fold, and a second


def confirmation(clicked: InteractionResult) -> ResponseMessage:
    """The private confirmation of a recorded dismissal: a followup of the click, whose own
    response updated the alarm."""
    [followup] = clicked.followups
    assert followup.ephemeral
    return followup


def clock(ms: int) -> str:
    """A Discord timestamp of ``ms`` as a clock time (each reader's zone)."""
    return f"<t:{ms // 1000}:t>"


def relative(ms: int) -> str:
    """A Discord timestamp of ``ms`` relative to now (every client counts it live)."""
    return f"<t:{ms // 1000}:R>"


def schedule_of(t0: int, names: list[str], ends: list[int]) -> list[str]:
    """The card's schedule lines for a run started at ``t0`` with no control since: each
    phase named in ``names`` ending ``ends`` minutes after the start."""
    lines, start = [], t0
    for name, minute in zip(names, ends, strict=True):
        end = t0 + minute * 60_000
        lines.append(f"{name} · {clock(start)} → {clock(end)} ({relative(end)})")
        start = end
    return lines


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def requests_since(studio: Studio, mark: int) -> list[HttpLogEntry]:
    return list(studio.env.http_requests[mark:])


def bot_calls(entries: list[HttpLogEntry]) -> list[str]:
    """The REST calls the bot made by itself (interaction answers excluded)."""
    return [
        f"{e.method} {e.path}"
        for e in entries
        if not e.path.startswith(("/interactions/", "/webhooks/"))
    ]


async def balance(member: MemberActor, town: Town) -> str:
    """The balance line of ``/points``, as the member sees it."""
    shown = await member.slash(town.general, "points")
    assert shown.response is not None
    return shown.response.embeds[0].description or ""


async def finished(studio: Studio, *names: str, dismiss: bool = True) -> StudyRoom:
    """A room of ``names`` whose 1-term run of 5 minutes just ended; everyone dismissed the
    one alarm on time when ``dismiss``."""
    town = studio.guild(*names)
    owner, *others = town.members
    room = await open_room(studio, town, owner, *others, study=5, terms=1)
    await owner.slash(room.channel, "timer start")
    await studio.advance(5 * MINUTE)
    if dismiss:
        for member in room.members:
            await member.click(room.alarm(1), label="Dismiss")
    await studio.advance(MINUTE)
    assert len(room.end_messages()) == 1
    return room

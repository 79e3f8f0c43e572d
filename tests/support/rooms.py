"""What the room tests share: making rooms as a member, and reading what members can see.

(No tests here; the name only keeps the room suite's files together.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord
from simcord.actors import MemberActor
from simcord.builders import ChannelHandle
from simcord.enums import ChannelType
from simcord.results import InteractionResult
from sqlalchemy import func, select

from storage.models import LedgerEntry, Room
from tests.support.studio import Studio, Town

CATEGORY = "Study Rooms"
VIEW = discord.Permissions(view_channel=True).value
CONNECT = discord.Permissions(connect=True).value
SEND = discord.Permissions(send_messages=True).value
MANAGE_CHANNELS = discord.Permissions(manage_channels=True).value
MANAGE_ROLES = discord.Permissions(manage_roles=True).value


@dataclass
class Made:
    """A room a member created, with its two channels."""

    result: InteractionResult
    room_id: int
    text: ChannelHandle
    voice: ChannelHandle


def answered(result: InteractionResult) -> str:
    """The interaction was answered, privately; the answer's text."""
    assert result.acknowledged, "the application did not respond"
    assert result.ephemeral
    message = result.followups[-1] if result.followups else result.response
    assert message is not None
    return message.content


async def create(
    member: MemberActor,
    channel: ChannelHandle,
    title: str = "Math grind",
    study: int = 50,
    brk: int = 10,
    terms: int = 4,
    **options: Any,
) -> InteractionResult:
    return await member.slash(
        channel, "room create", title=title, study=study, terms=terms, **{"break": brk}, **options
    )


async def make_room(
    studio: Studio, town: Town, member: MemberActor, title: str = "Math grind", **options: Any
) -> Made:
    before = {c.id for c in town.guild.channels.values()}
    result = await create(member, town.general, title, **options)
    text = answered(result)
    assert "is ready" in text, text
    new = [c for c in town.guild.channels.values() if c.id not in before]
    kinds = {studio.env.backend.channels[c.id].type: c for c in new}
    room = await studio.bot.services.rooms.by_channel(kinds[ChannelType.TEXT].id)
    assert room is not None
    return Made(result, room.id, kinds[ChannelType.TEXT], kinds[ChannelType.VOICE])


def channel_ids(town: Town) -> set[int]:
    return {c.id for c in town.guild.channels.values()}


def exists(studio: Studio, channel_id: int) -> bool:
    return channel_id in studio.env.backend.channels


def perms(studio: Studio, town: Town, user_id: int, channel_id: int) -> int:
    return studio.env.backend.compute_permissions(town.guild.id, user_id, channel_id)


def can_see(studio: Studio, town: Town, member: MemberActor, channel: ChannelHandle) -> bool:
    return bool(perms(studio, town, member.id, channel.id) & VIEW)


def can_connect(studio: Studio, town: Town, member: MemberActor, channel: ChannelHandle) -> bool:
    p = perms(studio, town, member.id, channel.id)
    return bool(p & VIEW and p & CONNECT)


async def balance(studio: Studio, town: Town, member: MemberActor) -> int:
    return (await studio.bot.services.points.balance(town.guild.id, member.id)).balance


async def counts(studio: Studio) -> tuple[int, int]:
    """How many room rows and payments exist (a refusal must change neither; the welcome
    bonus a member gets on first use is not a payment)."""
    async with studio.bot.services.uow() as uow:
        rooms = (await uow.session.execute(select(func.count()).select_from(Room))).scalar_one()
        payments = select(func.count()).select_from(LedgerEntry).where(LedgerEntry.amount < 0)
        entries = (await uow.session.execute(payments)).scalar_one()
    return int(rooms), int(entries)


async def open_rooms(studio: Studio, town: Town) -> list[int]:
    """The ids of the rooms open in ``town`` (a room still being made, or undone, is not)."""
    return [v.room.id for v in await studio.bot.services.rooms.list_open(town.guild.id)]


def board(text: ChannelHandle) -> list[discord.Message]:
    """The room channel's board lines, in order (not the card, not system messages)."""
    return [
        m
        for m in text.history()
        if m.type is discord.MessageType.default and not m.embeds and not m.flags.ephemeral
    ]


def bot_role(studio: Studio, town: Town) -> Any:
    guild = studio.env.backend.guilds[town.guild.id]
    return next(r for r in guild.roles.values() if r.managed)


def take_from_bot(studio: Studio, town: Town, permission: int) -> None:
    """Remove ``permission`` from the bot's role, as a server admin could."""
    role = bot_role(studio, town)
    studio.env.backend.edit_role(
        town.guild.id, role.id, {"permissions": role.permissions & ~permission}
    )


def pings_nobody(studio: Studio, message: discord.Message) -> None:
    """The message notifies no user, role or @everyone. (SimCord lists every mention the
    text contains in ``mentions``/``role_mentions``; who is actually notified is what it
    stores as pings, after applying ``allowed_mentions``.)"""
    stored = studio.env.backend.messages[message.channel.id][message.id]
    assert message.mention_everyone is False
    assert stored.mention_everyone is False
    assert stored.ping_user_ids == []
    assert stored.ping_role_ids == []

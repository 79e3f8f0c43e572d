"""Which room a command means: the ``room`` option (a room id, offered by autocomplete), else
the room whose channel the command was used in, else the member's only room."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from bot.domain.errors import NotFound, StudyOnError
from bot.domain.rooms import RoomView
from bot.i18n import ls, t
from cogs._common import member_locale

if TYPE_CHECKING:
    from bot.app import StudyOnBot

T = TypeVar("T")

CHOICES_MAX = 25
ROOM_ID_MAX = 2**63 - 1

ROOM_DESC = ls("cmd.room.opt.room.desc")
MY_ROOM_DESC = ls("cmd.room.opt.my_room.desc")


class PickRoom(StudyOnError):
    code = "error.room.pick"


class NoRoom(StudyOnError):
    code = "error.room.none"


def room_option(choices: Any, description: app_commands.locale_str) -> Callable[[T], T]:
    """The ``room`` option: its name, description and autocomplete."""

    def decorate(func: T) -> T:
        func = app_commands.autocomplete(room=choices)(func)
        func = app_commands.describe(room=description)(func)
        return app_commands.rename(room=ls("cmd.room.opt.room"))(func)

    return decorate


def parse_room_id(value: str | None) -> int:
    """A ``room`` option's value (a room id as text); anything else is an unknown room."""
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit():
        raise NotFound("room")
    room_id = int(text)
    if not 0 < room_id <= ROOM_ID_MAX:
        raise NotFound("room")
    return room_id


async def named_room(
    bot: StudyOnBot, interaction: discord.Interaction[Any], value: str | None
) -> RoomView:
    """The room a ``room`` option names, in this guild."""
    view = await bot.services.rooms.get(parse_room_id(value))
    if view.room.guild_id != interaction.guild_id:
        raise NotFound("room")
    return view


async def my_room(
    bot: StudyOnBot, interaction: discord.Interaction[Any], value: str | None
) -> RoomView:
    """The room named, else the room whose channel this is, else the member's only room."""
    if value:
        return await named_room(bot, interaction, value)
    rooms = bot.services.rooms
    if interaction.channel_id is not None:
        here = await rooms.by_channel(interaction.channel_id)
        if here is not None and here.is_open:
            return await rooms.get(here.id)
    assert interaction.guild_id is not None
    mine = await rooms.rooms_of(interaction.guild_id, interaction.user.id)
    if not mine:
        raise NoRoom()
    if len(mine) > 1:
        raise PickRoom()
    return await rooms.get(mine[0].id)


async def room_choices(
    bot: StudyOnBot, interaction: discord.Interaction[Any], current: str, *, mine: bool
) -> list[app_commands.Choice[str]]:
    """Autocomplete: the open rooms of the guild (or the member's own) matching what is typed."""
    if interaction.guild_id is None:
        return []
    rooms = bot.services.rooms
    locale = await member_locale(interaction)
    query = current.strip()[:100]
    views: list[RoomView]
    if mine:
        wanted = query.casefold()
        views = [
            await rooms.get(r.id)
            for r in await rooms.rooms_of(interaction.guild_id, interaction.user.id)
            if not wanted or wanted in r.title.casefold()
        ][:CHOICES_MAX]
    else:
        views = await rooms.list_open(interaction.guild_id, query=query or None, limit=CHOICES_MAX)
    return [
        app_commands.Choice(
            name=t(
                "rooms.choice",
                locale,
                title=v.room.title,
                members=len(v.members),
                capacity=v.room.capacity,
            ),
            value=str(v.room.id),
        )
        for v in views
    ]

"""The Discord side of making a room and letting a member in: the ``RoomChannels`` port of
the room service, for one guild and one member's request.

Discord's refusals become refusals the member can act on: a missing permission is named (the
step that needed it), a channel that is gone is said to be gone; anything else is raised as
it came and the service undoes what was done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.errors import MissingPermission, NoChannels
from bot.domain.rooms import RoomView
from bot.services.ports import PostedCard
from cogs import _channels
from cogs._card import digest, render_card
from cogs._common import NO_MENTIONS
from cogs.timer import card_view

if TYPE_CHECKING:
    from bot.app import StudyOnBot

log = logging.getLogger(__name__)


class CategoryLocks:
    """One lock per guild, held while its study-room category is found or made, so two
    creates at once make one category, not two (one set per bot)."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}

    def __call__(self, guild_id: int) -> asyncio.Lock:
        return self._locks.setdefault(guild_id, asyncio.Lock())


@contextlib.contextmanager
def _needs(permission: str) -> Iterator[None]:
    """Discord's "Missing Permissions" for this step, as the permission the bot lacks."""
    try:
        yield
    except discord.Forbidden as error:
        raise MissingPermission(permission) from error


def check_bot_permissions(interaction: discord.Interaction[Any], needed: Sequence[str]) -> None:
    """Refuse, naming it, when the bot lacks a guild permission ``needed``."""
    me = interaction.guild.me if interaction.guild is not None else None
    # the guild-wide permissions of the bot's roles; without the bot's member cached,
    # what Discord says the bot holds where the command was used
    held = me.guild_permissions if me is not None else interaction.app_permissions
    missing = _channels.missing_guild_permissions(held, needed)
    if missing:
        raise MissingPermission(missing[0])


class DiscordRoomChannels:
    """Makes a room's channels and card in ``guild`` for ``owner``; opens them to members."""

    def __init__(
        self,
        bot: StudyOnBot,
        locks: CategoryLocks,
        guild: discord.Guild,
        owner: discord.abc.Snowflake,
        request_id: int,
    ) -> None:
        self._bot = bot
        self._locks = locks
        self._guild = guild
        self._owner = owner
        self._request_id = request_id  # names a channel whose title leaves no name
        self._category: discord.CategoryChannel | None = None

    async def _category_of_rooms(self) -> discord.CategoryChannel:
        if self._category is None:
            async with self._locks(self._guild.id):
                self._category = await _channels.ensure_category(
                    self._guild, self._bot.guild_settings(self._guild.id).category_name
                )
        return self._category

    async def create_text(self, title: str) -> int:
        with _needs("manage_channels"):
            category = await self._category_of_rooms()
            channel = await _channels.create_room_text(
                self._guild, category, title, self._owner, self._request_id
            )
        return channel.id

    async def create_voice(self, title: str) -> int:
        with _needs("manage_channels"):
            category = await self._category_of_rooms()
            channel = await _channels.create_room_voice(
                self._guild, category, title, self._owner, self._request_id
            )
        return channel.id

    async def post_card(self, text_channel_id: int, room: RoomView) -> PostedCard:
        locale = self._bot.guild_locale(self._guild.id)
        embed = render_card(room, None, locale)
        channel = self._bot.get_partial_messageable(text_channel_id)
        buttons = card_view(room.room, locale)
        with _needs("send_messages"):
            if buttons is None:
                card = await channel.send(embed=embed, allowed_mentions=NO_MENTIONS)
            else:
                card = await channel.send(embed=embed, allowed_mentions=NO_MENTIONS, view=buttons)
        try:
            await card.pin(reason="StudyOn: room card")
        except discord.HTTPException:
            # an unpinned card still works; the room is not undone for it
            log.warning("could not pin the card in channel %s", text_channel_id, exc_info=True)
        return PostedCard(card.id, digest(embed))

    async def grant_access(self, channel_ids: Sequence[int], user_id: int) -> None:
        try:
            await _channels.grant_access(self._bot.http, channel_ids, user_id)
        except discord.Forbidden as error:
            raise MissingPermission("manage_roles") from error
        except discord.NotFound as error:
            raise NoChannels() from error


class RoomChannelFinder:
    """The ``ChannelFinder`` of the room service: a half-made room's channels that Discord
    made but the room never recorded, found by where they are (the guild's study-room
    category), what they are called (the names a room of that title gets) and when Discord
    made them (their ids' time). One read of the guild's channels per half-made room."""

    def __init__(self, bot: StudyOnBot) -> None:
        self._bot = bot

    async def unrecorded_channels(
        self, guild_id: int, title: str, since_ms: int, until_ms: int
    ) -> list[int]:
        bot = self._bot
        channels = await bot.http.get_all_guild_channels(guild_id)
        wanted = bot.guild_settings(guild_id).category_name.casefold()
        categories = {
            int(c["id"])
            for c in channels
            if c["type"] == discord.ChannelType.category.value
            and str(c.get("name", "")).casefold() == wanted
        }
        names = {_channels.text_channel_name(title, 0), _channels.voice_channel_name(title, 0)}
        fallback = any(n.startswith(_channels.FALLBACK_NAME + "-") for n in names)
        found = []
        for c in channels:
            parent = c.get("parent_id")
            if parent is None or int(parent) not in categories:
                continue
            if c["type"] not in (discord.ChannelType.text.value, discord.ChannelType.voice.value):
                continue
            name = str(c.get("name", ""))
            if name not in names and not (
                fallback and name.startswith(_channels.FALLBACK_NAME + "-")
            ):
                continue
            made = int(discord.utils.snowflake_time(int(c["id"])).timestamp() * 1000)
            if since_ms <= made <= until_ms:
                found.append(int(c["id"]))
        return found

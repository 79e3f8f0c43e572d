"""A room's Discord channels: the category they live in, their names and who may see them.

A room is a text channel and a voice channel under the guild's study-room category, hidden
from @everyone and opened to each member through a member permission overwrite (added on
join, removed on leave). Overwrites are changed by id through the REST API, so they work
whether or not the channel or the member is in the bot's cache.

Speaking in the voice channel comes from the @everyone overwrite of the voice channel, not
from the members' overwrites (which leave Speak neutral): a focus room mutes everyone in it
with one call, denying Speak there during study phases (``set_quiet``), and no member's own
overwrite can allow it back.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable

import discord

log = logging.getLogger(__name__)

CHANNEL_NAME_MAX = 100
FALLBACK_NAME = "study-room"

# what a room member may do in both of the room's channels
MEMBER_ACCESS = discord.PermissionOverwrite(
    view_channel=True,
    send_messages=True,
    read_message_history=True,
    add_reactions=True,
    connect=True,
)
# what everyone else may not: see the channels or join the voice
HIDDEN = discord.PermissionOverwrite(view_channel=False, connect=False)
# permissions the bot needs besides, in a focus room: Discord lets a bot allow or deny in an
# overwrite only what it holds itself, so muting a room takes Speak as well as Manage Roles
FOCUS_PERMISSIONS = ("manage_roles", "speak")
# what the bot keeps for itself whatever @everyone is denied (only the ones its role holds:
# Discord refuses an overwrite granting what the bot itself lacks). Manage Permissions is not
# set here: Discord lets only administrators put it in a channel overwrite; the bot holds it
# through its role (checked before creating), which the @everyone deny does not touch.
BOT_ACCESS = discord.PermissionOverwrite(
    view_channel=True,
    send_messages=True,
    read_message_history=True,
    embed_links=True,
    add_reactions=True,
    manage_channels=True,
    manage_messages=True,
    pin_messages=True,
    connect=True,
)
# guild permissions the bot needs to make and open rooms
REQUIRED_GUILD_PERMISSIONS = ("manage_channels", "manage_roles")

_NOT_NAME = re.compile(r"[^\w-]+")
_DASHES = re.compile(r"-{2,}")


def text_channel_name(title: str, fallback_id: int) -> str:
    """A text-channel name for ``title``: lowercase, words joined by ``-``, only letters,
    digits, ``-`` and ``_``, at most 100 characters; ``study-room-<id>`` when nothing of the
    title survives (a title of only symbols or emoji)."""
    name = _NOT_NAME.sub("-", title.lower())
    name = _DASHES.sub("-", name).strip("-_")[:CHANNEL_NAME_MAX].strip("-_")
    return name or f"{FALLBACK_NAME}-{fallback_id}"[:CHANNEL_NAME_MAX]


def voice_channel_name(title: str, fallback_id: int) -> str:
    """A voice-channel name: the title itself (voice channels keep case and spaces), one
    line, at most 100 characters."""
    name = " ".join(title.split())[:CHANNEL_NAME_MAX].strip()
    return name or f"{FALLBACK_NAME}-{fallback_id}"[:CHANNEL_NAME_MAX]


def bot_access(me: discord.Member) -> discord.PermissionOverwrite:
    """``BOT_ACCESS`` limited to what the bot's roles give it in the guild."""
    held = me.guild_permissions
    return discord.PermissionOverwrite(
        **{name: True for name, value in BOT_ACCESS if value and getattr(held, name)}
    )


def missing_guild_permissions(
    held: discord.Permissions, needed: Iterable[str] = REQUIRED_GUILD_PERMISSIONS
) -> list[str]:
    """The permissions of ``needed`` that ``held`` lacks."""
    return [name for name in needed if not getattr(held, name)]


async def ensure_category(guild: discord.Guild, name: str) -> discord.CategoryChannel:
    """The guild's study-room category, created when missing (matched by name, ignoring
    case, so an admin may have made it by hand)."""
    wanted = name.casefold()
    for category in guild.categories:
        if category.name.casefold() == wanted:
            return category
    return await guild.create_category(name, reason="StudyOn study rooms")


def voice_everyone(quiet: bool, *, speak_held: bool = True) -> discord.PermissionOverwrite:
    """The @everyone overwrite of a room's voice channel: hidden from those not in the room;
    Speak denied when ``quiet`` (a focus room's study phase), else allowed (when the bot holds
    Speak itself: Discord refuses an overwrite setting what the bot lacks)."""
    speak = False if quiet else (True if speak_held else None)
    return discord.PermissionOverwrite(**{**dict(HIDDEN), "speak": speak})


def room_overwrites(
    guild: discord.Guild, owner: discord.abc.Snowflake, *, voice: bool = False
) -> dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite]:
    """A new room's overwrites: hidden from @everyone, open to the bot and ``owner``; in the
    voice channel, speaking allowed through @everyone (see ``voice_everyone``)."""
    me = guild.me
    everyone = voice_everyone(False, speak_held=me.guild_permissions.speak) if voice else HIDDEN
    return {
        guild.default_role: everyone,
        me: bot_access(me),
        discord.Object(owner.id, type=discord.Member): MEMBER_ACCESS,
    }


async def create_room_text(
    guild: discord.Guild,
    category: discord.CategoryChannel,
    title: str,
    owner: discord.abc.Snowflake,
    fallback_id: int,
) -> discord.TextChannel:
    """The room's text channel, visible to the bot and ``owner`` only."""
    return await guild.create_text_channel(
        text_channel_name(title, fallback_id),
        category=category,
        overwrites=room_overwrites(guild, owner),
        reason="StudyOn: new study room",
    )


async def create_room_voice(
    guild: discord.Guild,
    category: discord.CategoryChannel,
    title: str,
    owner: discord.abc.Snowflake,
    fallback_id: int,
) -> discord.VoiceChannel:
    """The room's voice channel, visible to the bot and ``owner`` only."""
    return await guild.create_voice_channel(
        voice_channel_name(title, fallback_id),
        category=category,
        overwrites=room_overwrites(guild, owner, voice=True),
        reason="StudyOn: new study room",
    )


def _ids(channel_ids: Iterable[int | None]) -> list[int]:
    return [cid for cid in channel_ids if cid is not None]


async def grant_access(
    http: discord.http.HTTPClient, channel_ids: Iterable[int | None], user_id: int
) -> None:
    """Let ``user_id`` see and use the room's channels (a member overwrite on each)."""
    allow, deny = MEMBER_ACCESS.pair()
    for channel_id in _ids(channel_ids):
        await http.edit_channel_permissions(
            channel_id,
            user_id,
            str(allow.value),
            str(deny.value),
            1,  # member overwrite
            reason="StudyOn: joined the room",
        )


async def set_quiet(
    http: discord.http.HTTPClient, voice_channel_id: int, guild_id: int, quiet: bool
) -> None:
    """Mute (``quiet``) or unmute everyone in a room's voice channel: one overwrite, for
    @everyone (whose role id is the guild's). Discord applies it to members already connected;
    setting the same state again changes nothing."""
    allow, deny = voice_everyone(quiet).pair()
    await http.edit_channel_permissions(
        voice_channel_id,
        guild_id,
        str(allow.value),
        str(deny.value),
        0,  # role overwrite
        reason="StudyOn: focus, study phase" if quiet else "StudyOn: focus, speaking allowed",
    )


class ChannelCleaner:
    """Owed cleanups done on Discord, by id through the REST API: a channel or a member's
    overwrite that is already gone counts as done; any other failure is raised, so the work
    stays owed and is tried again."""

    def __init__(self, http: discord.http.HTTPClient) -> None:
        self._http = http

    async def delete_channel(self, channel_id: int) -> None:
        with contextlib.suppress(discord.NotFound):
            await self._http.delete_channel(channel_id, reason="StudyOn: room closed")

    async def remove_member_access(self, channel_id: int, user_id: int) -> None:
        with contextlib.suppress(discord.NotFound):
            await self._http.delete_channel_permissions(
                channel_id, user_id, reason="StudyOn: left the room"
            )

    async def restore_member_access(self, channel_id: int, user_id: int) -> None:
        await grant_access(self._http, (channel_id,), user_id)

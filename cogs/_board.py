"""The room board: short public lines in a room's text channel ("**alice** joined").

Lines are in the guild's language and sent with mentions disabled; names are the member's
own (markdown-escaped), so nothing a member typed can ping anyone or break the formatting.
``DiscordBoardPoster`` posts the lines the services owe (``bot.services.board``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from bot import pacing
from bot.i18n import t
from bot.pacing import Lane
from bot.services.ports import BoardPost
from cogs._common import NO_MENTIONS

if TYPE_CHECKING:
    from bot.app import StudyOnBot

log = logging.getLogger(__name__)

# how far back in a channel a retry looks for the post an earlier attempt made unseen
RECENT_MESSAGES = 50


async def post_line(
    bot: StudyOnBot, text_channel_id: int | None, key: str, /, **params: Any
) -> discord.Message | None:
    """Post message ``key`` on the board of the room whose text channel is given."""
    if text_channel_id is None:
        return None
    channel = bot.get_partial_messageable(text_channel_id)
    try:
        with pacing.lane(Lane.BOARD):
            return await channel.send(
                t(key, bot.channel_locale(text_channel_id), **params),
                allowed_mentions=NO_MENTIONS,
            )
    except discord.NotFound:
        log.warning("room channel %s is gone; board line %s not posted", text_channel_id, key)
        return None


def line_text(bot: StudyOnBot, line: BoardPost) -> str:
    """An owed line as shown: its words markdown-escaped, the member's last seen name when
    the line was owed without one, in the channel's language."""
    words = {k: discord.utils.escape_markdown(v) for k, v in line.params.items()}
    words.setdefault("name", bot.display_name(line.guild_id, line.user_id))
    return t(line.key, bot.channel_locale(line.channel_id), **words)


class DiscordBoardPoster:
    """``BoardPoster`` through the bot's REST client."""

    def __init__(self, bot: StudyOnBot) -> None:
        self._bot = bot

    async def post_line(self, line: BoardPost, nonce: str) -> int | None:
        text = line_text(self._bot, line)
        channel = self._bot.get_partial_messageable(line.channel_id, guild_id=line.guild_id)
        try:
            # Discord returns the first message for a nonce repeated within minutes
            # (discord.py sends ``enforce_nonce``): a retry after a post it did not see
            with pacing.lane(Lane.BOARD):
                message = await channel.send(text, allowed_mentions=NO_MENTIONS, nonce=nonce)
        except discord.NotFound:
            log.warning(
                "room channel %s is gone; board line %s not posted", line.channel_id, line.key
            )
            return None
        return message.id

    async def find_line(self, line: BoardPost, since_ms: int, taken: set[int]) -> int | None:
        me = self._bot.user
        text = line_text(self._bot, line)
        channel = self._bot.get_partial_messageable(line.channel_id, guild_id=line.guild_id)
        try:
            async for message in channel.history(limit=RECENT_MESSAGES):
                if me is None or message.author.id != me.id or message.id in taken:
                    continue
                made_ms = (message.id >> 22) + discord.utils.DISCORD_EPOCH
                if made_ms >= since_ms and message.content == text and not message.components:
                    return message.id
        except discord.NotFound:
            return None  # the channel is gone: posting says so
        return None

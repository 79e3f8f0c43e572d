"""The room board: short public lines in a room's text channel ("**alice** joined").

Lines are in the guild's language and sent with mentions disabled; names are the member's
own (markdown-escaped), so nothing a member typed can ping anyone or break the formatting.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from bot import pacing
from bot.i18n import t
from bot.pacing import Lane
from cogs._common import NO_MENTIONS

if TYPE_CHECKING:
    from bot.app import StudyOnBot

log = logging.getLogger(__name__)


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

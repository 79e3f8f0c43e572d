"""Talking to Discord from the room cogs when Discord struggles.

A post that already happened in the data (a dismissal recorded, a member joined) must not be
reported as failed because Discord answered 5xx or 429: discord.py's request loop retries
those (waiting at most ``max_ratelimit_timeout`` for a rate limit), and a final failure is
logged. Slow work is deferred before Discord's 3-second deadline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord

from bot import pacing
from bot.domain.errors import StudyOnError
from bot.pacing import Lane
from cogs._board import post_line
from cogs._card import refresh_card
from cogs._common import NO_MENTIONS, reply_error

if TYPE_CHECKING:
    from bot.app import StudyOnBot

log = logging.getLogger(__name__)

T = TypeVar("T")

# an interaction whose work takes longer than this is deferred (Discord's deadline is 3 s)
SLOW_S = 2.0


async def answer_when_slow(
    interaction: discord.Interaction[Any], work: Awaitable[T]
) -> tuple[T, bool]:
    """Run ``work``; if it is still running after ``SLOW_S``, defer the interaction (privately)
    so it is acknowledged in time. Returns the result and whether it deferred."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=SLOW_S)
    if done:
        return task.result(), False
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=True, thinking=True)
    return await task, True


async def guarded(
    interaction: discord.Interaction[Any], work: Callable[[], Awaitable[None]]
) -> None:
    """Run a button's work; a refusal or failure is answered privately, never left hanging."""
    try:
        await work()
    except Exception as error:
        await reply_error(interaction, error)


async def refresh_card_quietly(bot: StudyOnBot, room_id: int) -> None:
    """Refresh the room card; a failure to edit it is logged, not passed on (it is cosmetic
    and refreshed again at the next change)."""
    try:
        await refresh_card(bot, room_id)
    except (discord.HTTPException, StudyOnError):
        log.warning("could not refresh the card of room %s", room_id, exc_info=True)


async def board(bot: StudyOnBot, channel_id: int | None, key: str, **params: Any) -> None:
    """A board line that already happened (a dismissal was recorded). discord.py retries a
    5xx or a short 429; a final failure is logged rather than reported as if nothing had
    happened."""
    try:
        await post_line(bot, channel_id, key, **params)
    except (discord.HTTPException, discord.RateLimited):
        log.warning("board line %s not posted in channel %s", key, channel_id, exc_info=True)


async def post_text(bot: StudyOnBot, channel_id: int | None, text: str) -> None:
    """Post an already rendered public line in a room channel (mentions disabled)."""
    if channel_id is None:
        return
    try:
        with pacing.lane(Lane.BOARD):
            await bot.get_partial_messageable(channel_id).send(text, allowed_mentions=NO_MENTIONS)
    except discord.NotFound:
        log.warning("channel %s is gone; line not posted", channel_id)


def member_name(interaction: discord.Interaction[Any]) -> str:
    return discord.utils.escape_markdown(interaction.user.display_name)

"""The pinned room card: title, notice, pattern, members and the timer's state.

The countdown is a ``<t:UNIX:R>`` timestamp that every client renders live, so the card is
edited only when something on it changes (a join, a phase, a pause, the notice) — never on
a timer. A digest of the last card sent, kept in the session store, makes repeated refreshes
free: an unchanged card costs no request.
"""

from __future__ import annotations

import json
import logging
import zlib
from typing import TYPE_CHECKING

import discord

from bot.domain.rooms import RoomView
from bot.domain.timer import PhaseKind, Status
from bot.i18n import t
from bot.services.rooms import key_of
from bot.services.timer import TimerView
from cogs._common import NO_MENTIONS

if TYPE_CHECKING:
    from bot.app import StudyOnBot

log = logging.getLogger(__name__)

MEMBERS_SHOWN = 25


def _minutes(ms: int) -> int:
    return ms // 60_000


def timer_line(view: TimerView | None, locale: str) -> str:
    if view is None:
        return t("card.timer.idle", locale)
    if view.finished:
        return t("card.timer.finished", locale)
    state = view.state
    if state.status is Status.PAUSED and state.phase is not None:
        return t(
            "card.timer.paused",
            locale,
            phase=t(f"card.phase.{state.phase.kind.value}", locale),
            term=state.phase.term,
            terms=view.pattern.terms,
            minutes=max(1, -(-(state.remaining_ms or 0) // 60_000)),
        )
    if state.status is Status.RUNNING and state.phase is not None and state.phase_ends_ms:
        key = "card.timer.study" if state.phase.kind is PhaseKind.STUDY else "card.timer.break"
        return t(
            key,
            locale,
            term=state.phase.term,
            terms=view.pattern.terms,
            next_term=state.phase.term + 1,
            ends=f"<t:{state.phase_ends_ms // 1000}:R>",
        )
    return t("card.timer.finished", locale)


def render_card(room: RoomView, timer: TimerView | None, locale: str) -> discord.Embed:
    r = room.room
    embed = discord.Embed(
        title=r.title, description=r.notice or None, colour=discord.Colour.blurple()
    )
    embed.add_field(
        name=t("card.pattern", locale),
        value=t(
            "card.pattern.value",
            locale,
            study=_minutes(r.study_ms),
            brk=_minutes(r.break_ms),
            terms=r.terms,
        ),
        inline=True,
    )
    embed.add_field(name=t("card.owner", locale), value=f"<@{r.owner_id}>", inline=True)
    if r.tags:
        embed.add_field(
            name=t("card.tags", locale), value=" ".join(f"`#{tag}`" for tag in r.tags), inline=True
        )
    members = [f"<@{m.user_id}>" for m in room.members[:MEMBERS_SHOWN]]
    embed.add_field(
        name=t("card.members", locale, count=len(room.members), capacity=r.capacity),
        value=" ".join(members) or "—",
        inline=False,
    )
    embed.add_field(name=t("card.timer", locale), value=timer_line(timer, locale), inline=False)
    return embed


def digest(embed: discord.Embed) -> int:
    return zlib.crc32(json.dumps(embed.to_dict(), sort_keys=True).encode())


async def refresh_card(bot: StudyOnBot, room_id: int, *, force: bool = False) -> bool:
    """Edit the room's pinned card if what it shows changed. True when it was edited."""
    services = bot.services
    room = await services.rooms.get(room_id)
    r = room.room
    if not r.is_open or r.text_channel_id is None or r.card_message_id is None:
        return False
    key = key_of(r)
    timer = await services.timers.status_of(key)
    embed = render_card(room, timer, bot.default_locale)
    new = digest(embed)
    if not force and await services.posted.card_digest(key) == new:
        return False
    message = bot.get_partial_messageable(r.text_channel_id).get_partial_message(r.card_message_id)
    try:
        await message.edit(embed=embed, allowed_mentions=NO_MENTIONS)
    except discord.NotFound:
        log.warning("card of room %s is gone", room_id)
        return False
    await services.posted.record_card_digest(key, new)
    return True

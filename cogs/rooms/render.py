"""How rooms are shown: titles inside bold text, quoted notices, the ``/room list`` page."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import discord

from bot.domain.rooms import RoomView
from bot.domain.timer import Mode
from bot.i18n import t
from cogs._common import reply

log = logging.getLogger(__name__)


def title_text(text: str) -> str:
    """A title or name to show inside bold text: markdown escaped."""
    return discord.utils.escape_markdown(text)


def quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


async def safe_reply(interaction: discord.Interaction[Any], content: str) -> None:
    """Reply, tolerating a channel that is gone (the room it belonged to closed)."""
    try:
        await reply(interaction, content)
    except discord.HTTPException:
        log.info("could not answer in channel %s (gone?)", interaction.channel_id)


def filters_text(tag: str | None, query: str | None, locale: str) -> str:
    """The filters of a ``/room list`` as said to the member (empty: none)."""
    filters = []
    if tag:
        filters.append(t("rooms.list.filter.tag", locale, tag=tag))
    if query:
        escaped = discord.utils.escape_markdown(query)
        filters.append(t("rooms.list.filter.query", locale, query=escaped))
    return ", ".join(filters)


def room_list_page(
    views: Sequence[RoomView], filters: str, page: int, pages: int, total: int, locale: str
) -> discord.Embed:
    """One page of ``/room list``: each room's title, members, pattern and tags."""
    embed = discord.Embed(
        title=t("rooms.list.title", locale),
        description=t("rooms.list.filters", locale, filters=filters) if filters else None,
        colour=discord.Colour.blurple(),
    )
    for view in views:
        r = view.room
        line = t(
            "rooms.list.line",
            locale,
            title=title_text(r.title),
            members=len(view.members),
            capacity=r.capacity,
            study=r.study_ms // 60_000,
            brk=r.break_ms // 60_000,
            terms=r.terms,
        )
        if r.mode is Mode.FLOWTIME:
            line = t(
                "rooms.list.line_flowtime",
                locale,
                title=title_text(r.title),
                members=len(view.members),
                capacity=r.capacity,
                terms=r.terms,
                longest=r.study_ms // 60_000,
                share=r.break_share,
            )
        elif r.mode is Mode.COUNTUP:
            line = t(
                "rooms.list.line_countup",
                locale,
                title=title_text(r.title),
                members=len(view.members),
                capacity=r.capacity,
                every=r.study_ms // 60_000,
                checks=r.terms,
            )
        if r.long_break_ms is not None and r.long_every is not None:
            long = t("rooms.list.long", locale, long=r.long_break_ms // 60_000, every=r.long_every)
            line = f"{line} · {long}"
        tags = " ".join(f"`#{tag}`" for tag in r.tags)
        starts = ""
        if r.starts_at_ms is not None:
            secs = r.starts_at_ms // 1000
            starts = t("rooms.list.scheduled", locale, when=f"<t:{secs}:F>", rel=f"<t:{secs}:R>")
        embed.add_field(
            name=r.title,
            value="\n".join(part for part in (line, starts, tags) if part),
            inline=False,
        )
    embed.set_footer(text=t("rooms.list.footer", locale, page=page, pages=pages, total=total))
    return embed

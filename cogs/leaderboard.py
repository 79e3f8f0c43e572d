"""``/leaderboard [period]``: the guild's study-time and Study King rankings, ten a page.

The reply is public (the ranking is meant to spur everyone on); Previous/Next are persistent
buttons whose ``custom_id`` carries the period and its exact bounds, so paging keeps showing
the same period after midnight or a restart. Names are ``<@id>`` mentions: Discord shows them
as the member's name, and with mentions disabled they ping nobody.
"""

from __future__ import annotations

import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.periods import FOREVER_MS, Period
from bot.i18n import ls, t
from bot.render.profile import duration
from bot.services.leaderboard import MAX_PAGES, LeaderboardPage, LeaderboardService
from cogs._common import NO_MENTIONS, PersistentButton, member_locale, reply, studyon
from cogs._delivery import guarded

PERIOD_CHOICES = [
    app_commands.Choice(name=ls("cmd.leaderboard.period.day"), value=Period.DAY.value),
    app_commands.Choice(name=ls("cmd.leaderboard.period.week"), value=Period.WEEK.value),
    app_commands.Choice(name=ls("cmd.leaderboard.period.month"), value=Period.MONTH.value),
    app_commands.Choice(name=ls("cmd.leaderboard.period.all"), value=Period.ALL.value),
]


def service(interaction: discord.Interaction[Any]) -> LeaderboardService:
    return studyon(interaction).services.leaderboard


def render(page: LeaderboardPage, locale: str) -> tuple[discord.Embed, discord.ui.View | None]:
    """The embed of one page and its buttons (None when everything fits on one page)."""
    period_name = t(f"leaderboard.period.{page.period.value}", locale)
    embed = discord.Embed(
        title=t("leaderboard.title", locale, period=period_name),
        colour=discord.Colour.gold(),
    )
    if page.period is not Period.ALL:
        # Discord shows these in each reader's own time zone
        embed.description = t(
            "leaderboard.range",
            locale,
            start=f"<t:{page.start_ms // 1000}:f>",
            end=f"<t:{page.end_ms // 1000}:f>",
        )
    if page.empty and page.page == 0:
        text = t("leaderboard.empty", locale)
        embed.description = f"{embed.description}\n\n{text}" if embed.description else text
    else:
        none = t("leaderboard.none", locale)
        study = [
            t(
                "leaderboard.study.entry",
                locale,
                rank=p.rank,
                name=f"<@{p.user_id}>",
                time=duration(p.value, locale),
            )
            for p in page.study
        ]
        kings = [
            t("leaderboard.kings.entry", locale, rank=p.rank, name=f"<@{p.user_id}>", count=p.value)
            for p in page.kings
        ]
        embed.add_field(
            name=t("leaderboard.study", locale), value="\n".join(study) or none, inline=True
        )
        embed.add_field(
            name=t("leaderboard.kings", locale), value="\n".join(kings) or none, inline=True
        )
    embed.set_footer(text=t("leaderboard.page", locale, page=page.page + 1))
    if not page.has_previous and not page.has_next:
        return embed, None
    view = discord.ui.View(timeout=None)
    view.add_item(PageButton.for_page(page, False, t("leaderboard.previous", locale)))
    view.add_item(PageButton.for_page(page, True, t("leaderboard.next", locale)))
    return embed, view


class PageButton(
    PersistentButton,
    template=(
        r"studyon:lb:(?P<period>day|week|month|all):(?P<start>[0-9]+):(?P<end>[0-9]+)"
        r":(?P<page>[0-9]+):(?P<dir>[pn])"
    ),
):
    """Go to page ``target`` of the period the message shows."""

    def __init__(
        self,
        period: Period,
        start_ms: int,
        end_ms: int,
        target: int,
        forward: bool,
        label: str,
        enabled: bool = True,
    ) -> None:
        target = max(0, min(target, MAX_PAGES - 1))
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji="▶️" if forward else "◀️",
                style=discord.ButtonStyle.secondary,
                disabled=not enabled,
                custom_id=(
                    f"studyon:lb:{period.value}:{start_ms}:{end_ms}"
                    f":{target}:{'n' if forward else 'p'}"
                ),
            )
        )
        self.period = period
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.target = target

    @classmethod
    def for_page(cls, page: LeaderboardPage, forward: bool, label: str) -> PageButton:
        return cls(
            page.period,
            page.start_ms,
            page.end_ms,
            page.page + (1 if forward else -1),
            forward,
            label,
            enabled=page.has_next if forward else page.has_previous,
        )

    @classmethod
    def from_match(cls, match: re.Match[str], label: str) -> PageButton:
        return cls(
            Period(match["period"]),
            int(match["start"]),
            min(int(match["end"]), FOREVER_MS),
            int(match["page"]),
            match["dir"] == "n",
            label,
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = interaction.guild_id
        if guild_id is None:
            return

        async def turn() -> None:
            locale = await member_locale(interaction)
            page = await service(interaction).page(
                guild_id, self.period, self.start_ms, self.end_ms, self.target
            )
            embed, view = render(page, locale)
            await interaction.response.edit_message(embed=embed, view=view)

        await guarded(interaction, turn)  # a failure is answered, never left hanging


class Leaderboard(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PageButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(PageButton)

    @app_commands.command(
        name=ls("cmd.leaderboard"),
        description=ls("cmd.leaderboard.desc"),
    )
    @app_commands.rename(period=ls("cmd.leaderboard.period"))
    @app_commands.describe(period=ls("cmd.leaderboard.period.desc"))
    @app_commands.choices(period=PERIOD_CHOICES)
    @app_commands.guild_only()
    async def leaderboard(
        self, interaction: discord.Interaction, period: app_commands.Choice[str] | None = None
    ) -> None:
        assert interaction.guild_id is not None
        locale = await member_locale(interaction)
        chosen = Period(period.value) if period is not None else Period.WEEK
        lb = service(interaction)
        start, end = await lb.bounds(interaction.guild_id, interaction.user.id, chosen)
        page = await lb.page(interaction.guild_id, chosen, start, end, 0)
        embed, view = render(page, locale)
        kwargs: dict[str, Any] = {"embed": embed, "allowed_mentions": NO_MENTIONS}
        if view is not None:
            kwargs["view"] = view
        await reply(interaction, ephemeral=False, **kwargs)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Leaderboard(bot))

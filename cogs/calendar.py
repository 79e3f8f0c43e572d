"""``/calendar [month]``: the member's month as a picture; ``/rate score [date]``: a day's
satisfaction, 1–5. Both private, in the member's language."""

from __future__ import annotations

import asyncio
import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.todos import SCORE_MAX, SCORE_MIN
from bot.i18n import ls, t
from bot.render.calendar import image_locale, render_month_png
from bot.services.calendar import MonthData
from cogs._common import member_locale, reply, studyon
from cogs.todos.text import day_label


def stars(score: int) -> str:
    return "★" * score + "☆" * (SCORE_MAX - score)


def summary(month: MonthData, locale: str) -> str:
    """The line above the picture: the month, todos done and the average rating."""
    title = t(
        "calendar.image.title",
        locale,
        year=month.year,
        month=month.month,
        month_name=t(f"calendar.month.{month.month}", locale),
    )
    average = month.average
    ratings = (
        t("calendar.reply.no_ratings", locale)
        if average is None
        else t("calendar.reply.average", locale, average=f"{average:.1f}", rated=len(month.rated))
    )
    line = t(
        "calendar.reply",
        locale,
        title=title,
        todos=t("calendar.reply.todos", locale, done=month.done, total=month.total),
        ratings=ratings,
    )
    if month.is_empty:
        line += "\n" + t("calendar.reply.empty", locale)
    if image_locale(locale) != locale:
        line += "\n" + t("calendar.reply.drawn_in_english", locale)
    return line


class Calendar(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(
        name=ls("cmd.calendar"),
        description=ls("cmd.calendar.desc"),
    )
    @app_commands.guild_only()
    @app_commands.rename(month=ls("cmd.calendar.opt.month"))
    @app_commands.describe(month=ls("cmd.calendar.opt.month.desc"))
    async def calendar(self, interaction: discord.Interaction, month: str | None = None) -> None:
        assert interaction.guild_id is not None
        services = studyon(interaction).services
        data = await services.calendar.month(interaction.guild_id, interaction.user.id, month)
        locale = await member_locale(interaction)
        png = await asyncio.to_thread(render_month_png, data, locale)
        name = f"calendar-{data.year}-{data.month:02d}.png"
        await reply(
            interaction,
            summary(data, locale),
            file=discord.File(io.BytesIO(png), filename=name),
        )

    @app_commands.command(
        name=ls("cmd.rate"),
        description=ls("cmd.rate.desc"),
    )
    @app_commands.guild_only()
    @app_commands.rename(score=ls("cmd.rate.opt.score"), day=ls("cmd.rate.opt.date"))
    @app_commands.describe(
        score=ls("cmd.rate.opt.score.desc"),
        day=ls("cmd.rate.opt.date.desc"),
    )
    async def rate(
        self,
        interaction: discord.Interaction,
        score: app_commands.Range[int, SCORE_MIN, SCORE_MAX],
        day: str | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        todos = studyon(interaction).services.todos
        rating = await todos.rate(interaction.guild_id, interaction.user.id, score, day)
        today = await todos.today(interaction.guild_id, interaction.user.id)
        locale = await member_locale(interaction)
        await reply(
            interaction,
            t(
                "rate.saved",
                locale,
                day=day_label(rating.day, today, locale),
                stars=stars(rating.score),
                score=rating.score,
            ),
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Calendar(bot))

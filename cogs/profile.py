"""``/profile [member]``: a member's page as an image card, privately.

Anyone may look at anyone's page (points, todos done, study time and the weekly goal, streak,
kings and ratings are public in the guild); the reply is ephemeral either way, so asking is
not announced. The card shows the member's avatar, fetched from Discord's CDN once and kept
(``cogs._avatars``), or their initial when they have none or it could not be fetched.
"""

from __future__ import annotations

import asyncio
import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import ls, t
from bot.render.profile import card_for, duration, goal_text, render_profile_png
from cogs._avatars import AvatarCache
from cogs._common import member_locale, reply, studyon

FILENAME = "profile.png"


class Profile(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.avatars = AvatarCache()

    @app_commands.command(
        name=ls("cmd.profile"),
        description=ls("cmd.profile.desc"),
    )
    @app_commands.rename(member=ls("cmd.profile.member"))
    @app_commands.describe(member=ls("cmd.profile.member.desc"))
    @app_commands.guild_only()
    async def profile(
        self, interaction: discord.Interaction, member: discord.Member | None = None
    ) -> None:
        assert interaction.guild_id is not None
        bot = studyon(interaction)
        locale = await member_locale(interaction)
        target: discord.abc.User = member or interaction.user
        own = target.id == interaction.user.id
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await bot.services.profile.profile(interaction.guild_id, target.id, own=own)
        if member is not None:
            bot.remember_name(interaction.guild_id, member)
        name = target.display_name
        avatar = await self.avatars.image(target)
        card = card_for(data, name, locale, avatar)
        png = await asyncio.to_thread(render_profile_png, card)
        summary = t(
            "profile.reply",
            locale,
            name=discord.utils.escape_markdown(name),
            points=data.points,
            done=data.todos_done,
            total=data.todos_total,
            streak=data.streak_days,
            today=duration(data.study_today_ms, locale),
        )
        goal = data.goal
        if goal is not None and data.weekly_goal_minutes is not None:
            summary += " · " + t(
                "profile.reply.goal",
                locale,
                done=duration(data.study_week_ms, locale),
                goal=goal_text(data.weekly_goal_minutes, locale),
                percent=goal.percent,
            )
        await reply(
            interaction,
            summary,
            file=discord.File(io.BytesIO(png), filename=FILENAME, description=summary[:1024]),
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Profile(bot))

"""``/goal hours``: the member's weekly study-time goal in this server, privately.

Whole or half hours from 1 to 168; 0 clears the goal (``bot.domain.goals``). ``/profile``
shows this week's study time against it. A value that is no goal is refused, in the
member's language, and changes nothing.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import ls, t
from bot.render.profile import goal_text
from cogs._common import member_locale, reply, studyon
from cogs.help import command_names


class Goal(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(
        name=ls("cmd.goal"),
        description=ls("cmd.goal.desc"),
    )
    @app_commands.rename(hours=ls("cmd.goal.hours"))
    @app_commands.describe(hours=ls("cmd.goal.hours.desc"))
    @app_commands.guild_only()
    async def goal(self, interaction: discord.Interaction, hours: float) -> None:
        # no min/max on the option: the bot explains a refusal in the member's language
        assert interaction.guild_id is not None
        minutes = await studyon(interaction).services.members.set_weekly_goal(
            interaction.guild_id, interaction.user.id, hours
        )
        locale = await member_locale(interaction)
        if minutes is None:
            await reply(interaction, t("goal.cleared", locale))
            return
        profile = command_names(self.bot.tree, locale)["profile"]
        await reply(
            interaction,
            t("goal.saved", locale, goal=goal_text(minutes, locale), profile=profile),
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Goal(bot))

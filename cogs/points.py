"""``/points``: the member's balance and their last ten ledger entries, privately."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import ls, t
from cogs._common import member_locale, reply, studyon

HISTORY = 10


class Points(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(
        name=ls("cmd.points"),
        description=ls("cmd.points.desc"),
    )
    @app_commands.guild_only()
    async def points(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        locale = await member_locale(interaction)
        summary = await studyon(interaction).services.points.balance(
            interaction.guild_id, interaction.user.id, history=HISTORY
        )
        embed = discord.Embed(
            title=t("points.title", locale),
            description=t("points.balance", locale, balance=summary.balance),
            colour=discord.Colour.gold(),
        )
        if summary.recent:
            lines = [
                t(
                    "points.entry",
                    locale,
                    amount=f"{e.amount:+d}",
                    reason=t(f"points.reason.{e.reason}", locale),
                    when=f"<t:{e.created_ms // 1000}:R>",
                )
                for e in summary.recent
            ]
            embed.add_field(name=t("points.history", locale), value="\n".join(lines), inline=False)
        await reply(interaction, embed=embed)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Points(bot))

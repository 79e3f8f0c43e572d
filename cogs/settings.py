"""``/settings timezone`` and ``/settings language``: the member's own day boundary and the
language every personal reply to them is written in."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.todos import local_datetime
from bot.i18n import ls, t
from bot.services.members import MemberService, search_zones
from cogs._common import member_locale, reply, studyon


class Settings(commands.Cog):
    settings = app_commands.Group(
        name=ls("cmd.settings"),
        description=ls("cmd.settings.desc"),
        guild_only=True,
    )

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    def _members(self, interaction: discord.Interaction) -> MemberService:
        return studyon(interaction).services.members

    @settings.command(
        name=ls("cmd.settings.timezone"),
        description=ls("cmd.settings.timezone.desc"),
    )
    @app_commands.rename(zone=ls("cmd.settings.timezone.opt.zone"))
    @app_commands.describe(zone=ls("cmd.settings.timezone.opt.zone.desc"))
    async def timezone(self, interaction: discord.Interaction, zone: str) -> None:
        assert interaction.guild_id is not None
        members = self._members(interaction)
        name = await members.set_timezone(interaction.guild_id, interaction.user.id, zone)
        tz, now = await members.today(interaction.guild_id, interaction.user.id)
        local = local_datetime(now, tz)
        locale = await member_locale(interaction)
        await reply(
            interaction,
            t(
                "settings.timezone.saved",
                locale,
                zone=name,
                time=local.strftime("%H:%M"),
                date=local.date().isoformat(),
            ),
        )

    @timezone.autocomplete("zone")
    async def timezone_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in search_zones(current)]

    @settings.command(
        name=ls("cmd.settings.language"),
        description=ls("cmd.settings.language.desc"),
    )
    @app_commands.rename(locale=ls("cmd.settings.language.opt.locale"))
    @app_commands.describe(locale=ls("cmd.settings.language.opt.locale.desc"))
    @app_commands.choices(
        locale=[
            app_commands.Choice(name=ls("settings.locale.en"), value="en"),
            app_commands.Choice(name=ls("settings.locale.ko"), value="ko"),
        ]
    )
    async def language(self, interaction: discord.Interaction, locale: str) -> None:
        assert interaction.guild_id is not None
        bot = studyon(interaction)
        chosen = await self._members(interaction).set_locale(
            interaction.guild_id, interaction.user.id, locale
        )
        bot.forget_member_locale(interaction.guild_id, interaction.user.id)
        await reply(interaction, t("settings.language.saved", chosen))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Settings(bot))

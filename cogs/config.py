"""``/config show|set|reset``: this server's own costs, limits and defaults (the configuration
file's values are the defaults). For members who may manage the server: Discord shows the
commands only to them (``default_permissions``), and each use checks it again, since a
server can let anyone see them."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain import guild_settings as rules
from bot.domain.errors import NotServerManager
from bot.domain.guild_settings import GuildSettings, Kind, Value
from bot.i18n import ls, t
from bot.services.guild_settings import GuildSettingsService, SettingChange
from cogs._common import member_locale, reply, studyon

CHOICES_MAX = 25


def label(key: str, locale: str) -> str:
    """A key's name as the member reads it."""
    return t(f"config.key.{key}", locale)


def shown(key: str, value: Value, locale: str) -> str:
    """A value as the member reads it."""
    kind = rules.BY_KEY[key].kind
    if kind is Kind.BOOL:
        return t("config.value.on" if value else "config.value.off", locale)
    if kind is Kind.LOCALE:
        return t(f"settings.locale.{value}", locale)
    text = discord.utils.escape_markdown(str(value))
    if kind is Kind.INT and key.endswith("_seconds"):
        return t("config.value.seconds", locale, seconds=text)
    return text


def show_embed(settings: GuildSettings, defaults: GuildSettings, locale: str) -> discord.Embed:
    embed = discord.Embed(
        title=t("config.show.title", locale),
        description=t("config.show.intro", locale),
        colour=discord.Colour.blurple(),
    )
    for key in rules.KEYS:
        value = shown(key, settings.value(key), locale)
        if settings.is_default(key):
            text = t("config.show.default", locale, value=value)
        else:
            default = shown(key, defaults.value(key), locale)
            text = t("config.show.set", locale, value=value, default=default)
        embed.add_field(name=f"{label(key, locale)} · `{key}`", value=text, inline=False)
    return embed


def key_choices(query: str, locale: str) -> list[app_commands.Choice[str]]:
    """The keys whose name (in the member's language) or key contains what was typed."""
    typed = query.strip().casefold()
    found = []
    for key in rules.KEYS:
        name = label(key, locale)
        if not typed or typed in name.casefold() or typed in key:
            found.append(app_commands.Choice(name=f"{name} ({key})"[:100], value=key))
    return found[:CHOICES_MAX]


def require_manager(interaction: discord.Interaction[Any]) -> None:
    """Refuse a member who may not manage the server (checked again on every use)."""
    if not interaction.permissions.manage_guild:
        raise NotServerManager()


class Config(commands.Cog):
    config = app_commands.Group(
        name=ls("cmd.config"),
        description=ls("cmd.config.desc"),
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    def _settings(self, interaction: discord.Interaction) -> GuildSettingsService:
        return studyon(interaction).services.guild_settings

    @config.command(name=ls("cmd.config.show"), description=ls("cmd.config.show.desc"))
    async def show(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        require_manager(interaction)
        service = self._settings(interaction)
        settings = await service.effective(interaction.guild_id)
        locale = await member_locale(interaction)
        await reply(interaction, embed=show_embed(settings, service.defaults, locale))

    @config.command(name=ls("cmd.config.set"), description=ls("cmd.config.set.desc"))
    @app_commands.rename(key=ls("cmd.config.opt.key"), value=ls("cmd.config.set.opt.value"))
    @app_commands.describe(
        key=ls("cmd.config.opt.key.desc"), value=ls("cmd.config.set.opt.value.desc")
    )
    async def set(self, interaction: discord.Interaction, key: str, value: str) -> None:
        assert interaction.guild_id is not None
        require_manager(interaction)
        change = await self._settings(interaction).set(
            interaction.guild_id, key, value, interaction.user.id
        )
        await reply(interaction, self._changed(change, await member_locale(interaction), "set"))

    @config.command(name=ls("cmd.config.reset"), description=ls("cmd.config.reset.desc"))
    @app_commands.rename(key=ls("cmd.config.opt.key"))
    @app_commands.describe(key=ls("cmd.config.opt.key.desc"))
    async def reset(self, interaction: discord.Interaction, key: str) -> None:
        assert interaction.guild_id is not None
        require_manager(interaction)
        change = await self._settings(interaction).reset(
            interaction.guild_id, key, interaction.user.id
        )
        await reply(interaction, self._changed(change, await member_locale(interaction), "reset"))

    @staticmethod
    def _changed(change: SettingChange, locale: str, what: str) -> str:
        params = {
            "key": label(change.key, locale),
            "old": shown(change.key, change.old, locale),
            "new": shown(change.key, change.new, locale),
        }
        if not change.changed:
            return t(f"config.{what}.unchanged", locale, **params)
        return t(f"config.{what}.done", locale, **params)

    @set.autocomplete("key")
    @reset.autocomplete("key")
    async def key_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return key_choices(current, await member_locale(interaction))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Config(bot))

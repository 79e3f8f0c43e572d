"""``/help [topic]``: the usage guide in the member's language, privately.

An overview embed with one short section per topic, and a menu to open any topic in full.
Command names in the text are the ones the member sees in their own client: they are read
from the bot's command tree and its Korean catalog, so the guide follows renamed commands.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import DEFAULT_LOCALE, catalog, ls, t
from cogs._common import member_locale, reply

TOPICS = ("rooms", "timer", "kings", "points", "todos", "ranking")
OVERVIEW = "overview"
MENU_TIMEOUT = 600

# commands the guide names, by path; their English names are used until a feature is loaded
GUIDE_COMMANDS = (
    "room create",
    "room list",
    "room info",
    "room join",
    "room leave",
    "room notice",
    "room close",
    "timer start",
    "timer pause",
    "timer resume",
    "timer skip",
    "timer break",
    "timer stop",
    "timer status",
    "todo add",
    "todo list",
    "todo done",
    "todo undo",
    "todo edit",
    "todo remove",
    "calendar",
    "rate",
    "points",
    "profile",
    "goal",
    "leaderboard",
    "settings timezone",
    "settings language",
    "config show",
    "config set",
    "config reset",
    "help",
)

TOPIC_CHOICES = [
    app_commands.Choice(name=ls(f"cmd.help.topic.{name}"), value=name) for name in TOPICS
]


def _localized(item: Any, locale: str) -> str:
    """The name of a command, group or option in ``locale`` (its own name if untranslated)."""
    key = getattr(getattr(item, "_locale_name", None), "extras", {}).get("key")
    if locale != DEFAULT_LOCALE and key:
        return catalog(locale).get(key, item.name)
    return str(item.name)


def command_names(tree: app_commands.CommandTree[Any], locale: str) -> dict[str, str]:
    """``{"room_create": "/방 만들기", …}``: every guide command as the member sees it."""
    names = {path.replace(" ", "_"): f"/{path}" for path in GUIDE_COMMANDS}
    for command in tree.walk_commands():
        if isinstance(command, app_commands.Group):
            continue
        parts: list[Any] = []
        node: Any = command
        while node is not None:
            parts.append(node)
            node = node.parent
        parts.reverse()
        path = "_".join(p.name for p in parts)
        names[path] = "/" + " ".join(_localized(p, locale) for p in parts)
    return names


def topic_embed(topic: str, locale: str, names: dict[str, str]) -> discord.Embed:
    """One topic in full, or the overview (every topic's summary) for ``OVERVIEW``."""
    colour = discord.Colour.blurple()
    if topic == OVERVIEW:
        embed = discord.Embed(
            title=t("help.title", locale),
            description=t("help.intro", locale, **names),
            colour=colour,
        )
        for name in TOPICS:
            embed.add_field(
                name=t(f"help.{name}.title", locale),
                value=t(f"help.{name}.summary", locale, **names),
                inline=False,
            )
        embed.set_footer(text=t("help.footer", locale))
        return embed
    embed = discord.Embed(
        title=t(f"help.{topic}.title", locale),
        description=t(f"help.{topic}.body", locale, **names),
        colour=colour,
    )
    embed.set_footer(text=t("help.footer", locale))
    return embed


class TopicMenu(discord.ui.View):
    """A menu of the topics; choosing one shows it in the same (private) message."""

    def __init__(self, locale: str, names: dict[str, str], current: str) -> None:
        super().__init__(timeout=MENU_TIMEOUT)
        self.locale = locale
        self.names = names
        # the menu's words are the member's language, known only now
        self.topic.placeholder = t("help.menu", locale)
        self.topic.options = [
            discord.SelectOption(
                label=t(f"help.{name}.title", locale),
                value=name,
                default=name == current,
            )
            for name in (OVERVIEW, *TOPICS)
        ]

    @discord.ui.select(cls=discord.ui.Select[Any], custom_id="studyon:help:topic")
    async def topic(
        self, interaction: discord.Interaction[Any], select: discord.ui.Select[TopicMenu]
    ) -> None:
        chosen = select.values[0] if select.values else OVERVIEW
        if chosen not in TOPICS:
            chosen = OVERVIEW
        locale = await member_locale(interaction)
        view = TopicMenu(locale, self.names, chosen)
        await interaction.response.edit_message(
            embed=topic_embed(chosen, locale, self.names), view=view
        )


class Help(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(
        name=ls("cmd.help"),
        description=ls("cmd.help.desc"),
    )
    @app_commands.rename(topic=ls("cmd.help.topic"))
    @app_commands.describe(topic=ls("cmd.help.topic.desc"))
    @app_commands.choices(topic=TOPIC_CHOICES)
    async def help(
        self, interaction: discord.Interaction, topic: app_commands.Choice[str] | None = None
    ) -> None:
        locale = await member_locale(interaction)
        names = command_names(self.bot.tree, locale)
        chosen = topic.value if topic is not None and topic.value in TOPICS else OVERVIEW
        await reply(
            interaction,
            embed=topic_embed(chosen, locale, names),
            view=TopicMenu(locale, names, chosen),
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Help(bot))

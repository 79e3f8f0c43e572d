"""What every cog shares: the member's language, safe sending, and answering errors.

Every reply goes out with mentions disabled: user-typed text (titles, notices, todos) can
contain "@everyone" or role mentions, and must never ping anyone.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Self

import discord
from discord import app_commands

from bot.domain.errors import MissingPermission, NotFound, StudyOnError, ValidationError
from bot.i18n import normalise_locale, t
from bot.services.outage import PartlyDone

if TYPE_CHECKING:
    from bot.app import StudyOnBot

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
# Discord's message content limit; longer text is refused before sending, never cut
MESSAGE_MAX = 2000


def studyon(interaction: discord.Interaction[Any]) -> StudyOnBot:
    """The bot behind an interaction."""
    from bot.app import StudyOnBot

    client = interaction.client
    assert isinstance(client, StudyOnBot)
    return client


async def member_locale(interaction: discord.Interaction[Any]) -> str:
    """The language for a personal reply: the member's setting, else the one their server
    set with ``/config``, else their client's (the configuration file's when the bot does
    not speak it)."""
    bot = studyon(interaction)
    if interaction.guild_id is not None:
        stored = await bot.member_locale(interaction.guild_id, interaction.user.id)
        if stored:
            return stored
        chosen = bot.guild_set_locale(interaction.guild_id)
        if chosen:
            return chosen
    return normalise_locale(interaction.locale, bot.default_locale)


def known_locale(interaction: discord.Interaction[Any]) -> str:
    """``member_locale`` without asking the database: the member's setting if it is cached,
    else the server's choice, else their client's."""
    bot = studyon(interaction)
    if interaction.guild_id is not None:
        cached = bot.cached_member_locale(interaction.guild_id, interaction.user.id)
        if cached:
            return cached
        chosen = bot.guild_set_locale(interaction.guild_id)
        if chosen:
            return chosen
    return normalise_locale(interaction.locale, bot.default_locale)


def error_text(error: StudyOnError, locale: str) -> str:
    params = dict(error.params)
    if isinstance(error, ValidationError):
        params["field_name"] = t(f"field.{error.field}", locale)
        if "mode" in params:
            params["mode"] = t(f"mode.{params['mode']}", locale)
    elif isinstance(error, NotFound):
        params["what"] = t(f"what.{error.what}", locale)
    elif isinstance(error, MissingPermission):
        params["permission"] = t(f"perm.{error.permission}", locale)
    return t(error.code, locale, **params)


async def reply(
    interaction: discord.Interaction[Any],
    content: str | None = None,
    *,
    ephemeral: bool = True,
    **kwargs: Any,
) -> None:
    """Answer the interaction whether or not it was answered (or deferred) already."""
    kwargs.setdefault("allowed_mentions", NO_MENTIONS)
    if content is not None:
        kwargs["content"] = content
    if interaction.response.is_done():
        await interaction.followup.send(ephemeral=ephemeral, **kwargs)
    else:
        await interaction.response.send_message(ephemeral=ephemeral, **kwargs)


async def reply_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Explain a refusal (or apologise for a failure), privately, in the member's language.
    A store out of reach is said as such ("try again in a moment") and logged once per
    outage, not as a traceback per command."""
    bot = studyon(interaction)
    outage = bot.note_outage(error) if not isinstance(error, PartlyDone) else None
    if outage is not None or isinstance(error, PartlyDone):
        # the database may be what failed: the language is the one known already
        locale = known_locale(interaction)
    else:
        try:
            locale = await member_locale(interaction)
        except Exception:  # the database may be what failed
            locale = bot.guild_locale(interaction.guild_id)
    if isinstance(error, PartlyDone):
        bot.note_outage(error.__cause__ or error)
        text = t("error.storage_partial", locale)
    elif outage is not None:
        text = t("error.storage_unavailable", locale)
    elif isinstance(error, StudyOnError):
        text = error_text(error, locale)
    elif isinstance(error, discord.Forbidden):
        text = t("error.forbidden", locale)
    elif isinstance(error, app_commands.CheckFailure):
        text = t("error.not_allowed", locale)
    else:
        log.error("interaction failed", exc_info=error)
        text = t("error.unexpected", locale)
    try:
        await reply(interaction, text)
    except discord.HTTPException:
        log.exception("could not tell the member about an error")


async def on_app_command_error(
    interaction: discord.Interaction[Any], error: app_commands.AppCommandError
) -> None:
    original: BaseException = error
    if isinstance(error, app_commands.CommandInvokeError):
        original = error.original
    await reply_error(interaction, original)


class PersistentButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"(?!)"):
    """A button whose ``custom_id`` carries what it acts on, so it answers after a restart.
    Subclasses give their own ``template`` and build themselves from its match."""

    @classmethod
    def from_match(cls, match: re.Match[str], label: str) -> Self:
        """The button ``match`` (of this class's template) describes; ``label`` is the one
        Discord showed, empty when it sent none."""
        raise NotImplementedError

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls.from_match(match, getattr(item, "label", None) or "")

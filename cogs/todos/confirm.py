"""The question ``/todo remove`` asks before removing: Remove / Keep it."""

from __future__ import annotations

import contextlib
from typing import Any

import discord

from bot.domain.errors import StudyOnError
from bot.domain.todos import TodoItem
from bot.i18n import t
from cogs._common import member_locale, reply, reply_error, studyon
from cogs.todos.text import escape

CONFIRM_SECONDS = 120


class ConfirmRemove(discord.ui.View):
    """Remove / Keep it, for the member who asked only; nothing is removed on no answer."""

    def __init__(self, owner_id: int, todo: TodoItem, locale: str) -> None:
        super().__init__(timeout=CONFIRM_SECONDS)
        self.owner_id = owner_id
        self.todo_id = todo.id
        self.guild_id = todo.guild_id
        self.text = escape(todo.text)
        self.locale = locale
        self.asked: discord.Interaction | None = None
        # the labels are the member's language, known only now
        self.confirm.label = t("todos.remove.confirm", locale)
        self.cancel.label = t("todos.remove.cancel", locale)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await reply(interaction, t("error.todo.not_yours", await member_locale(interaction)))
            return False
        return True

    @discord.ui.button(style=discord.ButtonStyle.danger)
    async def confirm(
        self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmRemove]
    ) -> None:
        self.stop()
        try:
            await studyon(interaction).services.todos.remove(
                self.guild_id, self.owner_id, self.todo_id
            )
        except StudyOnError as error:
            await interaction.response.edit_message(view=None)
            await reply_error(interaction, error)
            return
        await interaction.response.edit_message(
            content=t("todos.removed", self.locale, text=self.text), view=None
        )

    @discord.ui.button(style=discord.ButtonStyle.secondary)
    async def cancel(
        self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmRemove]
    ) -> None:
        self.stop()
        await interaction.response.edit_message(
            content=t("todos.remove.kept", self.locale, text=self.text), view=None
        )

    async def on_timeout(self) -> None:
        if self.asked is None:
            return
        # the message may be gone or the token expired: nothing was removed either way
        with contextlib.suppress(discord.HTTPException):
            await self.asked.edit_original_response(
                content=t("todos.remove.expired", self.locale, text=self.text), view=None
            )

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await reply_error(interaction, error)

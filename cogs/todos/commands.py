"""The ``/todo`` commands and their ``item`` autocomplete (a ticked todo's board line is owed
by the todo service and posted through ``cogs._board``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.errors import NotFound
from bot.domain.todos import TodoItem
from bot.i18n import ls, t
from cogs._common import member_locale, reply, studyon
from cogs.todos.confirm import ConfirmRemove
from cogs.todos.text import choice_label, chunk_lines, day_label, escape

if TYPE_CHECKING:
    from bot.app import StudyOnBot

log = logging.getLogger(__name__)

T = TypeVar("T")

ID_DIGITS_MAX = 19  # a 64-bit id


_DATE = ls("cmd.todo.opt.date")
_DATE_DESC = ls("cmd.todo.opt.date.desc")
_ITEM = ls("cmd.todo.opt.item")
_ITEM_DESC = ls("cmd.todo.opt.item.desc")
_TEXT = ls("cmd.todo.opt.text")


def _item_option(choices: Any) -> Callable[[T], T]:
    """The ``item`` option: its name, description and autocomplete."""

    def decorate(func: T) -> T:
        func = app_commands.autocomplete(item=choices)(func)
        func = app_commands.describe(item=_ITEM_DESC)(func)
        return app_commands.rename(item=_ITEM)(func)

    return decorate


class Todos(commands.Cog):
    todo = app_commands.Group(
        name=ls("cmd.todo"),
        description=ls("cmd.todo.desc"),
        guild_only=True,
    )

    def __init__(self, bot: StudyOnBot) -> None:
        self.bot = bot

    # -- helpers ---------------------------------------------------------------------------

    async def _item(self, interaction: discord.Interaction, value: str) -> TodoItem:
        """The member's own todo the ``item`` option names: a chosen id, or typed text."""
        assert interaction.guild_id is not None
        todos = studyon(interaction).services.todos
        guild, user = interaction.guild_id, interaction.user.id
        raw = value.strip()
        if raw.isascii() and raw.isdigit() and len(raw) <= ID_DIGITS_MAX:
            try:
                return await todos.get(guild, user, int(raw))
            except NotFound:
                pass  # perhaps a todo whose text is a number
        return await todos.find_by_text(guild, user, raw)

    async def _choices(
        self, interaction: discord.Interaction, current: str, *, done: bool | None
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        locale = await member_locale(interaction)
        today, todos = await studyon(interaction).services.todos.choices(
            interaction.guild_id, interaction.user.id, current, done=done
        )
        return [
            app_commands.Choice(name=choice_label(todo, today, locale), value=str(todo.id))
            for todo in todos
        ]

    async def open_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._choices(interaction, current, done=False)

    async def done_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._choices(interaction, current, done=True)

    async def any_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._choices(interaction, current, done=None)

    async def _today(self, interaction: discord.Interaction) -> date:
        assert interaction.guild_id is not None
        return await studyon(interaction).services.todos.today(
            interaction.guild_id, interaction.user.id
        )

    # -- commands --------------------------------------------------------------------------

    @todo.command(
        name=ls("cmd.todo.add"),
        description=ls("cmd.todo.add.desc"),
    )
    @app_commands.rename(text=_TEXT, day=_DATE)
    @app_commands.describe(text=ls("cmd.todo.opt.text.desc"), day=_DATE_DESC)
    async def add(
        self, interaction: discord.Interaction, text: str, day: str | None = None
    ) -> None:
        assert interaction.guild_id is not None
        todos = studyon(interaction).services.todos
        todo = await todos.add(interaction.guild_id, interaction.user.id, text, day)
        listed = await todos.for_day(
            interaction.guild_id, interaction.user.id, todo.day.isoformat()
        )
        locale = await member_locale(interaction)
        today = await self._today(interaction)
        await reply(
            interaction,
            t(
                "todos.added",
                locale,
                day=day_label(todo.day, today, locale),
                text=escape(todo.text),
                count=len(listed.todos),
            ),
        )

    @todo.command(
        name=ls("cmd.todo.list"),
        description=ls("cmd.todo.list.desc"),
    )
    @app_commands.rename(day=_DATE)
    @app_commands.describe(day=_DATE_DESC)
    async def list_(self, interaction: discord.Interaction, day: str | None = None) -> None:
        assert interaction.guild_id is not None
        listed = await studyon(interaction).services.todos.for_day(
            interaction.guild_id, interaction.user.id, day
        )
        locale = await member_locale(interaction)
        label = day_label(listed.day, await self._today(interaction), locale)
        if not listed.todos:
            await reply(interaction, t("todos.list.empty", locale, day=label))
            return
        lines = [
            t("todos.list.header", locale, day=label, done=listed.done, total=len(listed.todos))
        ]
        for number, todo in enumerate(listed.todos, start=1):
            text = escape(todo.text)
            lines.append(f"{number}. ✅ ~~{text}~~" if todo.done else f"{number}. ⬜ {text}")
        for message in chunk_lines(lines):
            await reply(interaction, message)

    @todo.command(
        name=ls("cmd.todo.done"),
        description=ls("cmd.todo.done.desc"),
    )
    @_item_option(open_choices)
    async def done(self, interaction: discord.Interaction, item: str) -> None:
        assert interaction.guild_id is not None
        todos = studyon(interaction).services.todos
        target = await self._item(interaction, item)
        # the board line of every room the member is in is owed with the tick, and posted
        todo = await todos.done(
            interaction.guild_id, interaction.user.id, target.id, interaction.user.display_name
        )
        listed = await todos.for_day(
            interaction.guild_id, interaction.user.id, todo.day.isoformat()
        )
        locale = await member_locale(interaction)
        all_done = listed.done == len(listed.todos)
        key = "todos.done.all" if all_done else "todos.done"
        label = day_label(todo.day, await self._today(interaction), locale)
        await reply(interaction, t(key, locale, text=escape(todo.text), day=label))

    @todo.command(
        name=ls("cmd.todo.undo"),
        description=ls("cmd.todo.undo.desc"),
    )
    @_item_option(done_choices)
    async def undo(self, interaction: discord.Interaction, item: str) -> None:
        assert interaction.guild_id is not None
        target = await self._item(interaction, item)
        todo = await studyon(interaction).services.todos.undo(
            interaction.guild_id, interaction.user.id, target.id
        )
        locale = await member_locale(interaction)
        await reply(interaction, t("todos.undone", locale, text=escape(todo.text)))

    @todo.command(
        name=ls("cmd.todo.edit"),
        description=ls("cmd.todo.edit.desc"),
    )
    @_item_option(any_choices)
    @app_commands.rename(text=_TEXT)
    @app_commands.describe(text=ls("cmd.todo.opt.new_text.desc"))
    async def edit(self, interaction: discord.Interaction, item: str, text: str) -> None:
        assert interaction.guild_id is not None
        target = await self._item(interaction, item)
        todo = await studyon(interaction).services.todos.edit(
            interaction.guild_id, interaction.user.id, target.id, text
        )
        locale = await member_locale(interaction)
        await reply(interaction, t("todos.edited", locale, text=escape(todo.text)))

    @todo.command(
        name=ls("cmd.todo.remove"),
        description=ls("cmd.todo.remove.desc"),
    )
    @_item_option(any_choices)
    async def remove(self, interaction: discord.Interaction, item: str) -> None:
        assert interaction.guild_id is not None
        todo = await self._item(interaction, item)
        locale = await member_locale(interaction)
        label = day_label(todo.day, await self._today(interaction), locale)
        view = ConfirmRemove(interaction.user.id, todo, locale)
        await reply(
            interaction,
            t("todos.remove.ask", locale, day=label, text=escape(todo.text)),
            view=view,
        )
        view.asked = interaction

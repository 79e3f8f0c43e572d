"""``/todo add|list|done|undo|edit|remove``: the member's own todo list, by day.

Everything here is the member's own: ``item`` autocompletes from their todos only, and an id
that is not theirs is "not found". Replies are private and in the member's language; todo
text is shown markdown-escaped with mentions disabled. Ticking a todo while in a study room
posts "**alice** completed *read ch. 4*" on the room's board (owed with the tick).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from discord.ext import commands

from cogs.todos.commands import Todos

if TYPE_CHECKING:
    from bot.app import StudyOnBot

__all__ = ["Todos", "setup"]


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Todos(cast("StudyOnBot", bot)))

"""Study rooms on Discord: the ``/room`` commands, the close confirmation, and the Discord
side of making a room and letting members in."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from discord.ext import commands

from cogs.rooms.commands import Rooms

if TYPE_CHECKING:
    from bot.app import StudyOnBot

__all__ = ["Rooms", "setup"]


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Rooms(cast("StudyOnBot", bot)))

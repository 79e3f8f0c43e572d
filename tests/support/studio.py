"""The simulated Discord with the bot in it, for end-to-end tests: the ``Studio`` (SimCord, the
bot and the clock), its guilds, and the bot's configuration.

SimCord moves the event loop's clock; APScheduler decides what is due from the wall clock.
``Studio.advance`` moves both together, stopping at every scheduled wake-up so each alarm is
posted at its own instant (not all at the end of a long jump).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import time_machine
from simcord import Env
from simcord.actors import MemberActor
from simcord.builders import ChannelHandle, GuildHandle
from simcord.results import InteractionResult, ResponseMessage
from sqlalchemy.engine import make_url

from bot.app import StudyOnBot, studyon_teardown
from bot.config import Config, parse_config
from bot.simulation import VirtualTime


def make_config(tmp_path: Path, **sections: dict[str, Any]) -> Config:
    raw: dict[str, Any] = {
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'studyon.db'}"},
        "session": {"embedded_path": str(tmp_path / "session.db")},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return parse_config(raw, env={})


def response_of(result: InteractionResult) -> ResponseMessage:
    """The message the bot answered ``result``'s interaction with, read afresh (it may have
    been edited since); fails the test when there is none."""
    response = result.response
    assert response is not None, f"the bot sent no response message: {result!r}"
    return response


@dataclass
class Town:
    guild: GuildHandle
    general: ChannelHandle
    members: list[MemberActor]


def delete_sqlite_database(url: str) -> None:
    """Delete the SQLite database file at ``url`` (and its write-ahead log)."""
    database = make_url(url).database
    assert database, "a fresh database needs a SQLite file"
    for suffix in ("", "-wal", "-shm"):
        Path(database + suffix).unlink(missing_ok=True)


@dataclass
class Studio:
    """The simulated Discord, the bot in it, and the clock."""

    env: Env
    clock: time_machine.Traveller
    synced: bool = field(default=False)

    @property
    def bot(self) -> StudyOnBot:
        bot = self.env.bot
        assert isinstance(bot, StudyOnBot)
        return bot

    @property
    def time(self) -> VirtualTime:
        return VirtualTime(self.env, self.clock)

    def now_ms(self) -> int:
        return VirtualTime.now_ms()

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass, stopping at each scheduled wake-up on the way."""
        await self.time.advance(seconds)

    async def advance_to(self, at_ms: int) -> None:
        await self.time.advance_to(at_ms)

    def guild(self, *names: str, locale: str | None = None) -> Town:
        """A guild with a #general channel and one member per name (in that order)."""
        guild = self.env.create_guild(preferred_locale=locale)
        general = guild.create_text_channel("general")
        members = [guild.add_member(self.env.create_user(name)) for name in names]
        return Town(guild, general, members)

    async def restart(self, *, fresh_database: bool = False) -> None:
        """Stop the bot and start it again; the virtual world and the files persist.

        SimCord detaches the bot without calling its ``close()``, so the process's own
        resources (database, session store, scheduler, cogs) are torn down here first, as
        they would be when the process dies. ``fresh_database``: the database file is
        deleted while the bot is down (an operator starting over), the session file kept."""
        await self.time.settle()
        await studyon_teardown(self.bot)
        if fresh_database:
            delete_sqlite_database(self.bot.config.database.url)
        await self.env.restart_bot()
        await self.time.settle()


async def speak_korean(studio: Studio, town: Town, member: MemberActor) -> None:
    bot = studio.bot
    async with bot.services.uow() as uow:
        await uow.members.set_locale(town.guild.id, member.id, "ko", studio.now_ms())
        await uow.commit()
    bot.forget_member_locale(town.guild.id, member.id)

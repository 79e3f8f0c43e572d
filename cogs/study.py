"""Study time from voice: who sits in a room's voice channel while the room studies.

Voice joins, leaves and moves open and close study sessions (``bot.services.study``); the
room's boundaries, finished runs and runs ending early credit the sessions still open, so the
totals stay current and nothing is lost when a run leaves the session store. At start-up the
stored sessions are reconciled with the voice channels as they are now (see the service's
docstring for what happens to members who came or went while the bot was down); events that
arrive before that wait for it, so nothing is credited from a stale picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, cast

import discord
from discord.ext import commands

from bot.domain.run import RoomKey
from bot.services.events import BoundaryFired, RoomClosed, RunEnding, RunFinished
from bot.services.study import StudyListener

if TYPE_CHECKING:
    from bot.app import StudyOnBot

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 60  # how often "the bot is up" is stamped on rooms with open sessions
READY_WAIT_SECONDS = 60  # how long an early event waits for the start-up reconciliation
ROOMS_PAGE = 100


class Study(commands.Cog):
    def __init__(self, bot: StudyOnBot) -> None:
        self.bot = bot
        self.study = bot.services.study
        self.accounting = StudyListener(self.study)
        self._reconciled = asyncio.Event()
        self._reconciling: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self.bot.services.events.add_room_listener(self)
        self._heartbeat = asyncio.create_task(self._beat(), name="study-heartbeat")
        if self.bot.is_ready():  # loaded into a running bot
            self._start_reconcile()

    async def cog_unload(self) -> None:
        for task in (self._heartbeat, self._reconciling):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        # a clean shutdown: the exact moment the bot stopped watching the voice channels
        try:
            await self.study.heartbeat()
        except Exception:
            log.exception("could not stamp the study sessions at shutdown")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.study.heartbeat()
            except Exception:
                log.exception("study heartbeat failed")

    # -- start-up --------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self._reconciling is None:  # once per process
            self._start_reconcile()

    def _start_reconcile(self) -> None:
        self._reconciling = asyncio.create_task(self._reconcile_all(), name="study-reconcile")

    async def _reconcile_all(self) -> None:
        try:
            for guild in list(self.bot.guilds):
                if self.bot.owns_guild(guild.id):
                    await self._reconcile_guild(guild)
        except Exception:
            log.exception("reconciling study sessions failed")
        finally:
            self._reconciled.set()

    async def _reconcile_guild(self, guild: discord.Guild) -> None:
        offset = 0
        while True:
            rooms = await self.bot.services.rooms.open_rooms_page(guild.id, ROOMS_PAGE, offset)
            for room in rooms:
                present: set[int] = set()
                channel = guild.get_channel(room.voice_channel_id or 0)
                if isinstance(channel, discord.VoiceChannel | discord.StageChannel):
                    present = {
                        user_id
                        for user_id in channel.voice_states
                        if not self._is_bot(guild, user_id)
                    }
                outcome = await self.study.reconcile(RoomKey(guild.id, room.id), present)
                if outcome.closed or outcome.opened:
                    log.info(
                        "room %s: %d study session(s) kept, %d closed, %d opened at start-up",
                        room.id,
                        len(outcome.kept),
                        len(outcome.closed),
                        len(outcome.opened),
                    )
            if len(rooms) < ROOMS_PAGE:
                return
            offset += ROOMS_PAGE

    def _is_bot(self, guild: discord.Guild, user_id: int) -> bool:
        if self.bot.user is not None and user_id == self.bot.user.id:
            return True
        member = guild.get_member(user_id)
        return member is not None and member.bot

    async def _ready(self) -> None:
        """Wait for the start-up reconciliation (bounded: a stuck start-up must not hold
        alarms back forever)."""
        if self._reconciled.is_set():
            return
        try:
            await asyncio.wait_for(self._reconciled.wait(), READY_WAIT_SECONDS)
        except TimeoutError:
            log.warning("study sessions not reconciled yet; accounting anyway")

    # -- voice -----------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        if member.bot:
            return
        old = before.channel.id if before.channel else None
        new = after.channel.id if after.channel else None
        if old == new:
            return  # mute, deafen, video: still in the same place
        if not self.bot.owns_guild(member.guild.id):
            return
        await self._ready()
        if old is not None:
            key = await self._room_of(old)
            if key is not None:
                await self.study.leave(key, member.id)
        if new is not None:
            key = await self._room_of(new)
            if key is not None:
                await self.study.join(key, member.id)

    async def _room_of(self, voice_channel_id: int) -> RoomKey | None:
        room = await self.bot.services.rooms.by_voice_channel(voice_channel_id)
        return room.key if room is not None else None

    # -- the room's timer (RoomListener) ---------------------------------------------------

    async def on_boundary(self, event: BoundaryFired) -> int | None:
        await self._ready()
        return await self.accounting.on_boundary(event)

    async def on_run_finished(self, event: RunFinished) -> None:
        await self._ready()
        await self.accounting.on_run_finished(event)

    async def on_run_ending(self, event: RunEnding) -> None:
        await self._ready()
        await self.accounting.on_run_ending(event)

    async def on_room_closed(self, event: RoomClosed) -> None:
        await self.accounting.on_room_closed(event)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Study(cast("StudyOnBot", bot)))

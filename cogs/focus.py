"""Focus rooms: nobody speaks in the room's voice channel while the room studies.

What the voice channel should allow is a pure function of the room's timer at this instant
(``quiet``): Speak is denied while a study phase runs, and allowed during breaks, while the
run is paused, and when no run is going (before the first start, after the end or a stop).
It is set with one overwrite on the voice channel for @everyone (``_channels.set_quiet``),
whatever the number of members, and at most once per boundary: the state last set for each
channel is remembered, so a boundary that leaves it as it was (several boundaries delivered
late at once, a repeat) costs nothing. A restart forgets that, and sets each focus room's
state once at start-up; a call that failed is made again at the room's next change. Applying
the same state twice changes nothing on Discord.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

import discord
from discord.ext import commands

from bot import pacing
from bot.domain.errors import NotFound
from bot.domain.run import RoomKey
from bot.domain.timer import PhaseKind, Status
from bot.pacing import Lane, Superseded
from bot.services.events import BoundaryFired, RoomClosed, RunEnding, RunFinished, TimerChanged
from bot.services.timer.common import TimerView
from cogs import _channels

if TYPE_CHECKING:
    from bot.app import StudyOnBot

log = logging.getLogger(__name__)

ROOMS_PAGE = 100


def quiet(view: TimerView | None) -> bool:
    """Whether a focus room's voice channel is muted: only while a study phase runs."""
    if view is None or view.finished:
        return False
    state = view.state
    return (
        state.status is Status.RUNNING
        and state.phase is not None
        and state.phase.kind is PhaseKind.STUDY
    )


class Focus(commands.Cog):
    def __init__(self, bot: StudyOnBot) -> None:
        self.bot = bot
        self._applied: dict[int, bool] = {}  # voice channel id → quiet, as last set
        self._locks: dict[int, asyncio.Lock] = {}
        self._swept = False

    async def cog_load(self) -> None:
        self.bot.services.events.add_room_listener(self)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self._swept:  # once per process
            return
        self._swept = True
        try:
            for guild in list(self.bot.guilds):
                if self.bot.owns_guild(guild.id):
                    await self._sweep(guild.id)
        except Exception:
            log.exception("setting the focus rooms' voice channels at start-up failed")

    async def _sweep(self, guild_id: int) -> None:
        offset = 0
        while True:
            rooms = await self.bot.services.rooms.open_rooms_page(guild_id, ROOMS_PAGE, offset)
            for room in rooms:
                if room.focus:
                    await self.converge(RoomKey(room.guild_id, room.id))
            if len(rooms) < ROOMS_PAGE:
                return
            offset += ROOMS_PAGE

    async def converge(self, key: RoomKey, *, ending: bool = False) -> None:
        """Set the room's voice channel to what its timer says now (``ending``: the run is
        leaving, whatever the store still holds). Nothing for a room without focus."""
        services = self.bot.services
        try:
            room = (await services.rooms.get(key.room_id)).room
        except NotFound:
            return
        channel_id = room.voice_channel_id
        if not room.focus or not room.is_open or channel_id is None:
            return
        async with self._locks.setdefault(channel_id, asyncio.Lock()):
            wanted = False if ending else quiet(await services.timers.status_of(key))
            if self._applied.get(channel_id) == wanted:
                return
            try:
                # one call per focus room per boundary, coalesced: a newer state waiting
                # replaces an older one. After the alarms and the board: the alarm's grace
                # window counts, while muting a moment later than the boundary harms nobody
                with pacing.lane(Lane.OTHER, replaces=f"focus:{channel_id}"):
                    await _channels.set_quiet(self.bot.http, channel_id, key.guild_id, wanted)
            except Superseded:
                return
            except discord.HTTPException:
                # not remembered: the room's next change (or the next start) tries again
                log.warning("room %s: could not set focus on its voice channel", key, exc_info=True)
                return
            self._applied[channel_id] = wanted

    # -- RoomListener ---------------------------------------------------------------------

    async def on_boundary(self, event: BoundaryFired) -> int | None:
        await self.converge(event.key)
        return None  # posts no alarm

    async def on_timer_changed(self, event: TimerChanged) -> None:
        await self.converge(event.key)

    async def on_run_finished(self, event: RunFinished) -> None:
        await self.converge(event.key, ending=True)

    async def on_run_ending(self, event: RunEnding) -> None:
        await self.converge(event.key, ending=True)

    async def on_room_closed(self, event: RoomClosed) -> None:
        if event.voice_channel_id is not None:  # the channel goes with the room
            self._applied.pop(event.voice_channel_id, None)
            self._locks.pop(event.voice_channel_id, None)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Focus(cast("StudyOnBot", bot)))

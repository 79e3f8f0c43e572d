"""Each alarm message is that alarm's board entry: it shows who dismissed it, on time or late.

A button dismissal updates the alarm through the interaction's own response, which costs
nothing against Discord's global limit and posts nothing in the channel; ⏰ reaction
dismissals (which cannot be answered) fold into one REST edit of the alarm per ``FOLD_MS``.

Every rendering reads what is stored, under one lock per alarm, and is sent only when it shows
more dismissals than the last one sent (the list only grows): so twenty-five clicks in one
second cost a couple of renderings, the rest acknowledge the click alone, and a stale rendering
never lands after a newer one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord

from bot import pacing
from bot.domain.alarms import AlarmDismissal
from bot.domain.run import RoomKey
from bot.i18n import t
from bot.pacing import Lane
from cogs._common import NO_MENTIONS
from cogs.alarms.text import alarm_ref, created_ms

if TYPE_CHECKING:
    from bot.app import StudyOnBot

log = logging.getLogger(__name__)

FOLD_MS = 6_000  # ⏰ reactions within this long share one edit of the alarm
CLICK_WAIT_S = 1.5  # a click waits this long for the alarm's lock (Discord's deadline is 3 s)
EDIT_ATTEMPTS = 4  # a failing edit is tried again after 12, 24 and 48 s
EMBED_DESCRIPTION_MAX = 4096
_SHOWN_KEPT = 4096  # alarms whose last rendering is remembered (older ones render again)


@dataclass(frozen=True, slots=True)
class AlarmRef:
    """One posted alarm: the run's boundary and the message that shows it."""

    key: RoomKey
    run_id: int
    boundary: int
    channel_id: int
    message_id: int
    run_no: int | None = None  # which run of the room (its later runs' alarms say so)

    @property
    def shown_ms(self) -> int:
        return created_ms(self.message_id)


@dataclass
class _Alarm:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # coroutines holding or waiting for the lock


def render_board(
    bot: StudyOnBot, ref: AlarmRef, dismissals: Sequence[AlarmDismissal]
) -> discord.Embed:
    """The alarm's board: one line per dismissal, in the guild's language."""
    locale = bot.guild_locale(ref.key.guild_id)
    lines: list[str] = []
    used = 0
    for shown, d in enumerate(dismissals):
        key = "alarms.board.dismissed" if d.on_time else "alarms.board.dismissed_late"
        name = bot.display_name(ref.key.guild_id, d.user_id)
        line = t(key, locale, name=name, alarm=alarm_ref(ref.boundary, ref.run_no, locale))
        last = shown == len(dismissals) - 1
        more = t("alarms.board.more", locale, count=len(dismissals) - shown)
        room_needed = len(line) + (0 if last else 1 + len(more))
        if used + room_needed > EMBED_DESCRIPTION_MAX:
            lines.append(more)
            break
        lines.append(line)
        used += len(line) + 1
    return discord.Embed(description="\n".join(lines), colour=discord.Colour.green())


class AlarmBoards:
    """Keeps each alarm message showing what is recorded of it."""

    def __init__(self, bot: StudyOnBot) -> None:
        self._bot = bot
        self._alarms: dict[int, _Alarm] = {}  # message id → its lock, while in use
        self._shown: OrderedDict[int, int] = OrderedDict()  # message id → dismissals shown
        self._folding: set[int] = set()  # alarms with a folded edit pending

    async def answer_click(self, interaction: discord.Interaction[Any], ref: AlarmRef) -> None:
        """Acknowledge a button dismissal by updating the alarm in the interaction response
        (or, when a rendering already shows it, by acknowledging the click alone). If the
        alarm is busy for long (another edit of it is slow), or Discord fails the response,
        the click is acknowledged alone and the alarm edited by REST instead, folded."""
        try:
            async with self._locked(ref.message_id, wait_s=CLICK_WAIT_S):
                dismissals = await self._dismissals(ref)
                if len(dismissals) > self._shown.get(ref.message_id, 0):
                    await interaction.response.edit_message(
                        embed=render_board(self._bot, ref, dismissals),
                        allowed_mentions=NO_MENTIONS,
                    )
                    self._remember(ref.message_id, len(dismissals))
                    return
        except TimeoutError:
            self.owe_edit(ref)  # Discord's deadline comes first
        except Exception as error:
            log.warning("alarm %s: the click's update failed (%s); editing it", ref, error)
            self.owe_edit(ref)
        if not interaction.response.is_done():
            try:
                await interaction.response.defer()  # nothing new to show, or shown later
            except discord.HTTPException as error:
                log.warning("alarm %s: could not acknowledge a click: %s", ref, error)

    def owe_edit(self, ref: AlarmRef) -> None:
        """Edit the alarm to show what is recorded within ``FOLD_MS``; dismissals until then
        share that edit."""
        if ref.message_id in self._folding:
            return
        self._folding.add(ref.message_id)
        self._schedule(ref, FOLD_MS, attempt=1)

    def _schedule(self, ref: AlarmRef, after_ms: int, attempt: int) -> None:
        services = self._bot.services
        services.scheduler.schedule_call(
            f"alarm-board:{ref.message_id}",
            services.clock.now_ms() + after_ms,
            lambda: self._edit(ref, attempt),
        )

    async def _edit(self, ref: AlarmRef, attempt: int) -> None:
        # a dismissal recorded from here on owes an edit of its own; one recorded before is
        # in the rendering read below
        self._folding.discard(ref.message_id)
        async with self._locked(ref.message_id):
            dismissals = await self._dismissals(ref)
            if len(dismissals) <= self._shown.get(ref.message_id, 0):
                return
            message = self._bot.get_partial_messageable(
                ref.channel_id, guild_id=ref.key.guild_id
            ).get_partial_message(ref.message_id)
            try:
                with pacing.lane(Lane.ALARM_EDIT):
                    await message.edit(
                        embed=render_board(self._bot, ref, dismissals), allowed_mentions=NO_MENTIONS
                    )
            except discord.NotFound:
                return  # the alarm (or its channel) is gone
            except Exception:
                # what is recorded counts for the kings either way; showing it is tried again,
                # more slowly each time, unless a newer edit is owed already
                if attempt >= EDIT_ATTEMPTS:
                    log.warning("alarm %s: could not show its dismissals", ref, exc_info=True)
                elif ref.message_id not in self._folding:
                    self._folding.add(ref.message_id)
                    self._schedule(ref, FOLD_MS * 2**attempt, attempt + 1)
                return
            self._remember(ref.message_id, len(dismissals))

    async def _dismissals(self, ref: AlarmRef) -> list[AlarmDismissal]:
        return await self._bot.services.timers.alarm_dismissals(
            ref.key, ref.run_id, ref.boundary, alarm_shown_ms=ref.shown_ms
        )

    def _remember(self, message_id: int, count: int) -> None:
        self._shown[message_id] = count
        self._shown.move_to_end(message_id)
        while len(self._shown) > _SHOWN_KEPT:
            self._shown.popitem(last=False)

    def _locked(self, message_id: int, wait_s: float | None = None) -> _AlarmLock:
        return _AlarmLock(self._alarms, message_id, wait_s)


def alarm_boards(bot: StudyOnBot) -> AlarmBoards:
    """The boards of the loaded alarms cog."""
    from cogs.alarms.listener import Alarms

    cog = bot.get_cog(Alarms.__cog_name__)
    if not isinstance(cog, Alarms):
        raise RuntimeError("the alarms cog is not loaded")
    return cog.boards


class _AlarmLock:
    """The lock of one alarm, forgotten once nobody holds or waits for it."""

    def __init__(self, alarms: dict[int, _Alarm], message_id: int, wait_s: float | None) -> None:
        self._alarms = alarms
        self._id = message_id
        self._wait_s = wait_s
        self._alarm = alarms.setdefault(message_id, _Alarm())
        self._alarm.users += 1

    async def __aenter__(self) -> None:
        try:
            async with asyncio.timeout(self._wait_s):  # TimeoutError past wait_s
                await self._alarm.lock.acquire()
        except BaseException:
            self._release_use()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._alarm.lock.release()
        self._release_use()

    def _release_use(self) -> None:
        self._alarm.users -= 1
        if self._alarm.users == 0:
            self._alarms.pop(self._id, None)

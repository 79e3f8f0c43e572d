"""The ``RoomListener`` that shows a room's run in its text channel, and the ⏰ reaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot import pacing
from bot.domain.errors import StudyOnError
from bot.domain.run import RoomKey
from bot.domain.timer import Mode, PhaseKind
from bot.i18n import t
from bot.pacing import Lane
from bot.services.events import BoundaryFired, RoomClosed, RunFinished, RunStarted
from cogs._common import NO_MENTIONS
from cogs._delivery import post_text, refresh_card_quietly
from cogs.alarms.board import AlarmBoards, AlarmRef
from cogs.alarms.buttons import (
    DYNAMIC_ITEMS,
    SCORES,
    DismissButton,
    ExtendButton,
    RateButton,
    dismiss_id,
    extend_id,
)
from cogs.alarms.text import ALARM_EMOJI, alarm_text, created_ms, end_text

if TYPE_CHECKING:
    from bot.app import StudyOnBot

log = logging.getLogger(__name__)

# how far back a retried announcement looks for the post of an attempt that died unrecorded
# (an alarm's retry looks only when Discord's nonce may no longer cover it)
RECENT_MESSAGES = 50
# Discord returns the first message for a nonce it saw "in the past few minutes"
# (enforce_nonce, which discord.py sets with every nonce). Any post of an alarm was made after
# it fell: a retry sent to Discord less than this long after the fall repeats the nonce and
# gets that message back, so it needs no read for an earlier post (discord.py's own retries
# of a 5xx add at most some 20 s to it)
NONCE_TRUSTED_MS = 60_000


def _study_ran_to_its_longest(event: BoundaryFired) -> bool:
    """A flowtime study period ended at its longest, with no break called by the owner."""
    b = event.boundary
    return event.pattern.mode is Mode.FLOWTIME and b.ends is PhaseKind.STUDY and not b.called


def _nonce_covers(event: BoundaryFired, now_ms: int) -> bool:
    """Whether a post of this alarm sent at ``now_ms`` repeats its nonce soon enough for
    Discord to answer it with any earlier post (``NONCE_TRUSTED_MS`` after the fall)."""
    return now_ms - event.boundary.at_ms < NONCE_TRUSTED_MS


class ListenerGone(RuntimeError):
    """The cog was unloaded: deliveries stay owed and are made after the bot starts again."""


class Alarms(commands.Cog):
    def __init__(self, bot: StudyOnBot) -> None:
        self.bot = bot
        self._active = False
        self.boards = AlarmBoards(bot)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        self.bot.services.events.add_room_listener(self)
        self._active = True

    async def cog_unload(self) -> None:
        # the services (and their listener hub) are rebuilt with the next start; until then an
        # event reaching this listener must stay undelivered rather than be dropped
        self._active = False
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)

    def _require_active(self) -> None:
        if not self._active:
            raise ListenerGone("the alarms cog is unloaded")

    async def _channel_of(self, key: RoomKey) -> int | None:
        room = await self.bot.services.rooms.get(key.room_id)
        if not room.room.is_open:
            return None
        return room.room.text_channel_id

    # -- RoomListener ---------------------------------------------------------------------

    async def on_boundary(self, event: BoundaryFired) -> int | None:
        """Post the alarm; when it reached the channel (its message's creation time)."""
        self._require_active()
        bot = self.bot
        posted = bot.services.posted
        key, k = event.key, event.boundary.index
        earlier = await posted.alarm(key, event.run_id, k)
        if earlier is not None:
            # a retry after a success we did not see; the card edit may be what was missed
            # (an unchanged card costs nothing)
            if _study_ran_to_its_longest(event):
                await refresh_card_quietly(bot, key.room_id)
            return created_ms(earlier)
        channel_id = await self._channel_of(key)
        if channel_id is None:
            return None
        button = dismiss_id(key.guild_id, key.room_id, event.run_id, k)
        # a retry: an earlier attempt may have posted it and died before recording it. Its
        # nonce covers that while the alarm is young; later, its post is looked for first
        trusted = event.retry and _nonce_covers(event, event.fired_ms)
        if event.retry and not trusted:
            found = await self._adopted(event, channel_id, button)
            if found is not None:
                return found
        locale = bot.guild_locale(key.guild_id)
        # the grace the server has now; dismissals are judged with the one in effect then
        grace = bot.guild_settings(key.guild_id).alarm_grace_seconds
        text = alarm_text(event, locale, grace)
        view = discord.ui.View(timeout=None)
        view.add_item(
            DismissButton(key.guild_id, key.room_id, event.run_id, k, t("alarm.button", locale))
        )
        channel = bot.get_partial_messageable(channel_id, guild_id=key.guild_id)
        clock = bot.services.clock

        def still_covered() -> bool:  # asked when the post's turn in the pace comes
            return _nonce_covers(event, clock.now_ms())

        async def post(only_if: Callable[[], bool] | None) -> discord.Message:
            # discord.py retries a 5xx or a short 429 itself; what still fails stays owed and
            # the timer service tries again. Discord returns the first message for a repeated
            # nonce (enforce_nonce): a retry after a 5xx that did post does not post twice
            with pacing.lane(Lane.ALARM, only_if=only_if):
                return await channel.send(
                    text, view=view, allowed_mentions=NO_MENTIONS, nonce=f"a{event.run_id}.{k}"
                )

        try:
            try:
                message = await post(still_covered if trusted else None)
            except pacing.Withheld:
                # its turn in the pace came too late for the nonce: look first after all
                found = await self._adopted(event, channel_id, button)
                if found is not None:
                    return found
                message = await post(None)
        except (discord.NotFound, discord.Forbidden):
            log.warning("room %s: cannot post alarm #%s in channel %s", key, k, channel_id)
            return None
        # no ⏰ reaction of the bot's own: a call per boundary against the global limit, for
        # what a member adds with one more tap (the Dismiss button is right there)
        await posted.record_alarm(key, event.run_id, k, message.id)
        if _study_ran_to_its_longest(event):
            # the card showed this study period as lasting until the break is called: its
            # end (and its break's) is fixed only now. One edit for the room, here; a
            # called break was a control, whose answer refreshed the card already
            await refresh_card_quietly(bot, key.room_id)
        return created_ms(message.id)

    async def _adopted(self, event: BoundaryFired, channel_id: int, button: str) -> int | None:
        """The post an earlier attempt made of this alarm and died before recording, if the
        channel's latest messages hold it: recorded now, with the card edit that attempt
        would have made; when it appeared."""
        key, k = event.key, event.boundary.index
        found = await self._posted_before(channel_id, key.guild_id, button)
        if found is None:
            return None
        await self.bot.services.posted.record_alarm(key, event.run_id, k, found)
        if _study_ran_to_its_longest(event):  # the edit the attempt died before
            await refresh_card_quietly(self.bot, key.room_id)
        return created_ms(found)

    async def _posted_before(self, channel_id: int, guild_id: int, custom_id: str) -> int | None:
        """The bot's message among the channel's latest ``RECENT_MESSAGES`` that carries
        the button ``custom_id`` (an announcement an earlier attempt posted), if any. One
        read, made only when retrying an announcement. It goes in the alarm lane: the
        alarm (or the results) waits on it, and behind a wave of other rooms' alarms and
        edits a look in the last lane would hold a taken-over alarm for seconds."""
        me = self.bot.user
        channel = self.bot.get_partial_messageable(channel_id, guild_id=guild_id)
        try:
            with pacing.lane(Lane.ALARM):
                latest = [m async for m in channel.history(limit=RECENT_MESSAGES)]
        except (discord.NotFound, discord.Forbidden):
            return None  # the channel is gone, or unreadable: posting says why
        for message in latest:
            if me is not None and message.author.id != me.id:
                continue
            for row in message.components:
                for item in getattr(row, "children", ()):
                    if getattr(item, "custom_id", None) == custom_id:
                        return message.id
        return None

    async def on_run_started(self, event: RunStarted) -> None:
        """A scheduled start happened: the board says so as ``/timer start`` would, in the
        owner's name, and the card shows the run."""
        self._require_active()
        from cogs.timer import control_text  # the timer cog imports this package

        bot = self.bot
        channel_id = await self._channel_of(event.key)
        if channel_id is None:
            return
        locale = bot.guild_locale(event.key.guild_id)
        name = bot.display_name(event.key.guild_id, event.owner_id)
        await post_text(bot, channel_id, control_text("start", event.view, name, locale))
        await refresh_card_quietly(bot, event.key.room_id)

    async def on_run_finished(self, event: RunFinished) -> int | None:
        """Post the results; when they reached the channel (their message's creation time),
        from which the vote runs."""
        self._require_active()
        bot = self.bot
        posted = bot.services.posted
        key = event.key
        earlier = await posted.results(key, event.run_id)
        if earlier is not None:
            # a retry after a success we did not see; the card edit may be what was missed
            await refresh_card_quietly(bot, key.room_id)
            return created_ms(earlier)
        channel_id = await self._channel_of(key)
        if channel_id is None:
            return None
        if event.retry:
            button = extend_id(key.guild_id, key.room_id, event.run_id)
            found = await self._posted_before(channel_id, key.guild_id, button)
            if found is not None:
                await posted.record_results(key, event.run_id, found)
                await refresh_card_quietly(bot, key.room_id)  # the edit the attempt died before
                return created_ms(found)
        locale = bot.guild_locale(key.guild_id)
        vote_s = bot.guild_settings(key.guild_id).extend_vote_seconds
        text = end_text(bot, event, locale, vote_s)
        view = discord.ui.View(timeout=None)
        for score in SCORES:
            view.add_item(RateButton(key.guild_id, key.room_id, event.run_id, score))
        view.add_item(
            ExtendButton(
                key.guild_id, key.room_id, event.run_id, t("alarms.end.button.extend", locale)
            )
        )
        channel = bot.get_partial_messageable(channel_id, guild_id=key.guild_id)
        try:
            with pacing.lane(Lane.ALARM):  # the kings are an alarm's follow-up
                message = await channel.send(
                    text, view=view, allowed_mentions=NO_MENTIONS, nonce=f"e{event.run_id}"
                )
        except (discord.NotFound, discord.Forbidden):
            log.warning("room %s: cannot announce the end of run %s", key, event.run_id)
            return None
        await posted.record_results(key, event.run_id, message.id)
        await refresh_card_quietly(bot, key.room_id)
        return created_ms(message.id)

    async def on_room_closed(self, event: RoomClosed) -> None:
        return None  # the rooms cog deletes the channels; live state forgot the room

    # -- the ⏰ reaction ------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        bot = self.bot
        if payload.guild_id is None or payload.emoji.name not in (
            ALARM_EMOJI,
            ALARM_EMOJI + "\ufe0f",
        ):
            return
        if bot.user is not None and payload.user_id == bot.user.id:
            return
        services = bot.services
        room = await services.rooms.by_channel(payload.channel_id)
        if room is None or not room.is_open:
            return
        key = RoomKey(room.guild_id, room.id)
        alarm = await services.posted.alarm_shown_by(key, payload.message_id)
        if alarm is None:
            return
        if payload.member is not None:
            bot.remember_name(payload.guild_id, payload.member)
        k = alarm.boundary
        try:
            outcome = await services.timers.dismiss(
                key,
                alarm.run_id,
                k,
                payload.user_id,
                alarm_shown_ms=created_ms(payload.message_id),
            )
        except StudyOnError:
            return  # not a member, the run is over…: a reaction cannot be answered privately
        if outcome.recorded:
            ref = AlarmRef(
                key, alarm.run_id, k, payload.channel_id, payload.message_id, outcome.run_no
            )
            self.boards.owe_edit(ref)

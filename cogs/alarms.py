"""Alarms on Discord: the message at every phase boundary, dismissing it, and the run's end.

The services decide *what* happens (which boundary fell, who is king, what was refunded);
this cog is the ``RoomListener`` that shows it in the room's text channel:

- a boundary is one message ("⏰ Alarm #3 — …") with a Dismiss button, plus the bot's own ⏰
  reaction so members can react instead, plus a card refresh: three REST calls at most;
- a dismissal (button or ⏰ reaction) posts "**bob** dismissed alarm #3" on the board;
- the end of a run announces Today's Study King(s) with their refunds, asks for a 1–5 rating
  of the day and offers Extend.

Buttons are ``DynamicItem``s whose ``custom_id`` carries guild, room, run and boundary, so they
work on messages posted before a restart. Posting is idempotent (the message id is stored, and
the request carries a nonce Discord deduplicates), so a retried delivery never doubles an alarm.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.domain.errors import InvalidTimerAction, StudyOnError
from bot.domain.timer import PhaseKind
from bot.i18n import t
from bot.services.events import BoundaryFired, RoomClosed, RunFinished
from bot.services.timer import TimerView
from cogs._common import MESSAGE_MAX, NO_MENTIONS, member_locale, reply, studyon
from cogs._delivery import (
    answer_when_slow,
    board,
    guarded,
    member_name,
    post_text,
    refresh_card_quietly,
)
from storage.session.base import RoomKey

if TYPE_CHECKING:
    from bot.app import AnyStudyOnBot

log = logging.getLogger(__name__)

ALARM_EMOJI = "⏰"
DISCORD_EPOCH_MS = discord.utils.DISCORD_EPOCH
SCORES = (1, 2, 3, 4, 5)


def created_ms(message_id: int) -> int:
    """When Discord created the message with this id (a snowflake), in epoch ms."""
    return (message_id >> 22) + DISCORD_EPOCH_MS


def unix(ms: int) -> int:
    return ms // 1000


def minutes_left(ms: int) -> int:
    return max(1, -(-ms // 60_000))


# -- what the messages say ----------------------------------------------------------------------


def phase_text(kind: PhaseKind, term: int, terms: int, locale: str) -> str:
    key = "timer.phase.study" if kind is PhaseKind.STUDY else "timer.phase.break"
    return t(key, locale, term=term, terms=terms)


def alarm_text(event: BoundaryFired, locale: str, grace_s: int) -> str:
    b = event.boundary
    terms = event.pattern.terms
    lines: list[str] = []
    if b.last:
        lines.append(t("alarm.last", locale, k=b.index, term=b.term, terms=terms))
    elif b.ends is PhaseKind.STUDY:
        ends = event.next_phase_ends_ms
        lines.append(
            t(
                "alarm.study_over",
                locale,
                k=b.index,
                term=b.term,
                terms=terms,
                minutes=event.pattern.break_ms // 60_000,
                ends=f"<t:{unix(ends)}:R>" if ends else "—",
            )
        )
    else:
        ends = event.next_phase_ends_ms
        lines.append(
            t(
                "alarm.break_over",
                locale,
                k=b.index,
                term=b.term + 1,
                terms=terms,
                ends=f"<t:{unix(ends)}:R>" if ends else "—",
            )
        )
    if b.skipped:
        lines.append(t("alarm.skipped", locale))
    if event.late:
        lines.append(t("alarm.late", locale, at=f"<t:{unix(b.at_ms)}:R>"))
    lines.append(t("alarm.hint", locale, grace=grace_s, emoji=ALARM_EMOJI))
    if b.ends is PhaseKind.STUDY and not b.last:
        # the board line for the next study period rides on the alarm: one message, not two
        lines.append(t("alarms.board.next_study", locale, term=b.term + 1, terms=terms))
    return "\n".join(lines)


def end_text(bot: AnyStudyOnBot, event: RunFinished, locale: str, vote_s: int) -> str:
    guild_id = event.key.guild_id
    lines = [t("alarms.end.title", locale)]
    if event.kings:
        kings = []
        for user_id in event.kings:
            name = bot.display_name(guild_id, user_id)
            refund = event.refunds.get(user_id)
            kings.append(
                t("alarms.end.king_refund", locale, name=name, points=refund)
                if refund
                else t("alarms.end.king", locale, name=name)
            )
        key = "alarms.end.kings" if len(kings) > 1 else "alarms.end.king_one"
        lines.append("")  # the kings' line, fitted below
    else:
        lines.append(t("alarms.end.no_kings", locale))
    lines.append(t("alarms.end.rate", locale))
    lines.append(
        t(
            "alarms.end.extend",
            locale,
            minutes=max(1, vote_s // 60),
            when=f"<t:{unix(event.vote_until_ms)}:R>",
        )
    )
    if event.kings:
        # a full room of long names would not fit one message: name as many as fit
        room = MESSAGE_MAX - len("\n".join(lines))
        shown = len(kings)
        line = t(key, locale, names=", ".join(kings))
        while len(line) > room and shown > 1:
            shown -= 1
            more = t("alarms.end.kings_more", locale, count=len(kings) - shown)
            line = t(key, locale, names=", ".join([*kings[:shown], more]))
        lines[1] = line
    return "\n".join(lines)


# -- persistent buttons --------------------------------------------------------------------------


class DismissButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"studyon:dismiss:(?P<guild>[0-9]+):(?P<room>[0-9]+):(?P<run>[0-9]+):(?P<k>[0-9]+)",
):
    def __init__(self, guild_id: int, room_id: int, run_id: int, boundary: int, label: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji=ALARM_EMOJI,
                style=discord.ButtonStyle.primary,
                custom_id=f"studyon:dismiss:{guild_id}:{room_id}:{run_id}:{boundary}",
            )
        )
        self.key = RoomKey(guild_id, room_id)
        self.run_id = run_id
        self.boundary = boundary

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> DismissButton:
        label = getattr(item, "label", None) or "Dismiss"
        return cls(
            int(match["guild"]), int(match["room"]), int(match["run"]), int(match["k"]), label
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await guarded(interaction, lambda: self._dismiss(interaction))

    async def _dismiss(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.guild_id != self.key.guild_id:
            raise InvalidTimerAction("run_over")
        bot = studyon(interaction)
        locale = await member_locale(interaction)
        outcome = await bot.services.timers.dismiss(
            self.key,
            self.run_id,
            self.boundary,
            interaction.user.id,
            alarm_shown_ms=created_ms(interaction.message.id) if interaction.message else None,
            dismissed_ms=created_ms(interaction.id),
        )
        if not outcome.recorded:
            await reply(interaction, t("alarm.ack.already", locale, k=self.boundary))
            return
        grace = bot.config.timer.alarm_grace_seconds
        ack = "alarm.ack.on_time" if outcome.on_time else "alarm.ack.late"
        # recorded ⇒ shown: the board entry does not depend on the acknowledgement, and a
        # failed acknowledgement is never answered as if nothing had been recorded
        await _acknowledge(interaction, t(ack, locale, k=self.boundary, grace=grace))
        line = "alarms.board.dismissed" if outcome.on_time else "alarms.board.dismissed_late"
        await board(
            bot, interaction.channel_id, line, name=member_name(interaction), k=self.boundary
        )


async def _acknowledge(interaction: discord.Interaction[Any], text: str) -> None:
    """Tell the member what was recorded; once more if Discord failed the first answer, then
    give up quietly (an expired interaction cannot be answered at all)."""
    for attempt in (1, 2):
        try:
            await reply(interaction, text)
            return
        except discord.HTTPException as error:
            log.warning("could not acknowledge a dismissal (attempt %d): %s", attempt, error)


class RateButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"studyon:rate:(?P<guild>[0-9]+):(?P<room>[0-9]+):(?P<run>[0-9]+):(?P<score>[1-5])",
):
    def __init__(self, guild_id: int, room_id: int, run_id: int, score: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=str(score),
                emoji="⭐" if score == 5 else None,
                style=discord.ButtonStyle.secondary,
                custom_id=f"studyon:rate:{guild_id}:{room_id}:{run_id}:{score}",
                row=0,
            )
        )
        self.guild_id = guild_id
        self.score = score

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> RateButton:
        return cls(int(match["guild"]), int(match["room"]), int(match["run"]), int(match["score"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await guarded(interaction, lambda: self._rate(interaction))

    async def _rate(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.guild_id != self.guild_id:
            raise InvalidTimerAction("run_over")
        bot = studyon(interaction)
        locale = await member_locale(interaction)
        # the rating is of the member's today (their time zone), whichever run asked for it
        rating = await bot.services.todos.rate(self.guild_id, interaction.user.id, self.score)
        stars = "★" * rating.score + "☆" * (5 - rating.score)
        await reply(
            interaction,
            t(
                "alarms.rate.saved",
                locale,
                day=rating.day.isoformat(),
                stars=stars,
                score=rating.score,
            ),
        )


class ExtendButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"studyon:extend:(?P<guild>[0-9]+):(?P<room>[0-9]+):(?P<run>[0-9]+)",
):
    def __init__(self, guild_id: int, room_id: int, run_id: int, label: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji="🔁",
                style=discord.ButtonStyle.success,
                custom_id=f"studyon:extend:{guild_id}:{room_id}:{run_id}",
                row=1,
            )
        )
        self.key = RoomKey(guild_id, room_id)
        self.run_id = run_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ExtendButton:
        label = getattr(item, "label", None) or "Extend"
        return cls(int(match["guild"]), int(match["room"]), int(match["run"]), label)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await guarded(interaction, lambda: self._extend(interaction))

    async def _extend(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.guild_id != self.key.guild_id:
            raise InvalidTimerAction("run_over")
        bot = studyon(interaction)
        timers = bot.services.timers
        current = await timers.status_of(self.key)
        if current is None or current.run_id != self.run_id or not current.finished:
            raise InvalidTimerAction("run_over")  # stopped, closed, or already extended
        view, deferred = await answer_when_slow(
            interaction, timers.extend(self.key.room_id, interaction.user.id)
        )
        text = extend_text(view, member_name(interaction), bot.default_locale)
        if deferred:
            locale = await member_locale(interaction)
            await reply(interaction, t("timer.done", locale))
            await post_text(bot, interaction.channel_id, text)
        else:
            await interaction.response.send_message(text, allowed_mentions=NO_MENTIONS)
        await refresh_card_quietly(bot, self.key.room_id)


def extend_text(view: TimerView, name: str, locale: str) -> str:
    ends = view.state.phase_ends_ms
    return t(
        "alarms.extend.done",
        locale,
        name=name,
        terms=view.pattern.terms,
        study=view.pattern.study_ms // 60_000,
        brk=view.pattern.break_ms // 60_000,
        ends=f"<t:{unix(ends)}:R>" if ends else "—",
    )


DYNAMIC_ITEMS = (DismissButton, RateButton, ExtendButton)


# -- the listener ---------------------------------------------------------------------------------


class ListenerGone(RuntimeError):
    """The cog was unloaded: deliveries stay owed and are made after the bot starts again."""


class Alarms(commands.Cog):
    def __init__(self, bot: AnyStudyOnBot) -> None:
        self.bot = bot
        self._active = False

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
        if room.room.status != "open":
            return None
        return room.room.text_channel_id

    # -- RoomListener ---------------------------------------------------------------------

    async def on_boundary(self, event: BoundaryFired) -> int | None:
        """Post the alarm; when it reached the channel (its message's creation time)."""
        self._require_active()
        bot = self.bot
        store = bot.services.store
        key, k = event.key, event.boundary.index
        posted = await store.alarm_message(key, event.run_id, k)
        if posted is not None:
            return created_ms(posted)  # a retry after a success we did not see
        channel_id = await self._channel_of(key)
        if channel_id is None:
            return None
        locale = bot.default_locale
        text = alarm_text(event, locale, bot.config.timer.alarm_grace_seconds)
        view = discord.ui.View(timeout=None)
        view.add_item(
            DismissButton(key.guild_id, key.room_id, event.run_id, k, t("alarm.button", locale))
        )
        channel = bot.get_partial_messageable(channel_id, guild_id=key.guild_id)
        try:
            # discord.py retries a 5xx or a short 429 itself; what still fails stays owed and
            # the timer service tries again. Discord returns the first message for a repeated
            # nonce (enforce_nonce): a retry after a 5xx that did post does not post twice
            message = await channel.send(
                text,
                view=view,
                allowed_mentions=NO_MENTIONS,
                nonce=f"a{event.run_id}.{k}",
            )
        except (discord.NotFound, discord.Forbidden):
            log.warning("room %s: cannot post alarm #%s in channel %s", key, k, channel_id)
            return None
        await store.put_alarm_message(key, event.run_id, k, message.id)
        try:
            await message.add_reaction(ALARM_EMOJI)
        except (discord.HTTPException, discord.RateLimited):
            log.warning("room %s: could not add the %s reaction", key, ALARM_EMOJI, exc_info=True)
        await refresh_card_quietly(bot, key.room_id)
        return created_ms(message.id)

    async def on_run_finished(self, event: RunFinished) -> None:
        self._require_active()
        bot = self.bot
        store = bot.services.store
        key = event.key
        if await store.results_message(key, event.run_id) is not None:
            return
        channel_id = await self._channel_of(key)
        if channel_id is None:
            return
        locale = bot.default_locale
        text = end_text(bot, event, locale, bot.config.timer.extend_vote_seconds)
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
            message = await channel.send(
                text, view=view, allowed_mentions=NO_MENTIONS, nonce=f"e{event.run_id}"
            )
        except (discord.NotFound, discord.Forbidden):
            log.warning("room %s: cannot announce the end of run %s", key, event.run_id)
            return
        await store.put_results_message(key, event.run_id, message.id)
        await refresh_card_quietly(bot, key.room_id)

    async def on_room_closed(self, event: RoomClosed) -> None:
        return None  # the rooms cog deletes the channels; the store forgot the room

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
        if room is None or room.status != "open":
            return
        key = RoomKey(room.guild_id, room.id)
        alarm = await services.store.alarm_of_message(key, payload.message_id)
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
            line = "alarms.board.dismissed" if outcome.on_time else "alarms.board.dismissed_late"
            name = bot.display_name(payload.guild_id, payload.user_id)
            await board(bot, payload.channel_id, line, name=name, k=k)


async def setup(bot: commands.Bot) -> None:
    from bot.app import ShardedStudyOnBot, StudyOnBot

    assert isinstance(bot, StudyOnBot | ShardedStudyOnBot)
    await bot.add_cog(Alarms(bot))

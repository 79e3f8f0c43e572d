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

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord.ext import commands

from bot.domain.errors import InvalidTimerAction, StudyOnError
from bot.domain.timer import PhaseKind
from bot.i18n import t
from bot.services.events import BoundaryFired, RoomClosed, RunFinished
from bot.services.timer import TimerView
from cogs._board import post_line
from cogs._card import refresh_card
from cogs._common import NO_MENTIONS, member_locale, reply, reply_error, studyon
from storage.session.base import RoomKey

if TYPE_CHECKING:
    from bot.app import AnyStudyOnBot

log = logging.getLogger(__name__)

T = TypeVar("T")

ALARM_EMOJI = "⏰"
# waits between attempts when Discord answers 5xx or 429 (discord.py retries some of these
# itself first; this covers what reaches us). After the last one the delivery stays owed
# and the timer service retries it on a later wake-up.
RETRY_DELAYS_S = (1.0, 2.0)
# a longer wait Discord asks for is left to the service's later retry (not held here)
MAX_WAIT_S = 10.0
# an interaction whose work takes longer than this is deferred (Discord's deadline is 3 s)
SLOW_S = 2.0
SCORES = (1, 2, 3, 4, 5)


def alarm_name(run_id: int, boundary: int) -> str:
    """The session-store name of an alarm's message id."""
    return f"alarm:{run_id}:{boundary}"


def end_name(run_id: int) -> str:
    return f"end:{run_id}"


_ALARM_NAME = re.compile(r"alarm:(?P<run>[0-9]+):(?P<k>[0-9]+)")


def unix(ms: int) -> int:
    return ms // 1000


def minutes_left(ms: int) -> int:
    return max(1, -(-ms // 60_000))


# -- Discord calls that survive 5xx and 429 ----------------------------------------------------


class DiscordBusy(RuntimeError):
    """Discord asked for a longer pause than is worth holding a room for; try later."""


def _retryable_wait(error: discord.HTTPException) -> float | None:
    """Seconds Discord asked us to wait, 0 for a plain server error, None if not retryable."""
    if error.status == 429:
        response = getattr(error, "response", None)
        header = getattr(response, "headers", {}).get("Retry-After") if response else None
        try:
            return float(header) if header is not None else 1.0
        except ValueError:
            return 1.0
    if error.status >= 500:
        return 0.0
    return None


async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """``call()``; again after a pause when Discord answers 5xx or 429, a few times."""
    for delay in RETRY_DELAYS_S:
        try:
            return await call()
        except discord.RateLimited as limited:
            wait = limited.retry_after
        except discord.HTTPException as error:
            asked = _retryable_wait(error)
            if asked is None:
                raise
            wait = asked
            log.warning("Discord answered %s; retrying", error.status)
        if wait > MAX_WAIT_S:
            raise DiscordBusy(f"Discord asks to wait {wait:.0f} s")
        await asyncio.sleep(max(delay, wait))
    return await call()


async def answer_when_slow(
    interaction: discord.Interaction[Any], work: Awaitable[T]
) -> tuple[T, bool]:
    """Run ``work``; if it is still running after ``SLOW_S``, defer the interaction (privately)
    so it is acknowledged in time. Returns the result and whether it deferred."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=SLOW_S)
    if done:
        return task.result(), False
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=True, thinking=True)
    return await task, True


async def guarded(
    interaction: discord.Interaction[Any], work: Callable[[], Awaitable[None]]
) -> None:
    """Run a button's work; a refusal or failure is answered privately, never left hanging."""
    try:
        await work()
    except Exception as error:
        await reply_error(interaction, error)


async def refresh_card_quietly(bot: AnyStudyOnBot, room_id: int) -> None:
    """Refresh the room card; a failure to edit it is logged, not passed on (it is cosmetic
    and refreshed again at the next change)."""
    try:
        await refresh_card(bot, room_id)
    except (discord.HTTPException, StudyOnError):
        log.warning("could not refresh the card of room %s", room_id, exc_info=True)


async def board(bot: AnyStudyOnBot, channel_id: int | None, key: str, **params: Any) -> None:
    """A board line that already happened (a dismissal was recorded): retried on 5xx/429,
    and a final failure is logged rather than reported as if nothing had happened."""
    try:
        await with_retries(lambda: post_line(bot, channel_id, key, **params))
    except (discord.HTTPException, DiscordBusy):
        log.warning("board line %s not posted in channel %s", key, channel_id, exc_info=True)


async def post_text(bot: AnyStudyOnBot, channel_id: int | None, text: str) -> None:
    """Post an already rendered public line in a room channel (mentions disabled)."""
    if channel_id is None:
        return
    try:
        await bot.get_partial_messageable(channel_id).send(text, allowed_mentions=NO_MENTIONS)
    except discord.NotFound:
        log.warning("channel %s is gone; line not posted", channel_id)


def member_name(interaction: discord.Interaction[Any]) -> str:
    return discord.utils.escape_markdown(interaction.user.display_name)


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
        lines.append(t(key, locale, names=", ".join(kings)))
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
            self.key, self.run_id, self.boundary, interaction.user.id
        )
        if not outcome.recorded:
            await reply(interaction, t("alarm.ack.already", locale, k=self.boundary))
            return
        grace = bot.config.timer.alarm_grace_seconds
        ack = "alarm.ack.on_time" if outcome.on_time else "alarm.ack.late"
        await reply(interaction, t(ack, locale, k=self.boundary, grace=grace))
        line = "alarms.board.dismissed" if outcome.on_time else "alarms.board.dismissed_late"
        await board(
            bot, interaction.channel_id, line, name=member_name(interaction), k=self.boundary
        )


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

    async def on_boundary(self, event: BoundaryFired) -> None:
        self._require_active()
        bot = self.bot
        store = bot.services.store
        key, k = event.key, event.boundary.index
        if await store.get_message(key, alarm_name(event.run_id, k)) is not None:
            return  # posted already; this is a retry after a success we did not see
        channel_id = await self._channel_of(key)
        if channel_id is None:
            return
        locale = bot.default_locale
        text = alarm_text(event, locale, bot.config.timer.alarm_grace_seconds)
        view = discord.ui.View(timeout=None)
        view.add_item(
            DismissButton(key.guild_id, key.room_id, event.run_id, k, t("alarm.button", locale))
        )
        channel = bot.get_partial_messageable(channel_id, guild_id=key.guild_id)
        try:
            message = await with_retries(
                lambda: channel.send(
                    text,
                    view=view,
                    allowed_mentions=NO_MENTIONS,
                    # Discord returns the first message for a repeated nonce: a retry after a
                    # 5xx that did create the message does not post it twice
                    nonce=f"a{event.run_id}.{k}",
                )
            )
        except (discord.NotFound, discord.Forbidden):
            log.warning("room %s: cannot post alarm #%s in channel %s", key, k, channel_id)
            return
        await store.set_message(key, alarm_name(event.run_id, k), message.id)
        try:
            await with_retries(lambda: message.add_reaction(ALARM_EMOJI))
        except (discord.HTTPException, DiscordBusy):
            log.warning("room %s: could not add the %s reaction", key, ALARM_EMOJI, exc_info=True)
        await refresh_card_quietly(bot, key.room_id)

    async def on_run_finished(self, event: RunFinished) -> None:
        self._require_active()
        bot = self.bot
        store = bot.services.store
        key = event.key
        if await store.get_message(key, end_name(event.run_id)) is not None:
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
            message = await with_retries(
                lambda: channel.send(
                    text, view=view, allowed_mentions=NO_MENTIONS, nonce=f"e{event.run_id}"
                )
            )
        except (discord.NotFound, discord.Forbidden):
            log.warning("room %s: cannot announce the end of run %s", key, event.run_id)
            return
        await store.set_message(key, end_name(event.run_id), message.id)
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
        found = None
        for name, message_id in (await services.store.get_messages(key)).items():
            if message_id == payload.message_id and (match := _ALARM_NAME.fullmatch(name)):
                found = match
                break
        if found is None:
            return
        if payload.member is not None:
            bot.remember_name(payload.guild_id, payload.member)
        k = int(found["k"])
        try:
            outcome = await services.timers.dismiss(key, int(found["run"]), k, payload.user_id)
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

"""The persistent buttons of alarms and results: ``DynamicItem``s whose ``custom_id`` carries
guild, room, run and boundary (or score), so they work on messages posted before a restart."""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

import discord

from bot.domain.errors import InvalidTimerAction
from bot.domain.run import RoomKey
from bot.i18n import t
from cogs._common import NO_MENTIONS, PersistentButton, member_locale, reply, studyon
from cogs._delivery import (
    answer_when_slow,
    guarded,
    member_name,
    post_text,
    refresh_card_quietly,
)
from cogs.alarms.board import AlarmRef, alarm_boards
from cogs.alarms.text import ALARM_EMOJI, alarm_name, alarm_ref, created_ms, extend_text

log = logging.getLogger(__name__)

SCORES = (1, 2, 3, 4, 5)
ALREADY_ACKNOWLEDGED = 40060  # Discord: "Interaction has already been acknowledged"


def dismiss_id(guild_id: int, room_id: int, run_id: int, boundary: int) -> str:
    """The custom id of an alarm's Dismiss button: it names the alarm, so the alarm's
    message can be told from any other (a retried post finds an unrecorded one by it)."""
    return f"studyon:dismiss:{guild_id}:{room_id}:{run_id}:{boundary}"


def extend_id(guild_id: int, room_id: int, run_id: int) -> str:
    """The custom id of a run's Extend button (on its results, which it names)."""
    return f"studyon:extend:{guild_id}:{room_id}:{run_id}"


class DismissButton(
    PersistentButton,
    template=r"studyon:dismiss:(?P<guild>[0-9]+):(?P<room>[0-9]+):(?P<run>[0-9]+):(?P<k>[0-9]+)",
):
    def __init__(self, guild_id: int, room_id: int, run_id: int, boundary: int, label: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji=ALARM_EMOJI,
                style=discord.ButtonStyle.primary,
                custom_id=dismiss_id(guild_id, room_id, run_id, boundary),
            )
        )
        self.key = RoomKey(guild_id, room_id)
        self.run_id = run_id
        self.boundary = boundary

    @classmethod
    def from_match(cls, match: re.Match[str], label: str) -> DismissButton:
        return cls(
            int(match["guild"]),
            int(match["room"]),
            int(match["run"]),
            int(match["k"]),
            label or "Dismiss",
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
        alarm = alarm_ref(self.boundary, outcome.run_no, locale)
        if not outcome.recorded:
            await reply(interaction, t("alarm.ack.already", locale, alarm=alarm))
            return
        grace = bot.guild_settings(self.key.guild_id).alarm_grace_seconds
        ack = "alarm.ack.on_time" if outcome.on_time else "alarm.ack.late"
        # recorded ⇒ shown: the alarm is updated in the click's response (free against the
        # global limit), and the private confirmation follows it
        if interaction.message is not None and interaction.channel_id is not None:
            ref = AlarmRef(
                self.key,
                self.run_id,
                self.boundary,
                interaction.channel_id,
                interaction.message.id,
                outcome.run_no,
            )
            await alarm_boards(bot).answer_click(interaction, ref)
        # the confirmation names the alarm as its message does ("Run 2 · Alarm #1")
        name = alarm_name(self.boundary, outcome.run_no, locale)
        await _acknowledge(interaction, t(ack, locale, alarm=name, grace=grace))


async def _acknowledge(interaction: discord.Interaction[Any], text: str) -> None:
    """Tell the member what was recorded; once more if Discord failed the first answer, then
    give up quietly (an expired interaction cannot be answered at all)."""
    for attempt in (1, 2):
        try:
            await reply(interaction, text)
            return
        except discord.HTTPException as error:
            if error.code == ALREADY_ACKNOWLEDGED:
                # the update of the alarm failed on our side but reached Discord: follow up
                with contextlib.suppress(discord.HTTPException):
                    await interaction.followup.send(
                        text, ephemeral=True, allowed_mentions=NO_MENTIONS
                    )
                return
            log.warning("could not acknowledge a dismissal (attempt %d): %s", attempt, error)


class RateButton(
    PersistentButton,
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
    def from_match(cls, match: re.Match[str], label: str) -> RateButton:
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
    PersistentButton,
    template=r"studyon:extend:(?P<guild>[0-9]+):(?P<room>[0-9]+):(?P<run>[0-9]+)",
):
    def __init__(self, guild_id: int, room_id: int, run_id: int, label: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji="🔁",
                style=discord.ButtonStyle.success,
                custom_id=extend_id(guild_id, room_id, run_id),
                row=1,
            )
        )
        self.key = RoomKey(guild_id, room_id)
        self.run_id = run_id

    @classmethod
    def from_match(cls, match: re.Match[str], label: str) -> ExtendButton:
        return cls(int(match["guild"]), int(match["room"]), int(match["run"]), label or "Extend")

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
        text = extend_text(view, member_name(interaction), bot.guild_locale(self.key.guild_id))
        if deferred:
            locale = await member_locale(interaction)
            await reply(interaction, t("timer.done", locale))
            await post_text(bot, interaction.channel_id, text)
        else:
            await interaction.response.send_message(text, allowed_mentions=NO_MENTIONS)
        await refresh_card_quietly(bot, self.key.room_id)


DYNAMIC_ITEMS = (DismissButton, RateButton, ExtendButton)

"""``/timer start|pause|resume|skip|break|stop`` (the room owner) and ``/timer status``
(members). ``/timer break`` ends a flowtime room's study period; ``/timer stop`` ends a
count-up run with its results once a check-in has fallen.

The controls work in the room's own text channel. Each is answered with one public line in
that channel ("⏸ **alice** paused the timer: 12 min left in study period 2 of 4"), so everyone
sees who did what, and the pinned card is refreshed. Refusals are private, in the member's
language. ``/timer status`` answers privately with the phase, its end and the next alarm.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.errors import InvalidTimerAction, NotMember
from bot.domain.rooms import RoomInfo
from bot.domain.timer import Mode, PhaseKind, Status
from bot.i18n import ls, t
from bot.services.rooms import key_of
from bot.services.timer import TimerView
from bot.services.timer.scheduled import ScheduledStart
from cogs._common import NO_MENTIONS, PersistentButton, member_locale, reply, studyon
from cogs._delivery import (
    answer_when_slow,
    guarded,
    member_name,
    post_text,
    refresh_card_quietly,
)
from cogs._modes import flow_study, phase_studied_ms
from cogs.alarms import minutes_left, phase_text, unix
from cogs.alarms.text import duration_text, later_run, long_breaks_text, mode_text

if TYPE_CHECKING:
    from bot.app import StudyOnBot


def _phase(view: TimerView, locale: str) -> str | None:
    phase = view.state.phase
    if phase is None:
        return None
    return phase_text(
        phase.kind, phase.term, view.pattern.terms, locale, phase.long, view.pattern.mode
    )


def control_text(action: str, view: TimerView, name: str, locale: str) -> str:
    """The public line for an owner's control."""
    state = view.state
    phase = _phase(view, locale)
    ends = f"<t:{unix(state.phase_ends_ms)}:R>" if state.phase_ends_ms else "—"
    p = view.pattern
    if action == "start":
        if p.mode is Mode.POMODORO:
            text = t(
                "timer.started",
                locale,
                name=name,
                terms=p.terms,
                study=p.study_ms // 60_000,
                brk=p.break_ms // 60_000,
                ends=ends,
            )
        else:
            text = t(f"timer.started.{p.mode.value}", locale, name=name, ends=ends)
            text = f"{text}\n{mode_text(p, locale)}"
        long = long_breaks_text(p, locale)
        return f"{text}\n{long}" if long else text
    if action == "break":
        if phase is None or state.status is not Status.RUNNING:
            return t("timer.break_called_last", locale, name=name)
        return t("timer.break_called", locale, name=name, ends=ends)
    if action == "stop" and view.ended_with_results:
        return t("timer.ended_countup", locale, name=name, checks=len(view.boundaries))
    if flow_study(view) and action in ("pause", "resume", "skip"):
        # a flowtime study period has no fixed end: only its longest, and what was studied
        return t(
            f"timer.flow_{action}",
            locale,
            name=name,
            phase=phase,
            studied=duration_text(phase_studied_ms(view), locale),
            latest=ends,
        )
    if action == "pause":
        return t(
            "timer.paused",
            locale,
            name=name,
            minutes=minutes_left(state.remaining_ms or 0),
            phase=phase,
        )
    if action == "resume":
        return t("timer.resumed", locale, name=name, phase=phase, ends=ends)
    if action == "skip":
        if phase is None or state.status is not Status.RUNNING:
            return t("timer.skipped_last", locale, name=name)
        return t("timer.skipped", locale, name=name, phase=phase, ends=ends)
    return t("timer.stopped", locale, name=name)


def starts_text(at_ms: int) -> tuple[str, str]:
    """A scheduled start as Discord shows it to each reader: the full date and time in their
    own zone, and a live countdown."""
    return f"<t:{unix(at_ms)}:F>", f"<t:{unix(at_ms)}:R>"


def scheduled_text(name: str, start: ScheduledStart, locale: str) -> str:
    when, rel = starts_text(start.starts_at_ms)
    return t("timer.scheduled", locale, name=name, when=when, rel=rel, zone=start.zone)


def status_text(room: RoomInfo, view: TimerView | None, locale: str) -> str:
    lines = [t("timer.status.title", locale, title=discord.utils.escape_markdown(room.title))]
    if view is None and room.starts_at_ms is not None:
        when, rel = starts_text(room.starts_at_ms)
        lines.append(t("timer.status.scheduled", locale, when=when, rel=rel))
        return "\n".join(lines)
    if view is None:
        lines.append(t("timer.status.idle", locale))
        return "\n".join(lines)
    if view.finished:
        when = f"<t:{unix(view.vote_until_ms)}:R>" if view.vote_until_ms else "—"
        lines.append(t("timer.status.finished", locale, when=when))
        return "\n".join(lines)
    state = view.state
    phase = _phase(view, locale)
    lines.append(mode_text(view.pattern, locale))
    in_flow_study = flow_study(view)
    if state.status is Status.PAUSED and in_flow_study:
        lines.append(
            t(
                "timer.status.flow_paused",
                locale,
                phase=phase,
                studied=duration_text(phase_studied_ms(view), locale),
                minutes=minutes_left(state.remaining_ms or 0),
            )
        )
    elif state.status is Status.PAUSED:
        lines.append(
            t(
                "timer.status.paused",
                locale,
                phase=phase,
                minutes=minutes_left(state.remaining_ms or 0),
            )
        )
    elif state.status is Status.RUNNING and state.phase_ends_ms is not None:
        key = (
            "timer.status.study"
            if state.phase is not None and state.phase.kind is PhaseKind.STUDY
            else "timer.status.break"
        )
        if in_flow_study:
            key = "timer.status.flow_study"
        elif view.pattern.mode is Mode.COUNTUP:
            key = "timer.status.countup"
        lines.append(
            t(
                key,
                locale,
                phase=phase,
                ends=f"<t:{unix(state.phase_ends_ms)}:R>",
                at=f"<t:{unix(state.phase_ends_ms)}:t>",
                since=f"<t:{unix(state.phase_started_ms or view.started_ms)}:R>",
                studied=duration_text(view.studied_ms, locale),
            )
        )
    else:  # the last alarm rang; the kings are announced after its grace window
        lines.append(t("timer.status.ending", locale))
    if state.next_boundary is not None:
        # every run numbers its alarms from #1: a later run's says which run it is of
        lines.append(
            t(
                "timer.status.next_alarm_run"
                if later_run(view.run_no)
                else "timer.status.next_alarm",
                locale,
                k=state.next_boundary,
                count=view.pattern.boundary_count,
                run=view.run_no,
            )
        )
    long = long_breaks_text(view.pattern, locale)
    if long:
        lines.append(long)
    return "\n".join(lines)


async def run_control(interaction: discord.Interaction[Any], room_id: int, action: str) -> None:
    """The owner's control ``action`` on the room's timer, answered with its public line in
    the channel (the card refreshed after)."""
    bot = studyon(interaction)
    timers = bot.services.timers
    call = {
        "start": timers.start,
        "pause": timers.pause,
        "resume": timers.resume,
        "skip": timers.skip,
        "break": timers.call_break,
        "stop": timers.stop,
    }[action]
    # skip and break post the alarm of the phase they end: slow when Discord is
    view, deferred = await answer_when_slow(interaction, call(room_id, interaction.user.id))
    text = control_text(
        action, view, member_name(interaction), bot.guild_locale(interaction.guild_id)
    )
    if deferred:
        await reply(interaction, t("timer.done", await member_locale(interaction)))
        await post_text(bot, interaction.channel_id, text)
    else:
        await interaction.response.send_message(text, allowed_mentions=NO_MENTIONS)
    await refresh_card_quietly(bot, room_id)


class BreakButton(
    PersistentButton,
    template=r"studyon:break:(?P<guild>[0-9]+):(?P<room>[0-9]+)",
):
    """The flowtime card's **Break** button: ``/timer break`` in one tap, for the owner."""

    def __init__(self, guild_id: int, room_id: int, label: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji="☕",
                style=discord.ButtonStyle.primary,
                custom_id=f"studyon:break:{guild_id}:{room_id}",
            )
        )
        self.guild_id = guild_id
        self.room_id = room_id

    @classmethod
    def from_match(cls, match: re.Match[str], label: str) -> BreakButton:
        return cls(int(match["guild"]), int(match["room"]), label or "Break")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await guarded(interaction, lambda: self._call_break(interaction))

    async def _call_break(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.guild_id != self.guild_id:
            raise InvalidTimerAction("not_running")
        await run_control(interaction, self.room_id, "break")


def card_view(room: RoomInfo, locale: str) -> discord.ui.View | None:
    """The buttons of the room's card: a flowtime room's has **Break**; others have none.
    A card keeps its buttons for the room's life, so no boundary needs to edit it."""
    if room.mode is not Mode.FLOWTIME:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(BreakButton(room.guild_id, room.id, t("card.break_button", locale)))
    return view


class Timer(commands.Cog):
    timer = app_commands.Group(
        name=ls("cmd.timer"),
        description=ls("cmd.timer.desc"),
        guild_only=True,
    )

    def __init__(self, bot: StudyOnBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(BreakButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(BreakButton)

    async def _room_here(self, interaction: discord.Interaction[Any]) -> RoomInfo:
        """The open room whose text channel this is; refused anywhere else."""
        room = None
        if interaction.channel_id is not None:
            room = await studyon(interaction).services.rooms.by_channel(interaction.channel_id)
        if room is None or not room.is_open:
            raise InvalidTimerAction("wrong_channel")
        return room

    async def _control(self, interaction: discord.Interaction[Any], action: str) -> None:
        room = await self._room_here(interaction)
        await run_control(interaction, room.id, action)

    @timer.command(
        name=ls("cmd.timer.start"),
        description=ls("cmd.timer.start.desc"),
    )
    @app_commands.rename(at=ls("cmd.timer.opt.at"), day=ls("cmd.timer.opt.date"))
    @app_commands.describe(at=ls("cmd.timer.opt.at.desc"), day=ls("cmd.timer.opt.date.desc"))
    async def start(
        self, interaction: discord.Interaction, at: str | None = None, day: str | None = None
    ) -> None:
        if at is None and day is not None:
            raise InvalidTimerAction("date_without_at")
        if at is None:
            await self._control(interaction, "start")
            return
        bot = studyon(interaction)
        room = await self._room_here(interaction)
        start = await bot.services.timers.schedule_start(room.id, interaction.user.id, at, day)
        text = scheduled_text(
            member_name(interaction), start, bot.guild_locale(interaction.guild_id)
        )
        await interaction.response.send_message(text, allowed_mentions=NO_MENTIONS)
        await refresh_card_quietly(bot, room.id)

    @timer.command(
        name=ls("cmd.timer.pause"),
        description=ls("cmd.timer.pause.desc"),
    )
    async def pause(self, interaction: discord.Interaction) -> None:
        await self._control(interaction, "pause")

    @timer.command(
        name=ls("cmd.timer.resume"),
        description=ls("cmd.timer.resume.desc"),
    )
    async def resume(self, interaction: discord.Interaction) -> None:
        await self._control(interaction, "resume")

    @timer.command(
        name=ls("cmd.timer.skip"),
        description=ls("cmd.timer.skip.desc"),
    )
    async def skip(self, interaction: discord.Interaction) -> None:
        await self._control(interaction, "skip")

    @timer.command(
        name=ls("cmd.timer.break"),
        description=ls("cmd.timer.break.desc"),
    )
    async def call_break(self, interaction: discord.Interaction) -> None:
        await self._control(interaction, "break")

    @timer.command(
        name=ls("cmd.timer.stop"),
        description=ls("cmd.timer.stop.desc"),
    )
    async def stop(self, interaction: discord.Interaction) -> None:
        bot = studyon(interaction)
        room = await self._room_here(interaction)
        # a room has a scheduled start or a run, never both: stop cancels whichever it has
        cancelled = await bot.services.timers.cancel_scheduled_start(room.id, interaction.user.id)
        if cancelled is None:
            await self._control(interaction, "stop")
            return
        text = t(
            "timer.unscheduled",
            bot.guild_locale(interaction.guild_id),
            name=member_name(interaction),
        )
        await interaction.response.send_message(text, allowed_mentions=NO_MENTIONS)
        await refresh_card_quietly(bot, room.id)

    @timer.command(
        name=ls("cmd.timer.status"),
        description=ls("cmd.timer.status.desc"),
    )
    async def status(self, interaction: discord.Interaction) -> None:
        bot = studyon(interaction)
        locale = await member_locale(interaction)
        services = bot.services
        try:
            room = await self._room_here(interaction)
        except InvalidTimerAction:
            # elsewhere, a member of exactly one room gets that room's timer
            assert interaction.guild_id is not None
            mine = await services.rooms.rooms_of(interaction.guild_id, interaction.user.id)
            if len(mine) != 1:
                raise
            room = mine[0]
        members = (await services.rooms.get(room.id)).members
        if all(m.user_id != interaction.user.id for m in members):
            raise NotMember()
        view = await services.timers.status_of(key_of(room))
        await reply(interaction, status_text(room, view, locale))


async def setup(bot: commands.Bot) -> None:
    from bot.app import StudyOnBot

    assert isinstance(bot, StudyOnBot)
    await bot.add_cog(Timer(bot))

"""``/timer start|pause|resume|skip|stop`` (the room owner) and ``/timer status`` (members).

The controls work in the room's own text channel. Each is answered with one public line in
that channel ("⏸ **alice** paused the timer: 12 min left in study period 2 of 4"), so everyone
sees who did what, and the pinned card is refreshed. Refusals are private, in the member's
language. ``/timer status`` answers privately with the phase, its end and the next alarm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.errors import InvalidTimerAction, NotMember
from bot.domain.rooms import RoomInfo
from bot.domain.timer import PhaseKind, Status
from bot.i18n import ls, t
from bot.services.rooms import key_of
from bot.services.timer import TimerView
from bot.services.timer.scheduled import ScheduledStart
from cogs._common import NO_MENTIONS, member_locale, reply, studyon
from cogs._delivery import answer_when_slow, member_name, post_text, refresh_card_quietly
from cogs.alarms import minutes_left, phase_text, unix
from cogs.alarms.text import long_breaks_text

if TYPE_CHECKING:
    from bot.app import StudyOnBot


def _phase(view: TimerView, locale: str) -> str | None:
    phase = view.state.phase
    if phase is None:
        return None
    return phase_text(phase.kind, phase.term, view.pattern.terms, locale, phase.long)


def control_text(action: str, view: TimerView, name: str, locale: str) -> str:
    """The public line for an owner's control."""
    state = view.state
    phase = _phase(view, locale)
    ends = f"<t:{unix(state.phase_ends_ms)}:R>" if state.phase_ends_ms else "—"
    p = view.pattern
    if action == "start":
        text = t(
            "timer.started",
            locale,
            name=name,
            terms=p.terms,
            study=p.study_ms // 60_000,
            brk=p.break_ms // 60_000,
            ends=ends,
        )
        long = long_breaks_text(p, locale)
        return f"{text}\n{long}" if long else text
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
    if state.status is Status.PAUSED:
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
        lines.append(
            t(
                key,
                locale,
                phase=phase,
                ends=f"<t:{unix(state.phase_ends_ms)}:R>",
                at=f"<t:{unix(state.phase_ends_ms)}:t>",
            )
        )
    else:  # the last alarm rang; the kings are announced after its grace window
        lines.append(t("timer.status.ending", locale))
    if state.next_boundary is not None:
        lines.append(
            t(
                "timer.status.next_alarm",
                locale,
                k=state.next_boundary,
                count=view.pattern.boundary_count,
            )
        )
    long = long_breaks_text(view.pattern, locale)
    if long:
        lines.append(long)
    return "\n".join(lines)


class Timer(commands.Cog):
    timer = app_commands.Group(
        name=ls("cmd.timer"),
        description=ls("cmd.timer.desc"),
        guild_only=True,
    )

    def __init__(self, bot: StudyOnBot) -> None:
        self.bot = bot

    async def _room_here(self, interaction: discord.Interaction[Any]) -> RoomInfo:
        """The open room whose text channel this is; refused anywhere else."""
        room = None
        if interaction.channel_id is not None:
            room = await studyon(interaction).services.rooms.by_channel(interaction.channel_id)
        if room is None or not room.is_open:
            raise InvalidTimerAction("wrong_channel")
        return room

    async def _control(self, interaction: discord.Interaction[Any], action: str) -> None:
        bot = studyon(interaction)
        room = await self._room_here(interaction)
        timers = bot.services.timers
        call = {
            "start": timers.start,
            "pause": timers.pause,
            "resume": timers.resume,
            "skip": timers.skip,
            "stop": timers.stop,
        }[action]
        # skip posts the alarm of the phase it ends: slow when Discord is
        view, deferred = await answer_when_slow(interaction, call(room.id, interaction.user.id))
        text = control_text(
            action, view, member_name(interaction), bot.guild_locale(interaction.guild_id)
        )
        if deferred:
            await reply(interaction, t("timer.done", await member_locale(interaction)))
            await post_text(bot, interaction.channel_id, text)
        else:
            await interaction.response.send_message(text, allowed_mentions=NO_MENTIONS)
        await refresh_card_quietly(bot, room.id)

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

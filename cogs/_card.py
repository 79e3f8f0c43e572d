"""The pinned room card: title, notice, pattern, members and the run's whole schedule.

Every boundary of the run is on the card as Discord timestamps (``<t:UNIX:t>``, the clock
time in each reader's zone, and ``<t:UNIX:R>``, which every client counts down live), so the
card says nothing that the passage of time changes: it is edited only when something on it
does (a control, a join or leave, the notice, the run's end), never at a phase boundary. A
digest of the last card sent, kept in the session store, makes repeated refreshes free: an
unchanged card costs no request.
"""

from __future__ import annotations

import json
import logging
import zlib
from typing import TYPE_CHECKING

import discord

from bot import pacing
from bot.domain.rooms import RoomInfo, RoomView
from bot.domain.timer import Mode, Pattern, Phase, PhaseKind, Status
from bot.i18n import t
from bot.pacing import Lane, Superseded
from bot.services.rooms import key_of
from bot.services.timer import TimerView
from cogs._common import NO_MENTIONS
from cogs._modes import duration_text, flow_study, mode_text, phase_studied_ms

if TYPE_CHECKING:
    from bot.app import StudyOnBot

log = logging.getLogger(__name__)

MEMBERS_SHOWN = 25
FIELD_VALUE_MAX = 1024  # Discord's limit on an embed field's value
ICONS = {PhaseKind.STUDY: "📖", PhaseKind.BREAK: "☕"}
LONG_BREAK_ICON = "🛋️"


def _icon(phase: Phase) -> str:
    return LONG_BREAK_ICON if phase.long else ICONS[phase.kind]


def _minutes(ms: int) -> int:
    return ms // 60_000


def _minutes_left(ms: int) -> int:
    return max(1, -(-ms // 60_000))


def _clock(ms: int) -> str:
    return f"<t:{ms // 1000}:t>"


def _relative(ms: int) -> str:
    return f"<t:{ms // 1000}:R>"


def phase_name(phase: Phase, terms: int, locale: str, mode: Mode = Mode.POMODORO) -> str:
    """The phase as the card names it (Study 2/4, Break 1/3): n studies, n − 1 breaks; in
    a count-up run, the check-in it counts up to (Check-in 2/12)."""
    if mode is Mode.COUNTUP:
        return t("card.phase.countup", locale, term=phase.term, terms=terms)
    if phase.kind is PhaseKind.STUDY:
        return t("card.phase.study", locale, term=phase.term, terms=terms)
    key = "card.phase.long_break" if phase.long else "card.phase.break"
    return t(key, locale, term=phase.term, terms=terms - 1)


def pattern_text(room: RoomInfo, locale: str) -> str:
    """The room's pattern: study, break, terms and, if it has one, its long break; how a
    flowtime or count-up room's timer runs."""
    if room.mode is not Mode.POMODORO:
        return mode_text(room.pattern, locale)
    text = t(
        "card.pattern.value",
        locale,
        study=_minutes(room.study_ms),
        brk=_minutes(room.break_ms),
        terms=room.terms,
    )
    if room.long_break_ms is not None and room.long_every is not None:
        long = t(
            "card.pattern.long", locale, long=_minutes(room.long_break_ms), every=room.long_every
        )
        text = f"{text}\n{long}"
    return text


def _paused(view: TimerView) -> bool:
    # a paused run's state does not move with time: the phase and what is left are frozen
    return view.state.status is Status.PAUSED and view.state.phase is not None


def _scheduled(view: TimerView) -> bool:
    """Every boundary of the run is known: it runs (or ran) to its end with no pause."""
    bs = view.boundaries
    return len(bs) == view.pattern.boundary_count and bool(bs) and bs[-1].last


def timer_line(view: TimerView | None, locale: str, starts_at_ms: int | None = None) -> str:
    """The summary of the run: never a phase "now", which only time would change. With no
    run, a scheduled start (``starts_at_ms``) in each reader's zone, with a countdown."""
    if view is None and starts_at_ms is not None:
        secs = starts_at_ms // 1000
        return t("card.timer.scheduled", locale, when=f"<t:{secs}:F>", rel=f"<t:{secs}:R>")
    if view is None:
        return t("card.timer.idle", locale)
    if view.finished:
        return t("card.timer.finished", locale)
    if _paused(view):
        state = view.state
        assert state.phase is not None
        if flow_study(view):
            # a flowtime study period has no end to count down to: what was studied
            return t(
                "card.timer.flow_paused",
                locale,
                phase=phase_name(state.phase, view.pattern.terms, locale),
                studied=duration_text(phase_studied_ms(view), locale),
            )
        return t(
            "card.timer.paused",
            locale,
            phase=phase_name(state.phase, view.pattern.terms, locale, view.pattern.mode),
            minutes=_minutes_left(state.remaining_ms or 0),
        )
    if _scheduled(view):
        end = view.boundaries[-1].at_ms
        key = {
            Mode.POMODORO: "card.timer.running",
            Mode.FLOWTIME: "card.timer.flow_running",
            Mode.COUNTUP: "card.timer.countup_running",
        }[view.pattern.mode]
        return t(
            key,
            locale,
            start=_clock(view.started_ms),
            end=_clock(end),
            end_rel=_relative(end),
        )
    return t("card.timer.finished", locale)  # stopped: the run is gone from the card next


def schedule_lines(view: TimerView | None, locale: str) -> list[str]:
    """One line per phase of the run, in order, from what the events fixed: the boundaries
    known, and while paused the phase paused and the length of each phase after it."""
    if view is None or view.finished:
        return []
    pattern = view.pattern
    terms = pattern.terms
    mode = pattern.mode
    lines: list[str] = []
    start = view.started_ms
    flow = mode is Mode.FLOWTIME
    for b in view.boundaries:
        phase = pattern.phase(b.index)
        if flow and b.at_ms > view.fixed_until_ms:
            # flowtime: no boundary after the owner's last control is fixed yet; the study
            # period after it runs until the break is called, and the rest is counted only
            lines.extend(_flow_rest(view, b.index, start, locale))
            return lines
        lines.append(
            t(
                "card.schedule.skipped" if b.skipped else "card.schedule.line",
                locale,
                icon=_icon(phase),
                phase=phase_name(phase, terms, locale, mode),
                start=_clock(start),
                end=_clock(b.at_ms),
                end_rel=_relative(b.at_ms),
            )
        )
        start = b.at_ms
    if _scheduled(view):
        return lines
    if not _paused(view):
        return []  # stopped
    state = view.state
    assert state.phase is not None
    lines.append(
        t(
            "card.schedule.flow_paused" if flow_study(view) else "card.schedule.paused",
            locale,
            phase=phase_name(state.phase, terms, locale, mode),
            start=_clock(state.phase_started_ms or start),
            minutes=_minutes_left(state.remaining_ms or 0),
            studied=duration_text(phase_studied_ms(view), locale),
        )
    )
    if flow:
        rest = _studies_after(pattern, state.phase.index)
        if rest:
            lines.append(t("card.schedule.flow_rest", locale, count=rest))
        return lines
    for index in range(state.phase.index + 1, pattern.boundary_count + 1):
        phase = pattern.phase(index)
        lines.append(
            t(
                "card.schedule.later",
                locale,
                icon=_icon(phase),
                phase=phase_name(phase, terms, locale, mode),
                minutes=_minutes(phase.nominal_ms),
            )
        )
    return lines


def _studies_after(pattern: Pattern, index: int) -> int:
    """How many study periods come after phase ``index``."""
    return sum(
        1
        for j in range(index + 1, pattern.boundary_count + 1)
        if pattern.phase(j).kind is PhaseKind.STUDY
    )


def _flow_rest(view: TimerView, index: int, start: int, locale: str) -> list[str]:
    """A flowtime run's schedule from phase ``index`` on, which began at ``start``: a break
    (its end is fixed by the study before it), then the study period that runs until the
    owner calls the break, at the latest its longest; then how many more there are."""
    pattern = view.pattern
    bounds = view.boundaries
    lines: list[str] = []
    phase = pattern.phase(index)
    if phase.kind is PhaseKind.BREAK:
        end = bounds[index - 1].at_ms
        lines.append(
            t(
                "card.schedule.line",
                locale,
                icon=_icon(phase),
                phase=phase_name(phase, pattern.terms, locale),
                start=_clock(start),
                end=_clock(end),
                end_rel=_relative(end),
            )
        )
        start, index = end, index + 1
        phase = pattern.phase(index)
    latest = bounds[index - 1].at_ms
    lines.append(
        t(
            "card.schedule.flow_study",
            locale,
            icon=_icon(phase),
            phase=phase_name(phase, pattern.terms, locale),
            start=_clock(start),
            latest=_clock(latest),
        )
    )
    rest = _studies_after(pattern, index)
    if rest:
        lines.append(t("card.schedule.flow_rest", locale, count=rest))
    return lines


def _chunks(lines: list[str], limit: int = FIELD_VALUE_MAX) -> list[str]:
    """The lines joined into as few values of at most ``limit`` characters as they fit."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        extra = len(line) + (1 if current else 0)
        if current and size + extra > limit:
            out.append("\n".join(current))
            current, size = [], 0
            extra = len(line)
        current.append(line)
        size += extra
    if current:
        out.append("\n".join(current))
    return out


def render_card(room: RoomView, timer: TimerView | None, locale: str) -> discord.Embed:
    r = room.room
    embed = discord.Embed(
        title=r.title, description=r.notice or None, colour=discord.Colour.blurple()
    )
    embed.add_field(
        name=t("card.pattern", locale),
        value=pattern_text(r, locale),
        inline=True,
    )
    embed.add_field(name=t("card.owner", locale), value=f"<@{r.owner_id}>", inline=True)
    if r.tags:
        embed.add_field(
            name=t("card.tags", locale), value=" ".join(f"`#{tag}`" for tag in r.tags), inline=True
        )
    focus = t("card.focus.on" if r.focus else "card.focus.off", locale)
    embed.add_field(name=t("card.focus", locale), value=focus, inline=True)
    members = [f"<@{m.user_id}>" for m in room.members[:MEMBERS_SHOWN]]
    embed.add_field(
        name=t("card.members", locale, count=len(room.members), capacity=r.capacity),
        value=" ".join(members) or "—",
        inline=False,
    )
    embed.add_field(
        name=t("card.timer", locale), value=timer_line(timer, locale, r.starts_at_ms), inline=False
    )
    parts = _chunks(schedule_lines(timer, locale))
    for part, value in enumerate(parts, start=1):
        name = (
            t("card.schedule", locale)
            if len(parts) == 1
            else t("card.schedule.part", locale, part=part, parts=len(parts))
        )
        embed.add_field(name=name, value=value, inline=False)
    return embed


def digest(embed: discord.Embed) -> int:
    return zlib.crc32(json.dumps(embed.to_dict(), sort_keys=True).encode())


async def refresh_card(bot: StudyOnBot, room_id: int, *, force: bool = False) -> bool:
    """Edit the room's pinned card if what it shows changed. True when it was edited."""
    services = bot.services
    room = await services.rooms.get(room_id)
    r = room.room
    if not r.is_open or r.text_channel_id is None or r.card_message_id is None:
        return False
    key = key_of(r)
    timer = await services.timers.status_of(key)
    embed = render_card(room, timer, bot.guild_locale(r.guild_id))
    new = digest(embed)
    if not force and await services.posted.card_digest(key) == new:
        return False
    message = bot.get_partial_messageable(r.text_channel_id).get_partial_message(r.card_message_id)
    try:
        # a card edit still waiting for its turn is replaced by a newer one of the same card
        with pacing.lane(Lane.CARD, replaces=f"card:{r.card_message_id}"):
            await message.edit(embed=embed, allowed_mentions=NO_MENTIONS)
    except Superseded:
        return False  # the newer edit shows more recent content and records its digest
    except discord.NotFound:
        log.warning("card of room %s is gone", room_id)
        return False
    await services.posted.record_card_digest(key, new)
    return True

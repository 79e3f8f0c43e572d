"""What the alarm, results and extension messages say.

Each run of a room numbers its alarms from #1, so after an Extend a channel would show two
"Alarm #1". The room's first run keeps the plain names; every later run's alarm says which run
it belongs to ("Run 2 · Alarm #1"), in the alarm, its confirmation and its board, from the
run's number in the room as SQL stored it (the same for every member, across restarts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.domain.timer import Mode, Pattern, PhaseKind
from bot.i18n import t
from bot.services.events import BoundaryFired, RunFinished
from bot.services.timer import TimerView
from cogs._common import MESSAGE_MAX
from cogs._modes import duration_text as duration_text
from cogs._modes import mode_text as mode_text

if TYPE_CHECKING:
    from bot.app import StudyOnBot

ALARM_EMOJI = "⏰"
DISCORD_EPOCH_MS = discord.utils.DISCORD_EPOCH


def created_ms(message_id: int) -> int:
    """When Discord created the message with this id (a snowflake), in epoch ms."""
    return (message_id >> 22) + DISCORD_EPOCH_MS


def unix(ms: int) -> int:
    return ms // 1000


def minutes_left(ms: int) -> int:
    return max(1, -(-ms // 60_000))


def phase_text(
    kind: PhaseKind,
    term: int,
    terms: int,
    locale: str,
    long: bool = False,
    mode: Mode = Mode.POMODORO,
) -> str:
    if mode is Mode.COUNTUP:
        key = "timer.phase.countup"  # ``term``: the check-in it is counting up to
    elif kind is PhaseKind.STUDY:
        key = "timer.phase.study"
    else:
        key = "timer.phase.long_break" if long else "timer.phase.break"
    return t(key, locale, term=term, terms=terms)


def later_run(run_no: int | None) -> bool:
    """Whether alarms of this run say which run they belong to: every run after the first."""
    return run_no is not None and run_no > 1


def alarm_name(k: int, run_no: int | None, locale: str) -> str:
    """The alarm as its message titles it: "Alarm #3", or "Run 2 · Alarm #3"."""
    if later_run(run_no):
        return t("alarm.name.run", locale, k=k, run=run_no)
    return t("alarm.name", locale, k=k)


def alarm_ref(k: int, run_no: int | None, locale: str) -> str:
    """The alarm inside a sentence: "alarm #3", or "alarm #3 of run 2"."""
    if later_run(run_no):
        return t("alarm.ref.run", locale, k=k, run=run_no)
    return t("alarm.ref", locale, k=k)


def long_breaks_text(pattern: Pattern, locale: str) -> str | None:
    """The pattern's long break in a sentence, if it has one."""
    if pattern.long_break_ms is None or pattern.long_every is None:
        return None
    return t(
        "timer.long_breaks",
        locale,
        every=pattern.long_every,
        long=pattern.long_break_ms // 60_000,
    )


def _mode_alarm_line(event: BoundaryFired, name: str, locale: str) -> str | None:
    """The first line of a flowtime or count-up alarm (None: a pomodoro alarm's)."""
    b, pattern = event.boundary, event.pattern
    ends = f"<t:{unix(event.next_phase_ends_ms)}:R>" if event.next_phase_ends_ms else "—"
    if pattern.mode is Mode.COUNTUP:
        key = "alarm.check_in_last" if b.last else "alarm.check_in"
        return t(
            key,
            locale,
            alarm=name,
            k=b.index,
            count=pattern.terms,
            studied=duration_text(event.studied_ms, locale),
            next=ends,
        )
    if pattern.mode is not Mode.FLOWTIME or b.last:
        return None
    if b.ends is PhaseKind.STUDY:
        # the break's length is the pattern's share of the study just done; its end, the
        # timer's (a pause since the boundary moves it), else that length after the boundary
        brk = pattern.flow_break_after(event.phase_studied_ms)
        until = event.next_phase_ends_ms or b.at_ms + brk
        return t(
            # the owner called it, or the study period ran to its longest
            "alarm.flow_study_over" if b.called else "alarm.flow_study_longest",
            locale,
            alarm=name,
            studied=duration_text(event.phase_studied_ms, locale),
            term=b.term,
            terms=pattern.terms,
            minutes=max(1, (brk + 30_000) // 60_000),  # to the nearest whole minute
            until=f"<t:{unix(until)}:t>",
        )
    return t(
        "alarm.flow_break_over",
        locale,
        alarm=name,
        term=b.term + 1,
        terms=pattern.terms,
        latest=f"<t:{unix(event.next_phase_ends_ms)}:t>" if event.next_phase_ends_ms else "—",
    )


def alarm_text(event: BoundaryFired, locale: str, grace_s: int) -> str:
    b = event.boundary
    terms = event.pattern.terms
    name = alarm_name(b.index, event.run_no, locale)
    lines: list[str] = []
    moded = _mode_alarm_line(event, name, locale)
    if moded is not None:
        lines.append(moded)
    elif b.last:
        lines.append(t("alarm.last", locale, alarm=name, term=b.term, terms=terms))
    elif b.ends is PhaseKind.STUDY:
        ends = event.next_phase_ends_ms
        long = event.pattern.is_long_break(b.term)
        lines.append(
            t(
                "alarm.study_over_long" if long else "alarm.study_over",
                locale,
                alarm=name,
                term=b.term,
                terms=terms,
                minutes=event.pattern.break_after(b.term) // 60_000,
                ends=f"<t:{unix(ends)}:R>" if ends else "—",
            )
        )
    else:
        ends = event.next_phase_ends_ms
        long = event.pattern.is_long_break(b.term)
        lines.append(
            t(
                "alarm.long_break_over" if long else "alarm.break_over",
                locale,
                alarm=name,
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
    if b.ends is PhaseKind.STUDY and not b.last and event.pattern.mode is not Mode.COUNTUP:
        # the board line for the next study period rides on the alarm: one message, not two
        lines.append(t("alarms.board.next_study", locale, term=b.term + 1, terms=terms))
    return "\n".join(lines)


def end_text(bot: StudyOnBot, event: RunFinished, locale: str, vote_s: int) -> str:
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


def extend_text(view: TimerView, name: str, locale: str) -> str:
    ends = view.state.phase_ends_ms
    if view.pattern.mode is not Mode.POMODORO:
        first = t(
            f"alarms.extend.done_{view.pattern.mode.value}",
            locale,
            name=name,
            ends=f"<t:{unix(ends)}:R>" if ends else "—",
        )
        return f"{first}\n{mode_text(view.pattern, locale)}"
    text = t(
        "alarms.extend.done",
        locale,
        name=name,
        terms=view.pattern.terms,
        study=view.pattern.study_ms // 60_000,
        brk=view.pattern.break_ms // 60_000,
        ends=f"<t:{unix(ends)}:R>" if ends else "—",
    )
    long = long_breaks_text(view.pattern, locale)
    return f"{text}\n{long}" if long else text

"""What the alarm, results and extension messages say."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.domain.timer import PhaseKind
from bot.i18n import t
from bot.services.events import BoundaryFired, RunFinished
from bot.services.timer import TimerView
from cogs._common import MESSAGE_MAX

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
    return t(
        "alarms.extend.done",
        locale,
        name=name,
        terms=view.pattern.terms,
        study=view.pattern.study_ms // 60_000,
        brk=view.pattern.break_ms // 60_000,
        ends=f"<t:{unix(ends)}:R>" if ends else "—",
    )

"""How a room's mode reads: the one-sentence summary of its timer and lengths of time, shared
by the card, the alarms and ``/timer``."""

from __future__ import annotations

from bot.domain.timer import Mode, Pattern, PhaseKind
from bot.i18n import t
from bot.services.timer import TimerView


def flow_study(view: TimerView) -> bool:
    """Whether the run is in a flowtime study period (running or paused): one with no fixed
    end, which lasts until the owner calls the break, at most the pattern's longest."""
    phase = view.state.phase
    return (
        view.pattern.mode is Mode.FLOWTIME and phase is not None and phase.kind is PhaseKind.STUDY
    )


def phase_studied_ms(view: TimerView) -> int:
    """How long the current phase has been studied, pauses left out: its longest less what
    is left of it."""
    state = view.state
    if state.phase is None or state.remaining_ms is None:
        return 0
    return max(0, state.phase.nominal_ms - state.remaining_ms)


def duration_text(ms: int, locale: str) -> str:
    """A length of time as the profile shows it: "1h 25m" or "40m"."""
    hours, minutes = divmod(max(0, ms) // 60_000, 60)
    if hours:
        return t("study.duration.hm", locale, h=hours, m=minutes)
    return t("study.duration.m", locale, m=minutes)


def mode_text(pattern: Pattern, locale: str) -> str:
    """How the room's timer runs, in one sentence."""
    if pattern.mode is Mode.FLOWTIME:
        return t(
            "timer.mode.flowtime",
            locale,
            terms=pattern.terms,
            longest=pattern.study_ms // 60_000,
            share=pattern.break_share,
        )
    if pattern.mode is Mode.COUNTUP:
        every = pattern.study_ms
        return t(
            "timer.mode.countup",
            locale,
            every=every // 60_000,
            checks=pattern.terms,
            longest=duration_text(every * pattern.terms, locale),
        )
    return t(
        "timer.mode.pomodoro",
        locale,
        terms=pattern.terms,
        study=pattern.study_ms // 60_000,
        brk=pattern.break_ms // 60_000,
    )

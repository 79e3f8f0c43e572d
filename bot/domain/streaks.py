"""Streaks: how many days in a row a member kept at it.

A day *counts* when the member ticked at least one todo that day or studied at least
``STREAK_STUDY_MS``: either shows they worked, and a few minutes in voice do not. Days are
the member's own (``bot.domain.todos.day_bounds_ms`` in their time zone), so study across
their midnight is split between the two days it touches.

The current streak is the run of counting days ending today — or ending yesterday while
today does not count yet, so a streak is not shown broken in the morning before the member
has done anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.domain.study import Span, clip, total
from bot.domain.todos import day_bounds_ms

STREAK_STUDY_MS = 25 * 60_000

DayValue = int | bool  # True: a todo was ticked; else the ms studied that day


def counts(value: DayValue | None) -> bool:
    """Whether a day's value keeps a streak going (None: nothing happened that day)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    return value >= STREAK_STUDY_MS


def day_values(
    done: Mapping[date, int], spans: Iterable[Span], zone: ZoneInfo, first: date, last: date
) -> dict[date, DayValue]:
    """Per day of ``[first, last]``: True if a todo was ticked (``done`` counts the ticked
    todos per day), else the ms of ``spans`` that fall in the day in ``zone``. Days with
    neither are left out."""
    studied_spans = list(spans)
    out: dict[date, DayValue] = {}
    day = first
    while day <= last:
        if done.get(day, 0) > 0:
            out[day] = True
        else:
            lo, hi = day_bounds_ms(day, zone)
            studied = total(clip(studied_spans, lo, hi))
            if studied:
                out[day] = studied
        day += timedelta(days=1)
    return out


def with_live_today(
    values: Mapping[date, DayValue], today: date, live_ms: int
) -> dict[date, DayValue]:
    """``values`` with today's study still being counted (a member in voice right now, not
    yet written) added to today's: a member studying now sees their streak grow now."""
    out = dict(values)
    if live_ms and out.get(today) is not True:
        out[today] = int(out.get(today, 0)) + live_ms
    return out


def count_back(
    values: Mapping[date, DayValue], first: date, last: date, today: date
) -> tuple[int, bool]:
    """Walk from ``last`` back to ``first``: how many consecutive days count, and whether a
    day that does not count ended the streak (False: every day counted, look further back).
    Today does not end a streak: it may still come."""
    streak = 0
    day = last
    while day >= first:
        if not counts(values.get(day)):
            if day == today:
                day -= timedelta(days=1)
                continue
            return streak, True
        streak += 1
        day -= timedelta(days=1)
    return streak, False

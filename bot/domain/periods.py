"""Periods of a member's calendar as instants: a day, a week, a month, all time.

Rankings and profiles count study time per period, and a period is the member's own: it
starts at a local midnight of their time zone, so "today" ends when their day ends, not
UTC's. Weeks start on Monday. A period is half-open, ``[start, end)``, and built from day
starts (``bot.domain.todos.day_bounds_ms``), so consecutive periods tile time with no gap or
overlap even across a DST change, where a day lasts 23 or 25 hours.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.todos import day_bounds_ms, day_of

FOREVER_MS = 2**53  # "all time" ends far in the future (and fits every integer column)


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    ALL = "all"


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def days_in_month(year: int, month: int) -> int:
    """How many days the month has (28 to 31)."""
    return calendar.monthrange(year, month)[1]


def last_day(year: int, month: int) -> date:
    """The month's last day."""
    return date(year, month, days_in_month(year, month))


def next_month_start(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return last_day(day.year, day.month) + timedelta(days=1)


def days_bounds(first: date, after: date, zone: ZoneInfo) -> tuple[int, int]:
    """The instants ``[start of first, start of after)`` in ``zone``: the days ``first`` up to,
    not including, ``after``."""
    return day_bounds_ms(first, zone)[0], day_bounds_ms(after, zone)[0]


def period_days(period: Period, today: date) -> tuple[date, date]:
    """The days ``[first, after)`` of the day, week or month holding ``today``."""
    if period is Period.DAY:
        return today, today + timedelta(days=1)
    if period is Period.WEEK:
        first = week_start(today)
        return first, first + timedelta(days=7)
    if period is Period.MONTH:
        return month_start(today), next_month_start(today)
    raise ValueError("all time is not made of days")


def period_bounds(period: Period, now_ms: int, zone: ZoneInfo) -> tuple[int, int]:
    """The instants ``[start, end)`` of the period containing ``now_ms`` in ``zone``; all time
    is ``[0, FOREVER_MS)``."""
    if period is Period.ALL:
        return 0, FOREVER_MS
    return days_bounds(*period_days(period, day_of(now_ms, zone)), zone)

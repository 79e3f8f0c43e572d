"""Periods as instants in a member's time zone, and ranks in a ranking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.periods import (
    FOREVER_MS,
    Period,
    days_bounds,
    days_in_month,
    last_day,
    month_start,
    next_month_start,
    period_bounds,
    period_days,
    week_start,
)
from bot.domain.rankings import Place, ranked
from bot.domain.todos import day_bounds_ms, day_of

HOUR = 3600 * 1000
NEW_YORK = ZoneInfo("America/New_York")
SEOUL = ZoneInfo("Asia/Seoul")
ZONES = [
    "UTC",
    "Asia/Seoul",
    "America/New_York",
    "Europe/London",
    "America/Santiago",  # DST changes at midnight
    "Australia/Lord_Howe",  # a half-hour DST change
    "Asia/Kathmandu",
    "Pacific/Kiritimati",
]
DAYS = [Period.DAY, Period.WEEK, Period.MONTH]


def ms(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


instants = st.integers(ms(datetime(2000, 1, 1, tzinfo=UTC)), ms(datetime(2040, 1, 1, tzinfo=UTC)))
zones = st.sampled_from(ZONES).map(ZoneInfo)


# -- examples ---------------------------------------------------------------------------------


def test_a_day_is_the_members_own() -> None:
    now = ms(datetime(2026, 1, 1, 16, 0, tzinfo=UTC))  # already Jan 2, 01:00 in Seoul
    assert period_bounds(Period.DAY, now, SEOUL) == (
        ms(datetime(2026, 1, 1, 15, tzinfo=UTC)),
        ms(datetime(2026, 1, 2, 15, tzinfo=UTC)),
    )
    assert period_bounds(Period.DAY, now, ZoneInfo("UTC")) == (
        ms(datetime(2026, 1, 1, tzinfo=UTC)),
        ms(datetime(2026, 1, 2, tzinfo=UTC)),
    )


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    wednesday = date(2026, 3, 4)
    assert week_start(wednesday) == date(2026, 3, 2)
    assert week_start(date(2026, 3, 2)) == date(2026, 3, 2)
    assert week_start(date(2026, 3, 8)) == date(2026, 3, 2)  # Sunday ends the week
    assert period_days(Period.WEEK, wednesday) == (date(2026, 3, 2), date(2026, 3, 9))
    assert period_days(Period.MONTH, wednesday) == (date(2026, 3, 1), date(2026, 4, 1))
    assert period_days(Period.MONTH, date(2026, 12, 31)) == (date(2026, 12, 1), date(2027, 1, 1))
    assert period_days(Period.DAY, wednesday) == (wednesday, date(2026, 3, 5))
    with pytest.raises(ValueError):
        period_days(Period.ALL, wednesday)


def test_month_lengths() -> None:
    assert days_in_month(2026, 2) == 28
    assert days_in_month(2024, 2) == 29
    assert days_in_month(2026, 3) == 31
    assert last_day(2026, 4) == date(2026, 4, 30)
    assert month_start(date(2026, 4, 17)) == date(2026, 4, 1)
    assert next_month_start(date(2026, 1, 31)) == date(2026, 2, 1)


def test_all_time() -> None:
    assert period_bounds(Period.ALL, 123, SEOUL) == (0, FOREVER_MS)


def test_a_week_across_the_spring_change_lasts_an_hour_less() -> None:
    # New York moves its clocks forward on Sunday 2026-03-08
    now = ms(datetime(2026, 3, 5, 12, tzinfo=UTC))
    start, end = period_bounds(Period.WEEK, now, NEW_YORK)
    assert end - start == 7 * 24 * HOUR - HOUR
    assert (start, end) == days_bounds(date(2026, 3, 2), date(2026, 3, 9), NEW_YORK)
    day = period_bounds(Period.DAY, ms(datetime(2026, 3, 8, 12, tzinfo=UTC)), NEW_YORK)
    assert day[1] - day[0] == 23 * HOUR


def test_ties_share_the_best_rank() -> None:
    assert [p.rank for p in ranked([(1, 9), (2, 7), (3, 7), (4, 5)])] == [1, 2, 2, 4]
    assert ranked([(5, 3)]) == [Place(1, 5, 3)]
    assert ranked([]) == []


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(instants, zones, st.sampled_from(DAYS))
def test_a_period_contains_its_instant_and_starts_at_a_local_midnight(
    now: int, zone: ZoneInfo, period: Period
) -> None:
    start, end = period_bounds(period, now, zone)
    assert start <= now < end
    first, after = period_days(period, day_of(now, zone))
    assert day_of(start, zone) == first
    assert day_of(end, zone) == after
    assert day_of(end - 1, zone) == after - timedelta(days=1)
    if period is Period.WEEK:
        assert first.weekday() == 0 and (after - first).days == 7
    if period is Period.MONTH:
        assert first.day == 1 and after.day == 1
        assert (after - first).days == days_in_month(first.year, first.month)


@settings(max_examples=300, deadline=None)
@given(instants, zones, st.sampled_from(DAYS))
def test_periods_are_contiguous(now: int, zone: ZoneInfo, period: Period) -> None:
    """The next period starts where this one ends and the previous one ends where it
    starts, across DST changes too: no instant is counted in two periods or in none."""
    start, end = period_bounds(period, now, zone)
    assert period_bounds(period, end, zone)[0] == end
    assert period_bounds(period, start - 1, zone)[1] == start
    assert period_bounds(period, end - 1, zone) == (start, end)


@settings(max_examples=300, deadline=None)
@given(instants, zones, st.sampled_from(DAYS))
def test_a_period_is_its_days_end_to_end(now: int, zone: ZoneInfo, period: Period) -> None:
    start, end = period_bounds(period, now, zone)
    first, after = period_days(period, day_of(now, zone))
    days = [first + timedelta(days=i) for i in range((after - first).days)]
    bounds = [day_bounds_ms(d, zone) for d in days]
    assert bounds[0][0] == start and bounds[-1][1] == end
    assert all(a[1] == b[0] for a, b in pairwise(bounds))
    # a day lasts 24 hours give or take a DST change (at most an hour either way here)
    assert all(23 * HOUR <= e - s <= 25 * HOUR for s, e in bounds)


@given(st.dates(date(1900, 1, 1), date(2200, 12, 31)))
def test_month_arithmetic_agrees_with_itself(day: date) -> None:
    first = month_start(day)
    after = next_month_start(day)
    assert first <= day < after
    assert after == last_day(day.year, day.month) + timedelta(days=1)
    assert (after - first).days == days_in_month(day.year, day.month)
    assert after == (first + timedelta(days=32)).replace(day=1)


@given(st.lists(st.integers(0, 5), max_size=30))
def test_ranks_are_one_based_ordered_and_shared_only_by_ties(values: list[int]) -> None:
    rows = [(user, v) for user, v in enumerate(sorted(values, reverse=True))]
    places = ranked(rows)
    assert [(p.user_id, p.value) for p in places] == rows
    for i, place in enumerate(places):
        # a rank is one more than how many did strictly better
        assert place.rank == 1 + sum(1 for p in places if p.value > place.value)
        assert place.rank <= i + 1

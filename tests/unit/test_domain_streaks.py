"""Streak rules: which days count, live study today, and walking back from today."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.periods import days_bounds
from bot.domain.streaks import (
    STREAK_STUDY_MS,
    DayValue,
    count_back,
    counts,
    day_values,
    with_live_today,
)
from bot.domain.study import Span, clip, total

TODAY = date(2026, 3, 10)
HOUR = 3600 * 1000
UTC_Z = ZoneInfo("UTC")


def ms(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def days_back(n: int) -> date:
    return TODAY - timedelta(days=n)


# -- examples ---------------------------------------------------------------------------------


def test_what_counts() -> None:
    assert STREAK_STUDY_MS == 25 * 60_000
    assert counts(True)
    assert not counts(False)
    assert not counts(None)
    assert counts(STREAK_STUDY_MS)
    assert not counts(STREAK_STUDY_MS - 1)


def test_today_may_still_come() -> None:
    yesterday, before = days_back(1), days_back(2)
    values: dict[date, DayValue] = {yesterday: True, before: STREAK_STUDY_MS}
    assert count_back(values, days_back(9), TODAY, TODAY) == (2, True)
    assert count_back({**values, TODAY: True}, days_back(9), TODAY, TODAY) == (3, True)
    # yesterday missing: the streak is over even though the day before counted
    assert count_back({before: True}, days_back(9), TODAY, TODAY) == (0, True)
    # every day of the chunk counted: look further back
    assert count_back({yesterday: True}, yesterday, TODAY, TODAY) == (1, False)


def test_day_values() -> None:
    first, last = date(2026, 3, 1), date(2026, 3, 3)
    spans: list[Span] = [
        (ms(datetime(2026, 3, 1, 23, tzinfo=UTC)), ms(datetime(2026, 3, 2, 1, tzinfo=UTC))),
    ]
    values = day_values({date(2026, 3, 2): 1}, spans, UTC_Z, first, last)
    # study across midnight is split; a ticked todo makes the day count whatever was studied
    assert values == {date(2026, 3, 1): HOUR, date(2026, 3, 2): True}
    assert day_values({date(2026, 3, 3): 0}, [], UTC_Z, first, last) == {}


def test_live_study_today() -> None:
    assert with_live_today({}, TODAY, 0) == {}
    assert with_live_today({}, TODAY, 5) == {TODAY: 5}
    assert with_live_today({TODAY: 20}, TODAY, 5) == {TODAY: 25}
    assert with_live_today({TODAY: True}, TODAY, 5) == {TODAY: True}
    values: dict[date, DayValue] = {days_back(1): 7}
    assert with_live_today(values, TODAY, 5) == {days_back(1): 7, TODAY: 5}
    assert values == {days_back(1): 7}  # the input is left as it was


# -- properties -------------------------------------------------------------------------------

day_value = st.one_of(st.booleans(), st.integers(0, 2 * STREAK_STUDY_MS))
histories = st.dictionaries(st.integers(0, 200).map(days_back), day_value, max_size=200)


def reference_streak(values: dict[date, DayValue]) -> int:
    """The definition: counting days in a row ending today, or yesterday if today does not
    count yet."""
    day = TODAY if counts(values.get(TODAY)) else days_back(1)
    streak = 0
    while counts(values.get(day)):
        streak += 1
        day -= timedelta(days=1)
    return streak


def walk(values: dict[date, DayValue], chunk: int) -> int:
    """The service's walk: chunks of ``chunk`` days, newest first."""
    streak, last = 0, TODAY
    while True:
        first = last - timedelta(days=chunk - 1)
        part = {d: v for d, v in values.items() if first <= d <= last}
        counted, broken = count_back(part, first, last, TODAY)
        streak += counted
        if broken:
            return streak
        last = first - timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(histories, st.integers(1, 70))
def test_walking_back_in_chunks_finds_the_streak(values: dict[date, DayValue], chunk: int) -> None:
    assert walk(values, chunk) == reference_streak(values)


@settings(max_examples=200, deadline=None)
@given(histories, st.integers(0, 3 * STREAK_STUDY_MS))
def test_live_study_only_ever_helps_today(values: dict[date, DayValue], live: int) -> None:
    live_values = with_live_today(values, TODAY, live)
    assert {d: v for d, v in live_values.items() if d != TODAY} == {
        d: v for d, v in values.items() if d != TODAY
    }
    assert counts(live_values.get(TODAY)) >= counts(values.get(TODAY))
    assert reference_streak(live_values) >= reference_streak(values)


spans_in_march = st.lists(
    st.tuples(st.integers(0, 20 * 24 * HOUR), st.integers(1, 30 * HOUR)), max_size=12
).map(
    lambda raw: [
        (ms(datetime(2026, 3, 1, tzinfo=UTC)) + s, ms(datetime(2026, 3, 1, tzinfo=UTC)) + s + w)
        for s, w in raw
    ]
)


def disjoint(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for s, e in sorted(spans):
        if out and s < out[-1][1]:
            s = out[-1][1]
        if s < e:
            out.append((s, e))
    return out


@settings(max_examples=200, deadline=None)
@given(spans_in_march, st.sampled_from(["UTC", "America/New_York", "Asia/Seoul"]))
def test_study_per_day_adds_up_to_the_range(raw: list[Span], zone_name: str) -> None:
    """Without todos, the days' values are the study of the range split at local midnights
    (New York's clocks change on 2026-03-08), nothing lost or counted twice."""
    zone = ZoneInfo(zone_name)
    spans = disjoint(raw)
    first, last = date(2026, 3, 1), date(2026, 3, 21)
    values = day_values({}, spans, zone, first, last)
    start, end = days_bounds(first, last + timedelta(days=1), zone)
    assert sum(int(v) for v in values.values()) == total(clip(spans, start, end))
    assert all(v is not True and v > 0 for v in values.values())

"""Which month ``/calendar`` shows: this month by default, else a strict ``YYYY-MM`` near it."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.calendar import MONTH_RANGE, month_index, parse_month
from bot.domain.errors import ValidationError

TODAY = date(2026, 3, 2)
todays = st.dates(date(1000, 1, 1), date(8000, 12, 31))


def problem(text: str, today: date = TODAY) -> str:
    with pytest.raises(ValidationError) as refused:
        parse_month(text, today)
    assert refused.value.field == "month"
    return refused.value.problem


def test_this_month_by_default() -> None:
    assert parse_month(None, TODAY) == (2026, 3)
    assert parse_month("", TODAY) == (2026, 3)
    assert parse_month(" \t", TODAY) == (2026, 3)


def test_strict_iso_months() -> None:
    assert parse_month("2026-04", TODAY) == (2026, 4)
    assert parse_month(" 2025-12 ", TODAY) == (2025, 12)
    for text in ("2026-3", "2026/03", "26-03", "2026-03-01", "March", "2026-03x", "２０２６-03"):
        assert problem(text) == "month_format", text
    assert problem("2026-13") == "month_invalid"
    assert problem("2026-00") == "month_invalid"
    assert problem("0000-01", date(1, 6, 1)) == "month_invalid"


def test_at_most_two_years_either_way() -> None:
    assert MONTH_RANGE == 24
    assert parse_month("2028-03", TODAY) == (2028, 3)
    assert parse_month("2024-03", TODAY) == (2024, 3)
    assert problem("2028-04") == "month_too_far"
    assert problem("2024-02") == "month_too_far"
    assert problem("9999-12") == "month_too_far"


@given(todays, st.integers(-MONTH_RANGE, MONTH_RANGE))
def test_every_month_in_range_parses_to_itself(today: date, offset: int) -> None:
    index = month_index(today.year, today.month) + offset
    year, month = divmod(index, 12)
    assert parse_month(f"{year:04d}-{month + 1:02d}", today) == (year, month + 1)


@given(todays, st.integers(MONTH_RANGE + 1, 400))
def test_months_further_off_are_refused(today: date, distance: int) -> None:
    for offset in (distance, -distance):
        year, month = divmod(month_index(today.year, today.month) + offset, 12)
        assert problem(f"{year:04d}-{month + 1:02d}", today) == "month_too_far"


@given(st.integers(1, 9998), st.integers(1, 12))
def test_month_index_counts_months(year: int, month: int) -> None:
    following = (year, month + 1) if month < 12 else (year + 1, 1)
    assert month_index(*following) == month_index(year, month) + 1

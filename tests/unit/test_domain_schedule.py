"""The scheduled start's instant: formats, the next occurrence, the window, DST edges."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

import pytest

from bot.domain.errors import ValidationError
from bot.domain.schedule import MAX_AHEAD_MS, parse_clock, parse_day, scheduled_start

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")


def ms(zone: tzinfo, y: int, mo: int, d: int, h: int, mi: int, fold: int = 0) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=zone, fold=fold).timestamp() * 1000)


def problem(call: object) -> str:
    assert callable(call)
    with pytest.raises(ValidationError) as err:
        call()
    return err.value.problem


@pytest.mark.parametrize("text", ["", "9", "24:00", "12:60", "12-30", "noon", "1:2", "123:00"])
def test_clock_format_is_refused(text: str) -> None:
    assert problem(lambda: parse_clock(text)) == "clock_format"


def test_clock_accepts_one_digit_hours() -> None:
    assert parse_clock("9:05").hour == 9
    assert parse_clock(" 23:59 ").minute == 59


def test_date_format_and_real_dates() -> None:
    assert problem(lambda: parse_day("2026/01/02")) == "format"
    assert problem(lambda: parse_day("2026-02-30")) == "invalid"
    assert parse_day("2026-02-28").day == 28


def test_without_a_date_today_when_still_ahead() -> None:
    now = ms(SEOUL, 2026, 5, 1, 8, 0)
    assert scheduled_start("09:30", None, SEOUL, now) == ms(SEOUL, 2026, 5, 1, 9, 30)


def test_without_a_date_tomorrow_when_passed_today() -> None:
    now = ms(SEOUL, 2026, 5, 1, 10, 0)
    assert scheduled_start("09:30", None, SEOUL, now) == ms(SEOUL, 2026, 5, 2, 9, 30)
    # the very minute it is now is passed as well
    now = ms(SEOUL, 2026, 5, 1, 9, 30)
    assert scheduled_start("09:30", None, SEOUL, now) == ms(SEOUL, 2026, 5, 2, 9, 30)


def test_the_owner_zone_decides_the_day() -> None:
    # 23:00 UTC on 1 May is already 08:00 on 2 May in Seoul
    now = int(datetime(2026, 5, 1, 23, 0, tzinfo=UTC).timestamp() * 1000)
    assert scheduled_start("09:00", None, SEOUL, now) == ms(SEOUL, 2026, 5, 2, 9, 0)
    assert scheduled_start("09:00", None, ZoneInfo("UTC"), now) == ms(UTC, 2026, 5, 2, 9, 0)


def test_with_a_date() -> None:
    now = ms(SEOUL, 2026, 5, 1, 10, 0)
    assert scheduled_start("07:00", "2026-05-03", SEOUL, now) == ms(SEOUL, 2026, 5, 3, 7, 0)


def test_past_is_refused() -> None:
    now = ms(SEOUL, 2026, 5, 1, 10, 0)
    assert problem(lambda: scheduled_start("09:00", "2026-05-01", SEOUL, now)) == "in_past"
    assert problem(lambda: scheduled_start("10:00", "2026-05-01", SEOUL, now)) == "in_past"
    assert problem(lambda: scheduled_start("12:00", "2026-04-30", SEOUL, now)) == "in_past"


def test_at_most_seven_days_ahead() -> None:
    now = ms(SEOUL, 2026, 5, 1, 10, 0)
    assert scheduled_start("10:00", "2026-05-08", SEOUL, now) == now + MAX_AHEAD_MS
    err = problem(lambda: scheduled_start("10:01", "2026-05-08", SEOUL, now))
    assert err == "too_far_ahead"


def test_a_skipped_local_time_is_refused() -> None:
    # New York springs forward on 8 March 2026: 02:00 → 03:00
    now = ms(NEW_YORK, 2026, 3, 7, 12, 0)
    with pytest.raises(ValidationError) as err:
        scheduled_start("02:30", "2026-03-08", NEW_YORK, now)
    assert err.value.problem == "nonexistent_time"
    assert err.value.params["zone"] == "America/New_York"
    # the minutes either side of the gap are fine
    before = scheduled_start("01:59", "2026-03-08", NEW_YORK, now)
    after = scheduled_start("03:00", "2026-03-08", NEW_YORK, now)
    assert after - before == 60_000


def test_a_skipped_time_without_a_date_today_is_refused_and_tomorrow_is_not() -> None:
    now = ms(NEW_YORK, 2026, 3, 8, 1, 0)  # before the gap
    assert problem(lambda: scheduled_start("02:30", None, NEW_YORK, now)) == "nonexistent_time"
    now = ms(NEW_YORK, 2026, 3, 8, 4, 0)  # after it: tomorrow's 02:30 exists
    assert scheduled_start("02:30", None, NEW_YORK, now) == ms(NEW_YORK, 2026, 3, 9, 2, 30)


def test_a_repeated_local_time_is_its_first_occurrence() -> None:
    # New York falls back on 1 November 2026: 01:00–02:00 happens twice
    now = ms(NEW_YORK, 2026, 10, 31, 12, 0)
    first = ms(NEW_YORK, 2026, 11, 1, 1, 30, fold=0)
    assert scheduled_start("01:30", "2026-11-01", NEW_YORK, now) == first
    assert ms(NEW_YORK, 2026, 11, 1, 1, 30, fold=1) - first == 3_600_000


def test_a_repeated_local_time_whose_first_occurrence_passed_is_the_second() -> None:
    second = ms(NEW_YORK, 2026, 11, 1, 1, 30, fold=1)
    now = ms(NEW_YORK, 2026, 11, 1, 1, 45, fold=0)  # after the first 01:30
    assert scheduled_start("01:30", "2026-11-01", NEW_YORK, now) == second
    assert scheduled_start("01:30", None, NEW_YORK, now) == second

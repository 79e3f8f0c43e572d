from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.errors import ValidationError
from bot.domain.todos import (
    TODO_TEXT_MAX,
    TODOS_PER_DAY_MAX,
    check_todo_count,
    day_bounds_ms,
    day_of,
    parse_day,
    validate_score,
    validate_todo_text,
)

UTC_Z = ZoneInfo("UTC")
SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")


def ms(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


NOW = ms(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))  # 21:00 in Seoul


# -- text ----------------------------------------------------------------------------------


def test_todo_text() -> None:
    assert validate_todo_text("  read ch. 4 ") == "read ch. 4"
    assert validate_todo_text("a") == "a"
    assert validate_todo_text("x" * TODO_TEXT_MAX) == "x" * TODO_TEXT_MAX
    assert validate_todo_text("\u200b" + "x" * TODO_TEXT_MAX + "\ufeff") == "x" * TODO_TEXT_MAX
    assert validate_todo_text("@everyone read") == "@everyone read"


def test_todo_text_keeps_joiners_inside() -> None:
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0646\u0645"  # "I read", with its ZWNJ
    coder = "\U0001f469\u200d\U0001f4bb code review"
    assert validate_todo_text(f" \u200b{persian}\ufeff ") == persian
    assert validate_todo_text(coder) == coder
    inside = "x" + "\u200b" * (TODO_TEXT_MAX - 1) + "y"  # joiners inside count
    with pytest.raises(ValidationError) as exc:
        validate_todo_text(inside)
    assert exc.value.problem == "too_long"


@pytest.mark.parametrize(
    ("text", "prob"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\u200b\u200c\u200d\u2060\ufeff", "empty"),
        ("x" * (TODO_TEXT_MAX + 1), "too_long"),
        ("a\nb", "control_chars"),
        ("a\x00", "control_chars"),
    ],
)
def test_todo_text_refused(text: str, prob: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_todo_text(text)
    assert exc.value.field == "text" and exc.value.problem == prob


def test_todo_count() -> None:
    check_todo_count(0)
    check_todo_count(TODOS_PER_DAY_MAX - 1)
    with pytest.raises(ValidationError) as exc:
        check_todo_count(TODOS_PER_DAY_MAX)
    assert exc.value.problem == "too_many" and exc.value.params["max"] == 50


def test_score() -> None:
    assert [validate_score(n) for n in range(1, 6)] == [1, 2, 3, 4, 5]
    for bad in (0, 6, -1, 100):
        with pytest.raises(ValidationError) as exc:
            validate_score(bad)
        assert exc.value.field == "score" and exc.value.problem == "out_of_range"


# -- days ----------------------------------------------------------------------------------


def test_today_depends_on_the_zone() -> None:
    assert parse_day(None, UTC_Z, NOW) == date(2026, 1, 1)
    late = ms(datetime(2026, 1, 1, 16, 0, tzinfo=UTC))  # 01:00 on the 2nd in Seoul
    assert parse_day(None, UTC_Z, late) == date(2026, 1, 1)
    assert parse_day(None, SEOUL, late) == date(2026, 1, 2)
    early = ms(datetime(2026, 1, 1, 3, 0, tzinfo=UTC))  # 22:00 on Dec 31 in New York
    assert parse_day(None, NEW_YORK, early) == date(2025, 12, 31)
    assert parse_day("  ", SEOUL, late) == date(2026, 1, 2)


def test_midnight_exactly() -> None:
    midnight = ms(datetime(2026, 1, 2, tzinfo=UTC))
    assert day_of(midnight - 1, UTC_Z) == date(2026, 1, 1)
    assert day_of(midnight, UTC_Z) == date(2026, 1, 2)


def test_parse_day_formats() -> None:
    assert parse_day("2026-03-05", UTC_Z, NOW) == date(2026, 3, 5)
    assert parse_day(" 2025-12-31 ", UTC_Z, NOW) == date(2025, 12, 31)
    for bad in (
        "2026-3-5",
        "20260305",
        "2026/03/05",
        "05-03-2026",
        "2026-W10-1",
        "tomorrow",
        "2026-03-05T00:00",
        "２０２６-03-05",
        "2026-03-05x",
    ):
        with pytest.raises(ValidationError) as exc:
            parse_day(bad, UTC_Z, NOW)
        assert exc.value.field == "date" and exc.value.problem == "format", bad
    for bad in ("2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31"):
        with pytest.raises(ValidationError) as exc:
            parse_day(bad, UTC_Z, NOW)
        assert exc.value.problem == "invalid", bad


def test_parse_day_range() -> None:
    today = date(2026, 1, 1)
    assert parse_day((today + timedelta(days=366)).isoformat(), UTC_Z, NOW)
    assert parse_day((today - timedelta(days=366)).isoformat(), UTC_Z, NOW)
    for far in (today + timedelta(days=367), today - timedelta(days=367), date(1999, 1, 1)):
        with pytest.raises(ValidationError) as exc:
            parse_day(far.isoformat(), UTC_Z, NOW)
        assert exc.value.field == "date" and exc.value.problem == "too_far"


def test_day_bounds_utc() -> None:
    start, end = day_bounds_ms(date(2026, 1, 1), UTC_Z)
    assert start == ms(datetime(2026, 1, 1, tzinfo=UTC))
    assert end - start == 24 * 3600 * 1000


def test_day_bounds_seoul() -> None:
    start, end = day_bounds_ms(date(2026, 1, 2), SEOUL)
    assert start == ms(datetime(2026, 1, 1, 15, tzinfo=UTC))
    assert end == ms(datetime(2026, 1, 2, 15, tzinfo=UTC))


def test_day_bounds_across_dst() -> None:
    spring = day_bounds_ms(date(2026, 3, 8), NEW_YORK)
    assert spring[1] - spring[0] == 23 * 3600 * 1000
    autumn = day_bounds_ms(date(2026, 11, 1), NEW_YORK)
    assert autumn[1] - autumn[0] == 25 * 3600 * 1000


def test_day_bounds_where_midnight_is_skipped() -> None:
    # Santiago moves its clocks from 24:00 to 01:00 in September: the day starts at 01:00
    santiago = ZoneInfo("America/Santiago")
    start, end = day_bounds_ms(date(2025, 9, 7), santiago)
    assert day_of(start, santiago) == date(2025, 9, 7)
    assert day_of(start - 1, santiago) == date(2025, 9, 6)
    assert end - start == 23 * 3600 * 1000


@settings(max_examples=200, deadline=None)
@given(
    st.integers(ms(datetime(2000, 1, 1, tzinfo=UTC)), ms(datetime(2040, 1, 1, tzinfo=UTC))),
    st.sampled_from(
        [
            "UTC",
            "Asia/Seoul",
            "America/New_York",
            "America/Santiago",
            "Australia/Lord_Howe",
            "Asia/Kathmandu",
            "Pacific/Kiritimati",
        ]
    ),
)
def test_every_instant_lies_in_its_day(now_ms: int, zone: str) -> None:
    tz = ZoneInfo(zone)
    day = day_of(now_ms, tz)
    start, end = day_bounds_ms(day, tz)
    assert start <= now_ms < end
    # days tile time
    assert day_bounds_ms(day + timedelta(days=1), tz)[0] == end
    assert parse_day(None, tz, now_ms) == day

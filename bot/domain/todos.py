"""Todo and day-rating rules, and what "a day" is for a member in their own time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.errors import ValidationError
from bot.domain.rooms import clean_text, has_control_chars

TODO_TEXT_MAX = 200
TODOS_PER_DAY_MAX = 50
SCORE_MIN = 1
SCORE_MAX = 5
DAY_RANGE_DAYS = 366  # how far from today a date may be, either way

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True, slots=True)
class TodoItem:
    """A member's todo as it was stored when read: a value, detached from the database."""

    id: int
    guild_id: int
    user_id: int
    day: date
    text: str
    done: bool
    done_ms: int | None
    position: int  # its place in the day's list, from 1
    created_ms: int


@dataclass(frozen=True, slots=True)
class DayRating:
    """A member's satisfaction with one of their days, 1–5."""

    guild_id: int
    user_id: int
    day: date
    score: int
    updated_ms: int


def validate_todo_text(text: str) -> str:
    """The cleaned todo text: 1–200 characters, one line."""
    cleaned = clean_text(text)
    if not cleaned:
        raise ValidationError("text", "empty")
    if has_control_chars(cleaned):
        raise ValidationError("text", "control_chars")
    if len(cleaned) > TODO_TEXT_MAX:
        raise ValidationError("text", "too_long", max=TODO_TEXT_MAX, length=len(cleaned))
    return cleaned


def check_todo_count(existing: int) -> None:
    """Refuse adding a todo to a day that already holds ``existing`` todos, if full."""
    if existing >= TODOS_PER_DAY_MAX:
        raise ValidationError("todos", "too_many", max=TODOS_PER_DAY_MAX)


def validate_score(score: int) -> int:
    """A day's satisfaction rating: 1–5."""
    if isinstance(score, bool) or not SCORE_MIN <= score <= SCORE_MAX:
        raise ValidationError("score", "out_of_range", min=SCORE_MIN, max=SCORE_MAX, value=score)
    return score


def local_datetime(ms: int, tz: ZoneInfo) -> datetime:
    """The instant ``ms`` as an aware datetime in ``tz`` (exact, no float rounding)."""
    return (_EPOCH + ms * _ONE_MS).astimezone(tz)


def day_of(ms: int, tz: ZoneInfo) -> date:
    """The calendar day the instant ``ms`` falls on in ``tz``."""
    return local_datetime(ms, tz).date()


def parse_day(text: str | None, tz: ZoneInfo, now_ms: int) -> date:
    """The day a member named: None or blank is today in ``tz``; otherwise strictly
    ``YYYY-MM-DD``, a real date, at most 366 days before or after today."""
    today = day_of(now_ms, tz)
    if text is None or not text.strip():
        return today
    raw = text.strip()
    if not _ISO_DAY.fullmatch(raw):
        raise ValidationError("date", "format", expected="YYYY-MM-DD")
    try:
        day = date(int(raw[0:4]), int(raw[5:7]), int(raw[8:10]))
    except ValueError:
        raise ValidationError("date", "invalid", value=raw) from None
    if abs((day - today).days) > DAY_RANGE_DAYS:
        raise ValidationError("date", "too_far", max_days=DAY_RANGE_DAYS)
    return day


def _local_midnight_ms(day: date, tz: ZoneInfo) -> int:
    # fold=0: where midnight is skipped by a DST change this is the change's instant (the
    # day's first instant); where it repeats, the first occurrence
    start = datetime.combine(day, time(0), tzinfo=tz)
    return (start - _EPOCH) // _ONE_MS


def day_bounds_ms(day: date, tz: ZoneInfo) -> tuple[int, int]:
    """The instants ``[start, end)`` of ``day`` in ``tz``. Consecutive days tile time: one
    day's end is the next day's start; a day may be 23 or 25 hours long."""
    return _local_midnight_ms(day, tz), _local_midnight_ms(day + timedelta(days=1), tz)

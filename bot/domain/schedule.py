"""A scheduled start: the instant a room's run is to begin, from what the owner typed.

The owner gives a clock time (``HH:MM``, 24-hour) and optionally a date (``YYYY-MM-DD``), both
read in their own time zone. Without a date it is the next time the clock shows that time:
today if it is still ahead, else tomorrow. The instant must be in the future and at most
``MAX_AHEAD_MS`` away.

Daylight-saving edges are decided here, never left to chance:

- a local time that does not exist (the clocks jump over it, e.g. 02:30 when spring-forward
  goes from 02:00 to 03:00) is refused, naming the zone, so the owner picks a real time;
- a local time that happens twice (fall-back repeats an hour) is its **first** occurrence
  still ahead: the earlier one, unless it has passed already.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.errors import ValidationError

DAY_MS = 86_400_000
MAX_AHEAD_DAYS = 7
MAX_AHEAD_MS = MAX_AHEAD_DAYS * DAY_MS

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


def parse_clock(text: str) -> time:
    """``HH:MM`` on a 24-hour clock (``9:05`` is accepted as ``09:05``)."""
    m = _CLOCK.match(text)
    if m is None:
        raise ValidationError("at", "clock_format")
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23 or minute > 59:
        raise ValidationError("at", "clock_format")
    return time(hour, minute)


def parse_day(text: str) -> date:
    """``YYYY-MM-DD``, a real calendar date."""
    m = _DATE.match(text)
    if m is None:
        raise ValidationError("date", "format")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValidationError("date", "invalid") from None


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def local_instants(day: date, clock: time, zone: ZoneInfo) -> tuple[int, ...]:
    """Every instant the clocks of ``zone`` show ``clock`` on ``day``, in order: one, or two
    when the hour repeats, or none when the clocks skip it."""
    naive = datetime.combine(day, clock)
    out: list[int] = []
    for fold in (0, 1):
        aware = naive.replace(tzinfo=zone, fold=fold)
        # a time in a gap does not survive the trip to UTC and back
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
            ms = _ms(aware)
            if ms not in out:
                out.append(ms)
    return tuple(sorted(out))


def _nonexistent(day: date, clock: time, zone: ZoneInfo) -> ValidationError:
    return ValidationError(
        "at", "nonexistent_time", at=clock.strftime("%H:%M"), day=day.isoformat(), zone=zone.key
    )


def scheduled_start(at: str, day: str | None, zone: ZoneInfo, now_ms: int) -> int:
    """The instant (ms) a run scheduled for ``at`` (and ``day``) in ``zone`` starts: the
    first instant still ahead at which the clocks there show it.

    Without ``day``: today if the clocks have not shown ``at`` yet today, else tomorrow.
    Refused: a time or date that is not one; a local time the clocks skip; an instant not
    after ``now_ms``; one more than ``MAX_AHEAD_DAYS`` days ahead."""
    clock = parse_clock(at)
    if day is not None:
        chosen = parse_day(day)
        instants = local_instants(chosen, clock, zone)
    else:
        local_now = datetime.fromtimestamp(now_ms / 1000, zone)
        chosen = local_now.date()
        instants = local_instants(chosen, clock, zone)
        if not any(i > now_ms for i in instants) and (
            instants or clock <= local_now.time().replace(tzinfo=None)
        ):
            chosen += timedelta(days=1)
            instants = local_instants(chosen, clock, zone)
    if not instants:
        raise _nonexistent(chosen, clock, zone)
    ahead = [i for i in instants if i > now_ms]
    if not ahead:
        raise ValidationError("at", "in_past")
    start = ahead[0]
    if start - now_ms > MAX_AHEAD_MS:
        raise ValidationError("at", "too_far_ahead", days=MAX_AHEAD_DAYS)
    return start

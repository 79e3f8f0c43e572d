"""Which month a member asked for: ``/calendar`` takes ``YYYY-MM``, this month by default.

The month is strict ISO (``2026-03``, not ``2026-3`` or ``March``) so a typo is refused with
the expected form rather than guessed at, and it lies at most ``MONTH_RANGE`` months from the
member's own current month, either way, so a mistyped year is refused rather than shown as an
empty month. "This month" is the month of the member's today, which the caller works out in
their time zone.
"""

from __future__ import annotations

import re
from datetime import date

from bot.domain.errors import ValidationError

MONTH_RANGE = 24  # how many months from this one a month may be, either way
_ISO_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def month_index(year: int, month: int) -> int:
    """Months counted from year 0: consecutive months differ by one, across years too."""
    return year * 12 + (month - 1)


def parse_month(text: str | None, today: date) -> tuple[int, int]:
    """The ``(year, month)`` a member named: None or blank is ``today``'s month; otherwise
    strictly ``YYYY-MM``, a real month, at most 24 months before or after ``today``'s."""
    if text is None or not text.strip():
        return today.year, today.month
    raw = text.strip()
    match = _ISO_MONTH.fullmatch(raw)
    if match is None:
        raise ValidationError("month", "month_format", expected="YYYY-MM")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 1:
        raise ValidationError("month", "month_invalid", value=raw)
    if abs(month_index(year, month) - month_index(today.year, today.month)) > MONTH_RANGE:
        raise ValidationError("month", "month_too_far", max_months=MONTH_RANGE)
    return year, month

"""A member's month: per day the todos done out of all, and the day's satisfaction rating.

Months and days are the member's own (their time zone decides which month "this month" is
and which day is today). Nothing here is written; a month without data is simply empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select

from bot.domain.calendar import parse_month as parse_month
from bot.domain.periods import last_day
from bot.domain.todos import day_of
from bot.services.base import SqlService
from bot.services.members import member_zone
from storage.models import Todo

# which month was asked for is the domain's rule (bot.domain.calendar); ``parse_month`` stays
# importable from here


@dataclass(frozen=True, slots=True)
class DayData:
    day: date
    done: int = 0
    total: int = 0
    rating: int | None = None

    @property
    def has_data(self) -> bool:
        return self.total > 0 or self.rating is not None


@dataclass(frozen=True, slots=True)
class MonthData:
    year: int
    month: int
    today: date  # the member's today (may lie outside the month)
    days: tuple[DayData, ...]  # every day of the month, in order

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def rated(self) -> tuple[DayData, ...]:
        return tuple(d for d in self.days if d.rating is not None)

    @property
    def average(self) -> float | None:
        """The month's average rating over rated days; None when no day is rated."""
        rated = self.rated
        if not rated:
            return None
        return sum(d.rating or 0 for d in rated) / len(rated)

    @property
    def done(self) -> int:
        return sum(d.done for d in self.days)

    @property
    def total(self) -> int:
        return sum(d.total for d in self.days)

    @property
    def is_empty(self) -> bool:
        return not any(d.has_data for d in self.days)

    def day(self, number: int) -> DayData:
        return self.days[number - 1]


class CalendarService(SqlService):
    async def month(self, guild_id: int, user_id: int, month: str | None = None) -> MonthData:
        """The member's month (``YYYY-MM``; this month by default)."""
        async with self._uow() as uow:
            zone = await member_zone(
                uow, guild_id, user_id, self._settings.for_guild(guild_id).default_timezone
            )
            today = day_of(self._clock.now_ms(), zone)
            year, number = parse_month(month, today)
            first, last = date(year, number, 1), last_day(year, number)
            counts = select(Todo.day, func.count(), func.sum(case((Todo.done, 1), else_=0))).where(
                Todo.guild_id == guild_id,
                Todo.user_id == user_id,
                Todo.day >= first,
                Todo.day <= last,
            )
            per_day = {
                day: (int(done or 0), int(total))
                for day, total, done in (await uow.session.execute(counts.group_by(Todo.day)))
            }
            ratings = {
                r.day: r.score for r in await uow.ratings.for_month(guild_id, user_id, year, number)
            }
        days = []
        for n in range(1, last.day + 1):
            d = date(year, number, n)
            done, total = per_day.get(d, (0, 0))
            days.append(DayData(d, done, total, ratings.get(d)))
        return MonthData(year, number, today, tuple(days))

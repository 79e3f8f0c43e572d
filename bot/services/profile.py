"""The "my page" of a member: points, today's todos, study time, streak, kings and ratings.

Days are the member's own (their time zone, else the configured default); weeks start on
Monday. A day *counts* toward the streak when the member ticked at least one todo that day or
studied at least ``STREAK_STUDY_MS``. The current streak is the run of counting days ending
today — or ending yesterday while today does not count yet, so a streak is not shown broken
in the morning before the member has done anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain.periods import Period, days_bounds, days_in_month, period_bounds
from bot.domain.todos import day_bounds_ms, day_of
from bot.services.members import member_zone
from bot.services.points import ensure_member
from bot.services.settings import ServiceSettings
from bot.services.study import StudyService, clip, total
from storage.uow import UnitOfWork, UnitOfWorkFactory

STREAK_STUDY_MS = 25 * 60_000
STREAK_CHUNK_DAYS = 62  # days read per query while walking back
STREAK_MAX_DAYS = 3660  # stop looking after about ten years


@dataclass(frozen=True, slots=True)
class ProfileData:
    guild_id: int
    user_id: int
    today: date
    timezone: str
    points: int
    todos_done: int
    todos_total: int
    study_today_ms: int
    study_week_ms: int
    streak_days: int
    kings: int
    ratings: dict[int, int] = field(default_factory=dict)  # day of this month -> 1..5

    @property
    def month_days(self) -> int:
        return days_in_month(self.today.year, self.today.month)


def counts(value: int | bool | None) -> bool:
    """Whether a day's value (see ``_counting_days``) keeps a streak going."""
    if value is None or isinstance(value, bool):
        return bool(value)
    return value >= STREAK_STUDY_MS


class ProfileService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        settings: ServiceSettings,
        study: StudyService,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._settings = settings
        self._study = study

    async def profile(self, guild_id: int, user_id: int, *, own: bool = True) -> ProfileData:
        """The member's page. ``own``: the member is looking at their own page (their first
        use of the bot gives them the welcome bonus, like any command); someone else's page
        is only read."""
        now = self._clock.now_ms()
        if own:
            async with self._uow() as uow:
                await ensure_member(uow, guild_id, user_id, now, self._settings.signup_bonus)
                await uow.commit()
        async with self._uow() as uow:
            zone = await member_zone(uow, guild_id, user_id, self._settings.default_timezone)
            today = day_of(now, zone)
            day_start, day_end = period_bounds(Period.DAY, now, zone)
            week_from, week_to = period_bounds(Period.WEEK, now, zone)
            points = await uow.ledger.balance(guild_id, user_id)
            todos = await uow.todos.for_day(guild_id, user_id, today)
            study_today = await uow.study.total_ms(guild_id, user_id, day_start, day_end)
            study_week = await uow.study.total_ms(guild_id, user_id, week_from, week_to)
            kings = await uow.runs.kings_count(guild_id, user_id)
            ratings = await uow.ratings.for_month(guild_id, user_id, today.year, today.month)
            live_today = await self._study.live_ms(guild_id, user_id, day_start, day_end)
            live_week = await self._study.live_ms(guild_id, user_id, week_from, week_to)
            streak = await self._streak(uow, guild_id, user_id, zone, today, live_today)
        return ProfileData(
            guild_id=guild_id,
            user_id=user_id,
            today=today,
            timezone=zone.key,
            points=points,
            todos_done=sum(1 for t in todos if t.done),
            todos_total=len(todos),
            study_today_ms=study_today + live_today,
            study_week_ms=study_week + live_week,
            streak_days=streak,
            kings=kings,
            ratings={r.day.day: r.score for r in ratings},
        )

    async def _streak(
        self,
        uow: UnitOfWork,
        guild_id: int,
        user_id: int,
        zone: ZoneInfo,
        today: date,
        live_today_ms: int,
    ) -> int:
        streak = 0
        last = today  # the newest day of the chunk being read
        first_look = True
        while streak < STREAK_MAX_DAYS:
            first = last - timedelta(days=STREAK_CHUNK_DAYS - 1)
            counting = await self._counting_days(uow, guild_id, user_id, zone, first, last)
            if first_look and live_today_ms and counting.get(today) is not True:
                counting[today] = int(counting.get(today, 0)) + live_today_ms
            day = last
            while day >= first:
                if not counts(counting.get(day)):
                    if day == today and first_look:
                        day -= timedelta(days=1)  # today may still come
                        continue
                    return streak
                streak += 1
                day -= timedelta(days=1)
            first_look = False
            last = first - timedelta(days=1)
        return streak

    async def _counting_days(
        self,
        uow: UnitOfWork,
        guild_id: int,
        user_id: int,
        zone: ZoneInfo,
        first: date,
        last: date,
    ) -> dict[date, int | bool]:
        """Per day of [first, last]: True if a todo was ticked, else the ms studied (days
        with neither left out). A value counts when it is True or ≥ STREAK_STUDY_MS."""
        done = await uow.todos.done_counts(guild_id, user_id, first, last)
        start, end = days_bounds(first, last + timedelta(days=1), zone)
        sessions = await uow.study.sessions(guild_id, user_id, start, end)
        spans = [(s.start_ms, s.end_ms) for s in sessions]
        out: dict[date, int | bool] = {}
        day = first
        while day <= last:
            if done.get(day, 0) > 0:
                out[day] = True
            else:
                lo, hi = day_bounds_ms(day, zone)
                studied = total(clip(spans, lo, hi))
                if studied:
                    out[day] = studied
            day += timedelta(days=1)
        return out

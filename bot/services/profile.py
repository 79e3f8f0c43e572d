"""The "my page" of a member: points, today's todos, study time, streak, kings and ratings,
and this week's study time against their weekly goal (``bot.domain.goals``).

Days are the member's own (their time zone, else the configured default); weeks start on
Monday (``bot.domain.periods``). Which days count toward the streak, and where the current
streak ends, is ``bot.domain.streaks``; this service reads the days from storage, newest
first, a chunk at a time. ``STREAK_STUDY_MS`` stays importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain.goals import GoalProgress, progress
from bot.domain.periods import Period, days_bounds, days_in_month, period_bounds
from bot.domain.streaks import STREAK_STUDY_MS as STREAK_STUDY_MS
from bot.domain.streaks import DayValue, count_back, day_values, with_live_today
from bot.domain.todos import day_of
from bot.services.base import SqlService
from bot.services.members import member_zone
from bot.services.points import ensure_member
from bot.services.settings import ServiceSettings
from bot.services.study import StudyService
from storage.uow import UnitOfWork, UnitOfWorkFactory

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
    weekly_goal_minutes: int | None = None  # the member's goal for a week; None: no goal

    @property
    def goal(self) -> GoalProgress | None:
        """This week's study time against the weekly goal (None without a goal)."""
        return progress(self.weekly_goal_minutes, self.study_week_ms)

    @property
    def month_days(self) -> int:
        return days_in_month(self.today.year, self.today.month)


class ProfileService(SqlService):
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        settings: ServiceSettings,
        study: StudyService,
    ) -> None:
        super().__init__(uow_factory, clock, settings)
        self._study = study

    async def profile(self, guild_id: int, user_id: int, *, own: bool = True) -> ProfileData:
        """The member's page. ``own``: the member is looking at their own page (their first
        use of the bot gives them the welcome bonus, like any command); someone else's page
        is only read."""
        now = self._clock.now_ms()
        if own:
            async with self._uow() as uow:
                await ensure_member(
                    uow, guild_id, user_id, now, self._settings.for_guild(guild_id).signup_bonus
                )
                await uow.commit()
        async with self._uow() as uow:
            zone = await member_zone(
                uow, guild_id, user_id, self._settings.for_guild(guild_id).default_timezone
            )
            member = await uow.members.get(guild_id, user_id)
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
            weekly_goal_minutes=member.weekly_goal_minutes if member else None,
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
        """The member's current streak, read back from today a chunk of days at a time."""
        streak = 0
        last = today  # the newest day of the chunk being read
        while streak < STREAK_MAX_DAYS:
            first = last - timedelta(days=STREAK_CHUNK_DAYS - 1)
            values = await self._day_values(uow, guild_id, user_id, zone, first, last)
            if last == today:
                values = with_live_today(values, today, live_today_ms)
            counted, broken = count_back(values, first, last, today)
            streak += counted
            if broken:
                return streak
            last = first - timedelta(days=1)
        return streak

    async def _day_values(
        self,
        uow: UnitOfWork,
        guild_id: int,
        user_id: int,
        zone: ZoneInfo,
        first: date,
        last: date,
    ) -> dict[date, DayValue]:
        """What each day of [first, last] holds toward the streak (``day_values``)."""
        done = await uow.todos.done_counts(guild_id, user_id, first, last)
        start, end = days_bounds(first, last + timedelta(days=1), zone)
        sessions = await uow.study.sessions(guild_id, user_id, start, end)
        return day_values(done, [(s.start_ms, s.end_ms) for s in sessions], zone, first, last)

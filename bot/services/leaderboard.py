"""The guild's rankings: study time and Study Kings, per day, week, month or all time.

Both come from SQL aggregates (``study.leaderboard`` sums the study spans clipped to the
period; ``runs.kings_leaderboard`` counts king results of runs started in it, between its
start and its end). Periods are days of the asking member's time zone; weeks start on Monday.
A page shows ten places of each ranking; ties share a rank ("1, 2, 2, 4").
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.errors import ValidationError
from bot.domain.periods import Period as Period
from bot.domain.periods import period_bounds as period_bounds
from bot.domain.rankings import Place
from bot.domain.rankings import ranked as ranked
from bot.services.base import SqlService
from bot.services.members import member_zone

# periods and ranks are the domain's (bot.domain.periods, bot.domain.rankings); ``Period``,
# ``period_bounds`` and ``ranked`` stay importable from here

PAGE_SIZE = 10
MAX_PAGES = 100


@dataclass(frozen=True, slots=True)
class LeaderboardPage:
    guild_id: int
    period: Period
    start_ms: int
    end_ms: int
    page: int  # 0-based
    study: tuple[Place, ...]
    kings: tuple[Place, ...]
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 0

    @property
    def empty(self) -> bool:
        return not self.study and not self.kings


class LeaderboardService(SqlService):
    async def bounds(self, guild_id: int, user_id: int, period: Period) -> tuple[int, int]:
        """The period as the member counts days (their time zone)."""
        async with self._uow() as uow:
            zone = await member_zone(
                uow, guild_id, user_id, self._settings.for_guild(guild_id).default_timezone
            )
        return period_bounds(period, self._clock.now_ms(), zone)

    async def page(
        self, guild_id: int, period: Period, start_ms: int, end_ms: int, page: int = 0
    ) -> LeaderboardPage:
        if not 0 <= page < MAX_PAGES:
            raise ValidationError("page", "out_of_range", min=1, max=MAX_PAGES)
        want = (page + 1) * PAGE_SIZE + 1  # one more than shown tells whether a next page exists
        # a period counts the kings of the runs started in it, and in it only: a page of a
        # past period (its buttons carry its bounds) must not count titles won since
        since, until = (None, None) if period is Period.ALL else (start_ms, end_ms)
        async with self._uow() as uow:
            study = await uow.study.leaderboard(guild_id, start_ms, end_ms, limit=want)
            kings = await uow.runs.kings_leaderboard(
                guild_id, limit=want, since_ms=since, until_ms=until
            )
        study = [(u, ms) for u, ms in study if ms > 0]
        lo, hi = page * PAGE_SIZE, (page + 1) * PAGE_SIZE
        study_places = ranked(study)[lo:hi]
        king_places = ranked(kings)[lo:hi]
        return LeaderboardPage(
            guild_id=guild_id,
            period=period,
            start_ms=start_ms,
            end_ms=end_ms,
            page=page,
            study=tuple(study_places),
            kings=tuple(king_places),
            has_next=len(study) > hi or len(kings) > hi,
        )

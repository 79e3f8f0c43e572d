from __future__ import annotations

from datetime import date

from sqlalchemy import select

from storage.models import Rating
from storage.repos.base import Repository


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """The first day of the month and the first day of the next one."""
    first = date(year, month, 1)
    after = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first, after


class RatingRepository(Repository):
    async def upsert(
        self, guild_id: int, user_id: int, day: date, score: int, now_ms: int
    ) -> Rating:
        """Set the member's rating of ``day`` (insert or replace, race-safe)."""
        stmt = self.insert(Rating).values(
            guild_id=guild_id, user_id=user_id, day=day, score=score, updated_ms=now_ms
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["guild_id", "user_id", "day"],
            set_={"score": stmt.excluded.score, "updated_ms": stmt.excluded.updated_ms},
        )
        await self.session.execute(stmt)
        rating = await self._select(guild_id, user_id, day, refresh=True)
        assert rating is not None
        return rating

    async def _select(
        self, guild_id: int, user_id: int, day: date, *, refresh: bool
    ) -> Rating | None:
        stmt = select(Rating).where(
            Rating.guild_id == guild_id, Rating.user_id == user_id, Rating.day == day
        )
        if refresh:
            stmt = stmt.execution_options(populate_existing=True)
        return (await self.session.scalars(stmt)).one_or_none()

    async def get(self, guild_id: int, user_id: int, day: date) -> Rating | None:
        return await self._select(guild_id, user_id, day, refresh=False)

    async def for_month(self, guild_id: int, user_id: int, year: int, month: int) -> list[Rating]:
        """The member's ratings of the month, by day."""
        first, after = month_bounds(year, month)
        stmt = (
            select(Rating)
            .where(
                Rating.guild_id == guild_id,
                Rating.user_id == user_id,
                Rating.day >= first,
                Rating.day < after,
            )
            .order_by(Rating.day)
        )
        return list(await self.session.scalars(stmt))

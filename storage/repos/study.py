from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, case, func, literal, select

from storage.models import StudySession
from storage.repos.base import Repository


def _clipped_ms(start_ms: int, end_ms: int) -> ColumnElement[int]:
    """The part of a session inside [start_ms, end_ms), in ms (for overlapping sessions)."""
    lo = case(
        (StudySession.start_ms > start_ms, StudySession.start_ms),
        else_=literal(start_ms, BigInteger),
    )
    hi = case(
        (StudySession.end_ms < end_ms, StudySession.end_ms), else_=literal(end_ms, BigInteger)
    )
    return hi - lo


class StudyRepository(Repository):
    async def add(
        self,
        *,
        guild_id: int,
        user_id: int,
        start_ms: int,
        end_ms: int,
        room_id: int | None = None,
    ) -> StudySession:
        session = StudySession(
            guild_id=guild_id, user_id=user_id, room_id=room_id, start_ms=start_ms, end_ms=end_ms
        )
        self.session.add(session)
        await self.session.flush()
        return session

    def _overlapping(self, start_ms: int, end_ms: int) -> list[ColumnElement[bool]]:
        return [StudySession.start_ms < end_ms, StudySession.end_ms > start_ms]

    async def total_ms(self, guild_id: int, user_id: int, start_ms: int, end_ms: int) -> int:
        """Milliseconds the member studied within [start_ms, end_ms); sessions crossing an
        edge count only their part inside."""
        stmt = select(func.coalesce(func.sum(_clipped_ms(start_ms, end_ms)), 0)).where(
            StudySession.guild_id == guild_id,
            StudySession.user_id == user_id,
            *self._overlapping(start_ms, end_ms),
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def sessions(
        self, guild_id: int, user_id: int, start_ms: int, end_ms: int
    ) -> list[StudySession]:
        """The member's sessions overlapping [start_ms, end_ms), oldest first (unclipped)."""
        stmt = (
            select(StudySession)
            .where(
                StudySession.guild_id == guild_id,
                StudySession.user_id == user_id,
                *self._overlapping(start_ms, end_ms),
            )
            .order_by(StudySession.start_ms, StudySession.id)
        )
        return list(await self.session.scalars(stmt))

    async def leaderboard(
        self, guild_id: int, start_ms: int, end_ms: int, limit: int = 10
    ) -> list[tuple[int, int]]:
        """``(user_id, ms)`` studied within [start_ms, end_ms) in the guild, most first."""
        total = func.sum(_clipped_ms(start_ms, end_ms)).label("total")
        stmt = (
            select(StudySession.user_id, total)
            .where(StudySession.guild_id == guild_id, *self._overlapping(start_ms, end_ms))
            .group_by(StudySession.user_id)
            .order_by(total.desc(), StudySession.user_id)
            .limit(limit)
        )
        return [(int(u), int(t)) for u, t in (await self.session.execute(stmt)).all()]

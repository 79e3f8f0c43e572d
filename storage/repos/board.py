"""Board lines owed (``BoardLine``): written in the transaction of what a line tells, marked
posted with the message Discord made for it, and forgotten a while after."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import delete, func, select

from storage.models import BoardLine
from storage.repos.base import Repository


class BoardLineRepository(Repository):
    async def owe(
        self,
        *,
        guild_id: int,
        room_id: int,
        user_id: int,
        key: str,
        params: Mapping[str, str],
        now_ms: int,
        first_try_ms: int | None = None,
    ) -> int:
        """Record the line as owed; its id. ``first_try_ms``: when a retry may first take it
        (the first attempt is the caller's own, right after the commit)."""
        line = BoardLine(
            guild_id=guild_id,
            room_id=room_id,
            user_id=user_id,
            key=key,
            params=dict(params),
            created_ms=now_ms,
            attempts=0,
            next_try_ms=now_ms if first_try_ms is None else first_try_ms,
        )
        self.session.add(line)
        await self.session.flush()
        return line.id

    async def get(self, line_id: int) -> BoardLine | None:
        return await self.session.get(BoardLine, line_id, populate_existing=True)

    async def lock(self, line_id: int) -> BoardLine | None:
        """The row, re-read and locked until the end of the transaction (None once gone)."""
        stmt = (
            select(BoardLine)
            .where(BoardLine.id == line_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def due(self, now_ms: int | None, limit: int = 100) -> Sequence[BoardLine]:
        """Owed lines due by ``now_ms`` (every owed line when None), oldest first."""
        stmt = select(BoardLine).where(BoardLine.message_id.is_(None))
        if now_ms is not None:
            stmt = stmt.where(BoardLine.next_try_ms <= now_ms)
        stmt = stmt.order_by(BoardLine.id).limit(limit)
        return (await self.session.scalars(stmt)).all()

    async def upcoming(self, limit: int = 500) -> Sequence[BoardLine]:
        """Owed lines, the soonest due first."""
        stmt = (
            select(BoardLine)
            .where(BoardLine.message_id.is_(None))
            .order_by(BoardLine.next_try_ms, BoardLine.id)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def posted_messages(self, room_id: int) -> set[int]:
        """The messages already taken by the room's posted lines."""
        stmt = select(BoardLine.message_id).where(
            BoardLine.room_id == room_id, BoardLine.message_id.is_not(None)
        )
        return {int(m) for m in (await self.session.scalars(stmt)).all() if m is not None}

    async def owed_count(self) -> int:
        stmt = select(func.count()).select_from(BoardLine).where(BoardLine.message_id.is_(None))
        return int(await self.session.scalar(stmt) or 0)

    async def drop(self, line_id: int) -> None:
        await self.session.execute(delete(BoardLine).where(BoardLine.id == line_id))

    async def drop_owed(
        self, room_id: int, user_id: int | None = None, key: str | None = None
    ) -> None:
        """Forget the room's lines not posted yet (of one member, one kind, when given)."""
        stmt = delete(BoardLine).where(BoardLine.room_id == room_id, BoardLine.message_id.is_(None))
        if user_id is not None:
            stmt = stmt.where(BoardLine.user_id == user_id)
        if key is not None:
            stmt = stmt.where(BoardLine.key == key)
        await self.session.execute(stmt)

    async def forget_posted(self, before_ms: int) -> None:
        """Forget lines posted that were owed before ``before_ms``: no retry looks back so far."""
        await self.session.execute(
            delete(BoardLine).where(
                BoardLine.message_id.is_not(None), BoardLine.created_ms < before_ms
            )
        )

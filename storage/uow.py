"""The unit of work: one SQL transaction and the repositories that work inside it.

    async with uow_factory() as uow:
        member = await uow.members.lock(guild_id, user_id, now_ms)
        if await uow.ledger.balance(guild_id, user_id) >= cost:
            await uow.ledger.add(guild_id, user_id, -cost, "room.join", ref, key, now_ms)
        await uow.commit()

Leaving the block without ``commit()`` rolls everything back. On SQLite every unit of work
holds the database's write lock from its first statement to its end, so keep it short: never
await Discord (or anything slow) inside one.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.repos import (
    LedgerRepository,
    MemberRepository,
    RatingRepository,
    RoomRepository,
    RunRepository,
    StudyRepository,
    TodoRepository,
)
from storage.repos.board import BoardLineRepository
from storage.repos.cleanups import CleanupRepository
from storage.repos.guild_settings import GuildSettingsRepository
from storage.repos.installation import InstallationRepository


class UnitOfWork:
    """Owns one ``AsyncSession`` (``expire_on_commit=False``); use once, as ``async with``."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], dialect: str) -> None:
        self.session: AsyncSession = sessions()
        self.dialect = dialect
        self.members = MemberRepository(self.session, dialect)
        self.rooms = RoomRepository(self.session, dialect)
        self.runs = RunRepository(self.session, dialect)
        self.ledger = LedgerRepository(self.session, dialect)
        self.todos = TodoRepository(self.session, dialect)
        self.ratings = RatingRepository(self.session, dialect)
        self.study = StudyRepository(self.session, dialect)
        self.cleanups = CleanupRepository(self.session, dialect)
        self.board = BoardLineRepository(self.session, dialect)
        self.installation = InstallationRepository(self.session, dialect)
        self.guild_settings = GuildSettingsRepository(self.session, dialect)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Closing rolls back whatever was not committed and returns the connection; shielded
        # so a cancelled task still releases its connection (and SQLite's write lock).
        await asyncio.shield(self.session.close())

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()

    async def flush(self) -> None:
        await self.session.flush()


class UnitOfWorkFactory:
    """Makes units of work over one engine: ``async with factory() as uow: ...``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._sessions, self.dialect)


__all__ = ["UnitOfWork", "UnitOfWorkFactory"]

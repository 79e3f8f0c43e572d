"""What every repository shares: the unit of work's session and the SQL dialect's name."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

Insert = postgresql.Insert | sqlite.Insert


class Repository:
    """Queries over one ``AsyncSession``; the unit of work owns the session and commits."""

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def insert(self, entity: Any) -> Insert:
        """An INSERT that supports ``ON CONFLICT`` on the current dialect."""
        if self.is_postgres:
            return postgresql.insert(entity)
        if self.dialect == "sqlite":
            return sqlite.insert(entity)
        raise NotImplementedError(f"ON CONFLICT on {self.dialect}")

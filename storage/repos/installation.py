"""This database's identity (``Installation``): issued once, when the database was created."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Installation
from storage.repos.base import Repository


class InstallationRepository(Repository):
    async def identity(self) -> str:
        """The identity the session store records, so live state is never attached to the
        rooms of another database. Raises ``LookupError`` on a database not migrated."""
        stmt = select(Installation.identity).where(Installation.id == 1)
        identity = (await self.session.execute(stmt)).scalar_one_or_none()
        if identity is None:
            raise LookupError("the database has no identity: it was not migrated")
        return identity

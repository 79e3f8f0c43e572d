from __future__ import annotations

from sqlalchemy import func, select

from bot.domain.points import LedgerEntry as DomainEntry
from storage.models import LedgerEntry
from storage.repos.base import Repository


class LedgerRepository(Repository):
    async def balance(self, guild_id: int, user_id: int) -> int:
        """The sum of the member's entries; 0 when there are none."""
        stmt = select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.guild_id == guild_id, LedgerEntry.user_id == user_id
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def by_key(self, key: str) -> LedgerEntry | None:
        stmt = select(LedgerEntry).where(LedgerEntry.idempotency_key == key)
        return (await self.session.scalars(stmt)).one_or_none()

    async def get(self, entry_id: int) -> LedgerEntry | None:
        return await self.session.get(LedgerEntry, entry_id)

    async def add_entry(
        self, guild_id: int, user_id: int, entry: DomainEntry, now_ms: int
    ) -> LedgerEntry:
        """Append a domain ledger entry for the member (see ``add``)."""
        return await self.add(
            guild_id,
            user_id,
            entry.amount,
            entry.reason.value,
            entry.reference,
            entry.idempotency_key,
            now_ms,
        )

    async def add(
        self,
        guild_id: int,
        user_id: int,
        amount: int,
        reason: str,
        reference: str,
        key: str,
        now_ms: int,
    ) -> LedgerEntry:
        """Append an entry (flushed, so it has an id).

        A key used before raises ``sqlalchemy.exc.IntegrityError``; the unit of work must then
        be rolled back. Check ``by_key`` first, under the member's lock.
        """
        entry = LedgerEntry(
            guild_id=guild_id,
            user_id=user_id,
            amount=amount,
            reason=reason,
            reference=reference,
            idempotency_key=key,
            created_ms=now_ms,
        )
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def recent(self, guild_id: int, user_id: int, limit: int = 10) -> list[LedgerEntry]:
        """The member's latest entries, newest first."""
        stmt = (
            select(LedgerEntry)
            .where(LedgerEntry.guild_id == guild_id, LedgerEntry.user_id == user_id)
            .order_by(LedgerEntry.id.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(stmt))

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select

from storage.models import Member
from storage.repos.base import Repository


class MemberRepository(Repository):
    async def get(self, guild_id: int, user_id: int) -> Member | None:
        return await self.session.get(Member, (guild_id, user_id))

    async def _insert_missing(self, guild_id: int, user_id: int, now_ms: int) -> bool:
        """Insert the member unless it exists (race-safe); True if this call created it."""
        stmt = (
            self.insert(Member)
            .values(guild_id=guild_id, user_id=user_id, created_ms=now_ms)
            .on_conflict_do_nothing(index_elements=["guild_id", "user_id"])
        )
        result = cast(CursorResult[Any], await self.session.execute(stmt))
        return result.rowcount == 1

    async def get_or_create(self, guild_id: int, user_id: int, now_ms: int) -> tuple[Member, bool]:
        """The member, and whether this call created it (first use in the guild)."""
        existing = await self.get(guild_id, user_id)
        if existing is not None:
            return existing, False
        created = await self._insert_missing(guild_id, user_id, now_ms)
        member = await self.session.get(Member, (guild_id, user_id))
        assert member is not None
        return member, created

    async def lock(self, guild_id: int, user_id: int, now_ms: int) -> Member:
        """The member, created if missing, locked until the end of the transaction.

        PostgreSQL: ``SELECT ... FOR UPDATE`` on the member's row, so everything one member
        spends is serialised. SQLite: every transaction already holds the database's write
        lock (``BEGIN IMMEDIATE``).
        """
        await self._insert_missing(guild_id, user_id, now_ms)
        stmt = (
            select(Member)
            .where(Member.guild_id == guild_id, Member.user_id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).one()

    async def set_timezone(
        self, guild_id: int, user_id: int, timezone: str | None, now_ms: int
    ) -> Member:
        """Set (None: clear) the member's IANA time zone, creating the member if needed."""
        member, _ = await self.get_or_create(guild_id, user_id, now_ms)
        member.timezone = timezone
        await self.session.flush()
        return member

    async def set_locale(
        self, guild_id: int, user_id: int, locale: str | None, now_ms: int
    ) -> Member:
        """Set (None: clear) the member's locale, creating the member if needed."""
        member, _ = await self.get_or_create(guild_id, user_id, now_ms)
        member.locale = locale
        await self.session.flush()
        return member

    async def set_weekly_goal(
        self, guild_id: int, user_id: int, minutes: int | None, now_ms: int
    ) -> Member:
        """Set (None: clear) the member's weekly study-time goal, in minutes, creating the
        member if needed."""
        member, _ = await self.get_or_create(guild_id, user_id, now_ms)
        member.weekly_goal_minutes = minutes
        await self.session.flush()
        return member

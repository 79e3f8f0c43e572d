"""Discord cleanups owed: channels to delete and member overwrites to remove, kept until
Discord has done them (``DiscordCleanup``). A row is written in the transaction that makes
the work owed, and deleted once the work is done."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, exists, func, or_, select

from bot.domain.rooms import RoomStatus
from storage.models import CleanupKind, DiscordCleanup, Room, RoomMember
from storage.repos.base import Repository


class CleanupRepository(Repository):
    async def owe(
        self,
        *,
        guild_id: int,
        kind: CleanupKind,
        channel_id: int,
        now_ms: int,
        user_id: int = 0,
    ) -> None:
        """Record the work as owed, due now; owing it again changes nothing (race-safe)."""
        stmt = (
            self.insert(DiscordCleanup)
            .values(
                guild_id=guild_id,
                kind=kind.value,
                channel_id=channel_id,
                user_id=user_id,
                created_ms=now_ms,
                attempts=0,
                next_try_ms=now_ms,
            )
            .on_conflict_do_nothing(index_elements=["kind", "channel_id", "user_id"])
        )
        await self.session.execute(stmt)

    async def find(
        self, kind: CleanupKind, channel_id: int, user_id: int = 0
    ) -> DiscordCleanup | None:
        stmt = select(DiscordCleanup).where(
            DiscordCleanup.kind == kind.value,
            DiscordCleanup.channel_id == channel_id,
            DiscordCleanup.user_id == user_id,
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def lock(self, cleanup_id: int) -> DiscordCleanup | None:
        """The row, re-read and locked until the end of the transaction (None once done)."""
        stmt = (
            select(DiscordCleanup)
            .where(DiscordCleanup.id == cleanup_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def due(self, now_ms: int, limit: int = 100) -> Sequence[DiscordCleanup]:
        """What is owed and due by ``now_ms``, the longest waiting first."""
        stmt = (
            select(DiscordCleanup)
            .where(DiscordCleanup.next_try_ms <= now_ms)
            .order_by(DiscordCleanup.next_try_ms, DiscordCleanup.id)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def upcoming(self, limit: int = 500) -> Sequence[DiscordCleanup]:
        """Everything owed, the soonest due first (at most ``limit`` rows)."""
        stmt = (
            select(DiscordCleanup)
            .order_by(DiscordCleanup.next_try_ms, DiscordCleanup.id)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def of_channels(
        self, kind: CleanupKind, channel_ids: Iterable[int], user_id: int = 0
    ) -> Sequence[DiscordCleanup]:
        ids = list(channel_ids)
        if not ids:
            return []
        stmt = (
            select(DiscordCleanup)
            .where(
                DiscordCleanup.kind == kind.value,
                DiscordCleanup.channel_id.in_(ids),
                DiscordCleanup.user_id == user_id,
            )
            .order_by(DiscordCleanup.id)
        )
        return (await self.session.scalars(stmt)).all()

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(DiscordCleanup)) or 0)

    async def done(self, cleanup_id: int) -> None:
        """The work is done: it is owed no more."""
        await self.session.execute(delete(DiscordCleanup).where(DiscordCleanup.id == cleanup_id))

    async def is_room_member(self, channel_id: int, user_id: int) -> bool:
        """Whether ``user_id`` is, right now, a member of the open room one of whose channels
        is ``channel_id`` (they joined again since their access was owed removed)."""
        stmt = select(
            exists().where(
                Room.status == RoomStatus.OPEN.value,
                or_(Room.text_channel_id == channel_id, Room.voice_channel_id == channel_id),
                RoomMember.room_id == Room.id,
                RoomMember.user_id == user_id,
                RoomMember.left_ms.is_(None),
            )
        )
        return bool(await self.session.scalar(stmt))

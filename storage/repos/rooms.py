from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Exists, delete, func, literal, select, update

from bot.domain.rooms import RoomStatus
from bot.domain.timer import Mode
from storage.models import BoardLine, Room, RoomMember
from storage.repos.base import Repository


def title_key(title: str) -> str:
    """What title search compares (``Room.title_key``): the title casefolded here, as the
    databases' own case folding is ASCII-only on SQLite. Set it whenever a title is set."""
    return title.casefold()


class RoomRepository(Repository):
    async def add(
        self,
        *,
        guild_id: int,
        owner_id: int,
        title: str,
        capacity: int,
        study_ms: int,
        break_ms: int,
        terms: int,
        created_ms: int,
        notice: str = "",
        tags: Sequence[str] = (),
        status: RoomStatus = RoomStatus.OPEN,
        text_channel_id: int | None = None,
        voice_channel_id: int | None = None,
        card_message_id: int | None = None,
        long_break_ms: int | None = None,
        long_every: int | None = None,
        focus: bool = False,
        mode: Mode = Mode.POMODORO,
        break_share: int | None = None,
    ) -> Room:
        """A new room, open by default (flushed, so it has an id)."""
        room = Room(
            guild_id=guild_id,
            owner_id=owner_id,
            title=title,
            title_key=title_key(title),
            notice=notice,
            tags=list(tags),
            capacity=capacity,
            study_ms=study_ms,
            break_ms=break_ms,
            terms=terms,
            long_break_ms=long_break_ms,
            long_every=long_every,
            focus=focus,
            mode=mode.value,
            break_share=break_share,
            text_channel_id=text_channel_id,
            voice_channel_id=voice_channel_id,
            card_message_id=card_message_id,
            status=str(status),
            created_ms=created_ms,
        )
        self.session.add(room)
        await self.session.flush()
        return room

    async def get(self, room_id: int) -> Room | None:
        return await self.session.get(Room, room_id)

    async def get_for_update(self, room_id: int) -> Room | None:
        """The room, re-read and locked until the end of the transaction (PostgreSQL
        ``FOR UPDATE``; SQLite transactions hold the write lock already)."""
        stmt = (
            select(Room)
            .where(Room.id == room_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def by_text_channel(self, channel_id: int) -> Room | None:
        stmt = select(Room).where(Room.text_channel_id == channel_id)
        return (await self.session.scalars(stmt)).one_or_none()

    async def owns_channel(self, channel_id: int) -> bool:
        """Whether any room, open or not, records ``channel_id`` as its text or voice channel."""
        stmt = (
            select(Room.id)
            .where((Room.text_channel_id == channel_id) | (Room.voice_channel_id == channel_id))
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first() is not None

    async def by_voice_channel(self, channel_id: int) -> Room | None:
        """The open room using this voice channel, if any."""
        stmt = (
            select(Room)
            .where(Room.voice_channel_id == channel_id, Room.status == RoomStatus.OPEN.value)
            .order_by(Room.id.desc())
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first()

    def _has_tag(self, tag: str) -> Exists:
        """True where ``tag`` is one of the room's tags (exact match, on either dialect)."""
        if self.is_postgres:
            elements = func.json_array_elements_text(Room.tags).table_valued("value")
        else:
            elements = func.json_each(Room.tags).table_valued("value")
        return select(literal(1)).select_from(elements).where(elements.c.value == tag).exists()

    def _open_filter(
        self, guild_id: int, tag: str | None, query: str | None
    ) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [
            Room.guild_id == guild_id,
            Room.status == RoomStatus.OPEN.value,
        ]
        if query:
            conditions.append(Room.title_key.contains(title_key(query), autoescape=True))
        if tag:
            conditions.append(self._has_tag(tag))
        return conditions

    async def list_open(
        self,
        guild_id: int,
        tag: str | None = None,
        query: str | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Room]:
        """Open rooms of the guild, newest first. ``tag`` matches one tag exactly (normalise
        tags before storing and searching); ``query`` is a title substring, ignoring case in
        every script (compared casefolded)."""
        stmt = (
            select(Room)
            .where(*self._open_filter(guild_id, tag, query))
            .order_by(Room.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(await self.session.scalars(stmt))

    async def count_open(
        self, guild_id: int, tag: str | None = None, query: str | None = None
    ) -> int:
        stmt = (
            select(func.count()).select_from(Room).where(*self._open_filter(guild_id, tag, query))
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def active_members(self, room_id: int) -> list[RoomMember]:
        """Current members (not left), longest-present first."""
        stmt = (
            select(RoomMember)
            .where(RoomMember.room_id == room_id, RoomMember.left_ms.is_(None))
            .order_by(RoomMember.joined_ms, RoomMember.id)
        )
        return list(await self.session.scalars(stmt))

    async def active_membership(self, room_id: int, user_id: int) -> RoomMember | None:
        stmt = select(RoomMember).where(
            RoomMember.room_id == room_id,
            RoomMember.user_id == user_id,
            RoomMember.left_ms.is_(None),
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def memberships(self, room_id: int) -> list[RoomMember]:
        """Every stay in the room, including finished ones, in joining order."""
        stmt = (
            select(RoomMember)
            .where(RoomMember.room_id == room_id)
            .order_by(RoomMember.joined_ms, RoomMember.id)
        )
        return list(await self.session.scalars(stmt))

    async def membership_count(self, room_id: int, user_id: int) -> int:
        """How many stays the user has had in the room (the next one is number count + 1)."""
        stmt = (
            select(func.count())
            .select_from(RoomMember)
            .where(RoomMember.room_id == room_id, RoomMember.user_id == user_id)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def add_member(
        self,
        *,
        room_id: int,
        user_id: int,
        joined_ms: int,
        membership_no: int,
        payment_entry_id: int | None = None,
    ) -> RoomMember:
        """Record a stay starting at ``joined_ms`` (flushed). A second active stay of the same
        user in the same room raises ``sqlalchemy.exc.IntegrityError``."""
        membership = RoomMember(
            room_id=room_id,
            user_id=user_id,
            joined_ms=joined_ms,
            membership_no=membership_no,
            payment_entry_id=payment_entry_id,
        )
        self.session.add(membership)
        await self.session.flush()
        return membership

    async def leave(self, membership: RoomMember, now_ms: int) -> None:
        membership.left_ms = now_ms
        await self.session.flush()

    async def rooms_of_member(self, guild_id: int, user_id: int) -> list[Room]:
        """Open rooms of the guild the user is currently in."""
        stmt = (
            select(Room)
            .join(RoomMember, RoomMember.room_id == Room.id)
            .where(
                Room.guild_id == guild_id,
                Room.status == RoomStatus.OPEN.value,
                RoomMember.user_id == user_id,
                RoomMember.left_ms.is_(None),
            )
            .order_by(Room.id)
        )
        return list(await self.session.scalars(stmt))

    async def unfinished_creates(self, started_before_ms: int) -> list[Room]:
        """Rooms still being made that began before ``started_before_ms`` (their making
        failed without being undone: the process died part way)."""
        stmt = (
            select(Room)
            .where(Room.status == RoomStatus.CREATING.value, Room.created_ms < started_before_ms)
            .order_by(Room.id)
        )
        return list(await self.session.scalars(stmt))

    async def scheduled_starts(self) -> list[Room]:
        """Open rooms with a scheduled start, soonest first."""
        stmt = (
            select(Room)
            .where(Room.status == RoomStatus.OPEN.value, Room.scheduled_start_ms.is_not(None))
            .order_by(Room.scheduled_start_ms, Room.id)
        )
        return list(await self.session.scalars(stmt))

    async def close(self, room: Room, now_ms: int) -> None:
        """Close the room and end every stay still open in it."""
        room.status = RoomStatus.CLOSED.value
        room.closed_ms = now_ms
        room.scheduled_start_ms = None
        await self.session.execute(
            update(RoomMember)
            .where(RoomMember.room_id == room.id, RoomMember.left_ms.is_(None))
            .values(left_ms=now_ms)
        )
        # its board owes nothing more: the channel goes with it
        await self.session.execute(
            delete(BoardLine).where(BoardLine.room_id == room.id, BoardLine.message_id.is_(None))
        )
        await self.session.flush()

"""Study rooms: create, join, leave, notice, close, list and info.

SQL holds the durable room and memberships (with the payment each member made); the session
store mirrors who is in the room now for the hot paths (alarms, dismissals). Every refusal
is raised before anything is written. A room closing owes the deletion of its channels, and a
member leaving the removal of their access: recorded in the same transaction, then done by
the cleanup service (and retried until Discord has done it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.clock import Clock
from bot.domain import rooms as rules
from bot.domain.errors import (
    AlreadyMember,
    NotFound,
    NotMember,
    NotOwner,
    RoomClosed,
    ValidationError,
)
from bot.domain.points import Reason, check_spend, room_create_key, room_join_key, undo_entry
from bot.domain.timer import Pattern
from bot.services.cleanups import CleanupService, Owed, access_removals, channel_deletes, owe
from bot.services.events import RoomClosed as RoomClosedEvent
from bot.services.events import RoomListener, RunEnding, notify_run_ending
from bot.services.points import charge, ensure_member
from bot.services.ports import WakeScheduler
from bot.services.settings import ServiceSettings
from storage.models import CleanupKind, Room, RoomMember
from storage.session.base import RoomKey, SessionStore
from storage.uow import UnitOfWork, UnitOfWorkFactory

OPEN = "open"
CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class RoomView:
    room: Room
    members: tuple[RoomMember, ...]

    @property
    def key(self) -> RoomKey:
        return RoomKey(self.room.guild_id, self.room.id)


@dataclass(frozen=True, slots=True)
class RoomDraft:
    """A room as asked for, every value checked and cleaned; nothing written yet."""

    title: str
    notice: str
    tags: tuple[str, ...]
    capacity: int
    pattern: Pattern


@dataclass(frozen=True, slots=True)
class LeaveOutcome:
    room: Room
    new_owner_id: int | None  # set when the owner left and ownership passed on
    closed: bool  # the last member left


def key_of(room: Room) -> RoomKey:
    return RoomKey(room.guild_id, room.id)


async def open_room(uow: UnitOfWork, room_id: int, *, lock: bool = False) -> Room:
    room = await (uow.rooms.get_for_update(room_id) if lock else uow.rooms.get(room_id))
    if room is None:
        raise NotFound("room")
    if room.status != OPEN:
        raise RoomClosed()
    return room


class RoomService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        store: SessionStore,
        scheduler: WakeScheduler,
        listener: RoomListener,
        clock: Clock,
        settings: ServiceSettings,
        cleanups: CleanupService | None = None,
    ) -> None:
        self._uow = uow_factory
        self._store = store
        self._scheduler = scheduler
        self._listener = listener
        self._clock = clock
        self._settings = settings
        self._cleanups = cleanups

    # -- create ---------------------------------------------------------------------------

    async def check_can_create(self, guild_id: int, user_id: int) -> None:
        """Refuse early (before channels exist) when the member cannot pay."""
        now = self._clock.now_ms()
        async with self._uow() as uow:
            await ensure_member(uow, guild_id, user_id, now, self._settings.signup_bonus)
            if self._settings.room_create_cost > 0:
                check_spend(
                    await uow.ledger.balance(guild_id, user_id), self._settings.room_create_cost
                )
            await uow.commit()

    def validate_create(
        self,
        title: str,
        study_minutes: int,
        break_minutes: int,
        terms: int,
        tags: str | Sequence[str] | None = None,
        notice: str | None = None,
        capacity: int | None = None,
    ) -> RoomDraft:
        """Check everything a new room needs (raises ``ValidationError``); writes nothing,
        so callers can refuse before creating anything outside the database."""
        return RoomDraft(
            title=rules.validate_title(title),
            notice=rules.validate_notice(notice or ""),
            tags=rules.validate_tags(tags or ()),
            capacity=rules.validate_capacity(
                capacity if capacity is not None else self._settings.max_capacity,
                self._settings.max_capacity,
            ),
            pattern=Pattern.from_minutes(study_minutes, break_minutes, terms),
        )

    async def create(
        self,
        guild_id: int,
        owner_id: int,
        title: str,
        study_minutes: int,
        break_minutes: int,
        terms: int,
        tags: str | Sequence[str] | None = None,
        notice: str | None = None,
        capacity: int | None = None,
    ) -> Room:
        draft = self.validate_create(
            title, study_minutes, break_minutes, terms, tags, notice, capacity
        )
        now = self._clock.now_ms()
        cost = self._settings.room_create_cost
        async with self._uow() as uow:
            await ensure_member(uow, guild_id, owner_id, now, self._settings.signup_bonus)
            if cost > 0:
                check_spend(await uow.ledger.balance(guild_id, owner_id), cost)
            room = await uow.rooms.add(
                guild_id=guild_id,
                owner_id=owner_id,
                title=draft.title,
                notice=draft.notice,
                tags=list(draft.tags),
                capacity=draft.capacity,
                study_ms=draft.pattern.study_ms,
                break_ms=draft.pattern.break_ms,
                terms=draft.pattern.terms,
                status=OPEN,
                created_ms=now,
            )
            payment = await charge(
                uow,
                guild_id,
                owner_id,
                cost,
                Reason.ROOM_CREATE,
                f"room:{room.id}",
                room_create_key(room.id),
                now,
            )
            await uow.rooms.add_member(
                room_id=room.id,
                user_id=owner_id,
                joined_ms=now,
                membership_no=1,
                payment_entry_id=payment.id if payment else None,
            )
            await uow.commit()
        await self._store.add_member(key_of(room), owner_id, now)
        return room

    async def attach_channels(
        self,
        room_id: int,
        text_channel_id: int | None,
        voice_channel_id: int | None,
        card_message_id: int | None = None,
    ) -> Room:
        async with self._uow() as uow:
            room = await open_room(uow, room_id, lock=True)
            room.text_channel_id = text_channel_id
            room.voice_channel_id = voice_channel_id
            if card_message_id is not None:
                room.card_message_id = card_message_id
            await uow.commit()
            return room

    # -- membership -----------------------------------------------------------------------

    async def join(self, room_id: int, user_id: int) -> Room:
        now = self._clock.now_ms()
        cost = self._settings.room_join_cost
        async with self._uow() as uow:
            room = await open_room(uow, room_id, lock=True)
            if await uow.rooms.active_membership(room_id, user_id) is not None:
                raise AlreadyMember()
            rules.can_join(len(await uow.rooms.active_members(room_id)), room.capacity)
            await ensure_member(uow, room.guild_id, user_id, now, self._settings.signup_bonus)
            number = await uow.rooms.membership_count(room_id, user_id) + 1
            payment = await charge(
                uow,
                room.guild_id,
                user_id,
                cost,
                Reason.ROOM_JOIN,
                f"room:{room.id}",
                room_join_key(room.id, user_id, number),
                now,
            )
            await uow.rooms.add_member(
                room_id=room.id,
                user_id=user_id,
                joined_ms=now,
                membership_no=number,
                payment_entry_id=payment.id if payment else None,
            )
            # an access removal still owed from an earlier stay must not take away the access
            # this join grants
            for channel_id in (room.text_channel_id, room.voice_channel_id):
                if channel_id is not None:
                    owed = await uow.cleanups.find(CleanupKind.REVOKE_ACCESS, channel_id, user_id)
                    if owed is not None:
                        await uow.cleanups.done(owed.id)
            await uow.commit()
        await self._store.add_member(key_of(room), user_id, now)
        return room

    async def leave(self, room_id: int, user_id: int) -> LeaveOutcome:
        now = self._clock.now_ms()
        async with self._uow() as uow:
            room = await open_room(uow, room_id, lock=True)
            membership = await uow.rooms.active_membership(room_id, user_id)
            if membership is None:
                raise NotMember()
            await uow.rooms.leave(membership, now)
            remaining = {
                m.user_id: m.joined_ms
                for m in await uow.rooms.active_members(room_id)
                if m.user_id != user_id
            }
            new_owner: int | None = None
            channels = (room.text_channel_id, room.voice_channel_id)
            if not remaining:
                run = await uow.runs.current(room_id)
                if run is not None:
                    await uow.runs.finish(run, "stopped", now)
                await uow.rooms.close(room, now)
                owed = channel_deletes(channels)
            else:
                if room.owner_id == user_id:
                    new_owner = rules.next_owner(remaining, user_id)
                    room.owner_id = new_owner if new_owner is not None else room.owner_id
                owed = access_removals(channels, user_id)
            await owe(uow, room.guild_id, owed, now)
            await uow.commit()
        key = key_of(room)
        try:
            await self._store.remove_member(key, user_id)
            if not remaining:
                await self._forget(room, "empty")
        finally:
            # the removal is owed in SQL already; do it now even if live state failed
            await self._clean_up(owed)
        return LeaveOutcome(room, new_owner, closed=not remaining)

    async def undo_join(self, room_id: int, user_id: int) -> None:
        """Take back a join the Discord side could not complete (the bot could not grant
        access): the stay ends at the instant it began and its payment is returned, once;
        any access already granted is owed removed. The stay is kept (zero length), so a
        later join is numbered, and paid, afresh."""
        now = self._clock.now_ms()
        async with self._uow() as uow:
            room = await uow.rooms.get_for_update(room_id)
            if room is None:
                raise NotFound("room")
            membership = await uow.rooms.active_membership(room_id, user_id)
            if membership is None:
                return
            await uow.members.lock(room.guild_id, user_id, now)
            await uow.rooms.leave(membership, membership.joined_ms)
            payment_id = membership.payment_entry_id
            payment = await uow.ledger.get(payment_id) if payment_id is not None else None
            if payment is not None and payment.amount < 0:
                undo = undo_entry(room_id, payment.id, payment)
                if await uow.ledger.by_key(undo.idempotency_key) is None:
                    await uow.ledger.add_entry(payment.guild_id, payment.user_id, undo, now)
            # whatever part of the grant Discord did carry out is taken back, until done
            owed = access_removals((room.text_channel_id, room.voice_channel_id), user_id)
            await owe(uow, room.guild_id, owed, now)
            await uow.commit()
        try:
            await self._store.remove_member(key_of(room), user_id)
        finally:
            await self._clean_up(owed)

    # -- owner actions --------------------------------------------------------------------

    async def set_notice(self, room_id: int, user_id: int, text: str) -> Room:
        notice = rules.validate_notice(text)
        async with self._uow() as uow:
            room = await open_room(uow, room_id, lock=True)
            if room.owner_id != user_id:
                raise NotOwner()
            room.notice = notice
            await uow.commit()
            return room

    async def close(self, room_id: int, user_id: int | None, reason: str = "owner") -> Room:
        """Close the room (``user_id`` must own it; None for the system). Its run is dropped."""
        now = self._clock.now_ms()
        async with self._uow() as uow:
            room = await open_room(uow, room_id, lock=True)
            if user_id is not None and room.owner_id != user_id:
                raise NotOwner()
            run = await uow.runs.current(room_id)
            if run is not None:
                await uow.runs.finish(run, "stopped", now)
            await uow.rooms.close(room, now)
            owed = channel_deletes((room.text_channel_id, room.voice_channel_id))
            await owe(uow, room.guild_id, owed, now)
            await uow.commit()
        try:
            await self._forget(room, reason)
        finally:
            await self._clean_up(owed)
        return room

    async def _forget(self, room: Room, reason: str) -> None:
        key = key_of(room)
        self._scheduler.cancel(key)
        await notify_run_ending(self._listener, RunEnding(key, self._clock.now_ms()))
        await self._store.drop_room(key)
        await self._listener.on_room_closed(
            RoomClosedEvent(key, room.text_channel_id, room.voice_channel_id, reason)
        )

    async def _clean_up(self, owed: list[Owed]) -> None:
        """Do the Discord work just made owed (it stays owed, and is retried, if it fails)."""
        if self._cleanups is not None and owed:
            await self._cleanups.perform(owed)

    # -- queries --------------------------------------------------------------------------

    async def get(self, room_id: int) -> RoomView:
        async with self._uow() as uow:
            room = await uow.rooms.get(room_id)
            if room is None:
                raise NotFound("room")
            members = await uow.rooms.active_members(room_id)
            return RoomView(room, tuple(members))

    async def by_channel(self, channel_id: int) -> Room | None:
        async with self._uow() as uow:
            return await uow.rooms.by_text_channel(channel_id)

    async def list_open(
        self,
        guild_id: int,
        tag: str | None = None,
        query: str | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[RoomView]:
        # filters as typed ("#Math", " math ") match what was stored (normalised tags)
        tag = rules.normalize_tag(tag) if tag else None
        query = rules.clean_text(query) if query else None
        async with self._uow() as uow:
            rooms = await uow.rooms.list_open(
                guild_id, tag=tag or None, query=query or None, limit=limit, offset=offset
            )
            return [RoomView(r, tuple(await uow.rooms.active_members(r.id))) for r in rooms]

    async def count_open(
        self, guild_id: int, tag: str | None = None, query: str | None = None
    ) -> int:
        """How many open rooms ``list_open`` would page through with these filters."""
        tag = rules.normalize_tag(tag) if tag else None
        query = rules.clean_text(query) if query else None
        async with self._uow() as uow:
            return await uow.rooms.count_open(guild_id, tag=tag or None, query=query or None)

    @staticmethod
    def validate_filters(tag: str | None, query: str | None) -> tuple[str | None, str | None]:
        """A ``/room list`` filter as typed, checked: a tag is one valid tag; a title query
        is at most a title long (a longer one could match nothing). Empty means no filter."""
        clean_tag = rules.validate_tag(tag) if tag and rules.normalize_tag(tag) else None
        clean_query = rules.clean_text(query) if query else ""
        if rules.has_control_chars(clean_query):
            raise ValidationError("query", "control_chars")
        if len(clean_query) > rules.TITLE_MAX:
            raise ValidationError("query", "too_long", max=rules.TITLE_MAX, length=len(clean_query))
        return clean_tag, clean_query or None

    async def rooms_of(self, guild_id: int, user_id: int) -> list[Room]:
        async with self._uow() as uow:
            return list(await uow.rooms.rooms_of_member(guild_id, user_id))

"""Study rooms: create, join, leave, notice, close, list and info.

SQL holds the durable room and memberships (with the payment each member made); the session
store mirrors who is in the room now for the hot paths (alarms, dismissals). Every refusal
is raised before anything is written. A room closing owes the deletion of its channels, and a
member leaving the removal of their access: recorded in the same transaction, then done by
the cleanup service (and retried until Discord has done it).

Making a room is a saga through the ``RoomChannels`` port: the room is paid for and recorded
as ``CREATING`` first, then its channels (each recorded as it is made) and its card; it opens
only when all are there. A failure undoes it in reverse (channels owed deleted, payment
returned, room closed); a create that hung, or could not undo itself, and a process that died
part way leave a ``CREATING`` row that a sweep undoes the same way once it is old enough: the
serving process's own, or the next start's. Joining pays, then opens the channels through the
same port; if Discord does not, the join is undone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.clock import Clock
from bot.domain import rooms as rules
from bot.domain.errors import (
    AlreadyMember,
    CreateNotCompleted,
    JoinNotCompleted,
    NoChannels,
    NotFound,
    NotMember,
    NotOwner,
    RoomClosed,
    RoomNotCreated,
    StudyOnError,
    ValidationError,
)
from bot.domain.points import Reason, check_spend, room_create_key, room_join_key, undo_entry
from bot.domain.rooms import RoomInfo, RoomStatus, RoomView
from bot.domain.run import RoomKey, RunStatus
from bot.domain.timer import Mode, Pattern
from bot.services.base import SqlService
from bot.services.board import CREATED, JOINED, LEFT, OWNER, BoardLines, Line, owe_line
from bot.services.cleanups import CleanupService, Owed, access_removals, channel_deletes, owe
from bot.services.events import RoomClosed as RoomClosedEvent
from bot.services.events import RoomListener, RunEnding, notify_run_ending
from bot.services.outage import PartlyDone, storage_failure
from bot.services.points import charge, ensure_member
from bot.services.ports import CallScheduler, ChannelFinder, RoomChannels, WakeScheduler
from bot.services.settings import ServiceSettings
from storage.models import CleanupKind, Room
from storage.session.base import SessionStore
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

# a room still being made this long after it began was left by a process that died
CREATE_ABANDONED_MS = 5 * 60_000
SWEEP_CALL = "abandoned-creates"
# when a sweep fails (a store out of reach), it looks again after this long
SWEEP_RECHECK_MS = 30_000
# A half-made room's channels were made by Discord (their ids carry Discord's clock) after
# the room was recorded (``created_ms``, this clock), and before the room counts as abandoned:
# later, its own process's sweep has undone it, and a channel its create still makes is
# deleted by that create's own undo. Either end is widened by as much as the two clocks may
# differ (both kept by NTP to well under a second), and no more: a wider window could take
# the channel of another room of the same title that is being made and not yet recorded.
CLOCK_MARGIN_MS = 2_000


@dataclass(frozen=True, slots=True)
class RoomDraft:
    """A room as asked for, every value checked and cleaned; nothing written yet."""

    title: str
    notice: str
    tags: tuple[str, ...]
    capacity: int
    pattern: Pattern
    focus: bool = False  # nobody speaks in the voice channel during study phases


@dataclass(frozen=True, slots=True)
class LeaveOutcome:
    room: RoomInfo
    new_owner_id: int | None  # set when the owner left and ownership passed on
    closed: bool  # the last member left
    cleanup_pending: bool = False  # its removal (access, or the channels) is owed still


@dataclass(frozen=True, slots=True)
class Closed:
    room: RoomInfo
    channels_pending: bool  # its channels are owed deleted still


def key_of(room: Room | RoomInfo) -> RoomKey:
    return RoomKey(room.guild_id, room.id)


async def open_room(uow: UnitOfWork, room_id: int, *, lock: bool = False) -> Room:
    room = await (uow.rooms.get_for_update(room_id) if lock else uow.rooms.get(room_id))
    if room is None:
        raise NotFound("room")
    if room.status != RoomStatus.OPEN:
        raise RoomClosed()
    return room


class RoomService(SqlService):
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        store: SessionStore,
        scheduler: WakeScheduler,
        listener: RoomListener,
        clock: Clock,
        settings: ServiceSettings,
        cleanups: CleanupService | None = None,
        *,
        calls: CallScheduler | None = None,
        board: BoardLines | None = None,
    ) -> None:
        super().__init__(uow_factory, clock, settings)
        self._store = store
        self._scheduler = scheduler
        self._listener = listener
        self._cleanups = cleanups
        self._board = board
        self._finder: ChannelFinder | None = None
        # the sweep of half-made rooms: the rooms still being made that it watches (made
        # here, or left by the last process: id → created_ms), and the guilds it sweeps (this
        # process's shards': another's creates are that process's to undo)
        self._calls = calls
        self._unfinished: dict[int, int] = {}
        self._not_before = 0  # after a failed sweep: when to look again
        self._owns: Callable[[int], bool] = _every_guild

    def attach_finder(self, finder: ChannelFinder | None) -> None:
        """Look up, through ``finder``, the channels of a half-made room that it never
        recorded (None: recorded channels only)."""
        self._finder = finder

    # -- create ---------------------------------------------------------------------------

    async def check_can_create(self, guild_id: int, user_id: int) -> None:
        """Refuse early (before the interaction is deferred) when the member cannot pay."""
        now = self._clock.now_ms()
        settings = self._settings.for_guild(guild_id)
        async with self._uow() as uow:
            await ensure_member(uow, guild_id, user_id, now, settings.signup_bonus)
            if settings.room_create_cost > 0:
                check_spend(await uow.ledger.balance(guild_id, user_id), settings.room_create_cost)
            await uow.commit()

    def validate_create(
        self,
        title: str,
        study_minutes: int | None,
        break_minutes: int | None,
        terms: int | None,
        tags: str | Sequence[str] | None = None,
        notice: str | None = None,
        capacity: int | None = None,
        long_break_minutes: int | None = None,
        long_every: int | None = None,
        *,
        guild_id: int | None = None,
        focus: bool = False,
        mode: Mode = Mode.POMODORO,
        break_share: int | None = None,
        check_every_minutes: int | None = None,
    ) -> RoomDraft:
        """Check everything a new room needs (raises ``ValidationError``); writes nothing,
        so callers can refuse before creating anything outside the database. The largest
        capacity is the server's (``guild_id``) when given. A long break needs both its
        minutes and how often it comes, or neither. Pattern options left out (None) take
        the ``mode``'s defaults; an option of another mode is refused."""
        settings = self._settings if guild_id is None else self._settings.for_guild(guild_id)
        return RoomDraft(
            title=rules.validate_title(title),
            notice=rules.validate_notice(notice or ""),
            tags=rules.validate_tags(tags or ()),
            capacity=rules.validate_capacity(
                capacity if capacity is not None else settings.max_capacity,
                settings.max_capacity,
            ),
            pattern=Pattern.for_mode(
                mode,
                study=study_minutes,
                break_=break_minutes,
                terms=terms,
                long_break=long_break_minutes,
                long_every=long_every,
                break_share=break_share,
                check_every=check_every_minutes,
            ),
            focus=focus,
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
        long_break_minutes: int | None = None,
        long_every: int | None = None,
    ) -> RoomInfo:
        """A room paid for and open at once, with no channels yet (``attach_channels``
        records them): the record alone, for callers that make the Discord side
        themselves."""
        draft = self.validate_create(
            title,
            study_minutes,
            break_minutes,
            terms,
            tags,
            notice,
            capacity,
            long_break_minutes,
            long_every,
            guild_id=guild_id,
        )
        room = await self._record_new(guild_id, owner_id, draft, RoomStatus.OPEN)
        await self._store.add_member(room.key, owner_id, room.created_ms)
        return room

    async def create_with_channels(
        self,
        guild_id: int,
        owner_id: int,
        draft: RoomDraft,
        channels: RoomChannels,
        name: str | None = None,
    ) -> RoomView:
        """Pay for and record the room, then make its channels and card through
        ``channels``; it opens once all exist, owing its board the line that says so (in the
        owner's ``name``). Any failure undoes what was done, in reverse, and raises
        ``RoomNotCreated`` (why, and whether channels are still being removed)."""
        room = await self._record_new(guild_id, owner_id, draft, RoomStatus.CREATING)
        # should this create hang, or its undo fail, the sweep undoes the room once it is old
        # enough (should the process die, the next start's sweep does)
        self._watch_create(room.id, room.created_ms)
        channel_ids: list[int] = []  # the channels Discord made, recorded or not
        try:
            text_id = await channels.create_text(draft.title)
            channel_ids.append(text_id)
            await self._record_channel(room.id, text_channel_id=text_id)
            voice_id = await channels.create_voice(draft.title)
            channel_ids.append(voice_id)
            await self._record_channel(room.id, voice_channel_id=voice_id)
            made = await self.get(room.id)
            card = await channels.post_card(text_id, made)
            # the live state first: a store out of reach undoes the room like any other step
            await self._store.add_member(room.key, owner_id, room.created_ms)
            # the card already shows this room: the first refresh need not edit it
            await self._store.put_card_digest(room.key, card.digest)
            opened, line_id = await self._open_created(room.id, card.message_id, name)
        except BaseException as error:
            # a channel whose recording failed is known here alone: it goes too
            pending = await self.undo_create(room.id, channel_ids)
            self._create_settled(room.id)
            if not isinstance(error, Exception):
                raise
            if isinstance(error, StudyOnError):
                refusal = error
            elif storage_failure(error) is not None:  # an outage, said once elsewhere
                log.info("room create undone: a store is out of reach (%s)", error)
                refusal = CreateNotCompleted()
            else:
                log.error("room create failed", exc_info=error)
                refusal = CreateNotCompleted()
            raise RoomNotCreated(refusal, pending) from error
        self._create_settled(room.id)
        await self._post_lines([line_id])
        return RoomView(opened, made.members)

    async def _record_new(
        self, guild_id: int, owner_id: int, draft: RoomDraft, status: RoomStatus
    ) -> RoomInfo:
        """The room row, its owner's stay and the owner's payment, in one transaction."""
        now = self._clock.now_ms()
        settings = self._settings.for_guild(guild_id)
        cost = settings.room_create_cost
        async with self._uow() as uow:
            await ensure_member(uow, guild_id, owner_id, now, settings.signup_bonus)
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
                long_break_ms=draft.pattern.long_break_ms,
                long_every=draft.pattern.long_every,
                focus=draft.focus,
                mode=draft.pattern.mode,
                break_share=draft.pattern.break_share,
                status=status,
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
            return room.info()

    async def _record_channel(
        self,
        room_id: int,
        *,
        text_channel_id: int | None = None,
        voice_channel_id: int | None = None,
    ) -> None:
        """Record a channel the moment it exists, so an undo (or the next start) deletes it."""
        async with self._uow() as uow:
            room = await uow.rooms.get_for_update(room_id)
            if room is None or room.status != RoomStatus.CREATING:
                raise CreateNotCompleted()
            if text_channel_id is not None:
                room.text_channel_id = text_channel_id
            if voice_channel_id is not None:
                room.voice_channel_id = voice_channel_id
            await uow.commit()

    async def _open_created(
        self, room_id: int, card_message_id: int, name: str | None
    ) -> tuple[RoomInfo, int]:
        """Open the room, owing its board the line that says so; the room and the line."""
        async with self._uow() as uow:
            room = await uow.rooms.get_for_update(room_id)
            if room is None or room.status != RoomStatus.CREATING:
                # undone meanwhile (taken for abandoned): this attempt lost
                raise CreateNotCompleted()
            room.card_message_id = card_message_id
            room.status = RoomStatus.OPEN
            line = Line(CREATED, _named(name, title=room.title))
            now = self._clock.now_ms()
            line_id = await owe_line(uow, room.guild_id, room.id, room.owner_id, line, now)
            await uow.commit()
            return room.info(), line_id

    async def _post_lines(self, line_ids: Sequence[int]) -> None:
        if self._board is not None:
            await self._board.deliver(line_ids)

    async def undo_create(self, room_id: int, unrecorded: Sequence[int] = ()) -> bool:
        """Undo a room still being made: its channels owed deleted (with ``unrecorded``,
        channels Discord made for it that it never recorded), the payment returned (once),
        the room closed. Whether channels are still owed deleted afterwards (Discord failed;
        they are tried again later). A room no longer being made (undone meanwhile, taken
        for abandoned) is left alone, but for ``unrecorded``: nothing else would delete them."""
        now = self._clock.now_ms()
        async with self._uow() as uow:
            room = await uow.rooms.get_for_update(room_id)
            if room is None:
                return False
            recorded = [c for c in room.info().channel_ids if c is not None]
            found = []
            for channel_id in unrecorded:
                # another room's channel, of the same title, is never taken for this one's
                if channel_id not in recorded and not await uow.rooms.owns_channel(channel_id):
                    found.append(channel_id)
            if room.status != RoomStatus.CREATING:
                if not found:
                    return False
                owed = channel_deletes(found)
            else:
                stays = await uow.rooms.active_members(room_id)
                for stay in stays:
                    await self._refund_stay(uow, room_id, stay.payment_entry_id, now)
                await uow.rooms.close(room, now)
                owed = channel_deletes([*recorded, *found])
            await owe(uow, room.guild_id, owed, now)
            await uow.commit()
        return not await self._clean_up(owed)

    async def undo_abandoned_creates(self) -> list[int]:
        """Undo the rooms a process that died left half made, in the guilds this process
        serves; the ids of those undone."""
        before = self._clock.now_ms() - CREATE_ABANDONED_MS
        async with self._uow() as uow:
            rows = await uow.rooms.unfinished_creates(before)
            abandoned = [r.info() for r in rows if self._owns(r.guild_id)]
        for room in abandoned:
            await self.undo_create(room.id, await self._unrecorded_channels(room))
        if abandoned:
            log.warning("undid %d room(s) left half made: payments returned", len(abandoned))
        return [room.id for room in abandoned]

    async def _unrecorded_channels(self, room: RoomInfo) -> list[int]:
        """Channels Discord may have made for a half-made room that it never recorded: only
        asked for when one of its two is missing. A failed look-up finds none (logged); the
        recorded ones are deleted all the same."""
        if self._finder is None or None not in room.channel_ids:
            return []
        try:
            return await self._finder.unrecorded_channels(
                room.guild_id,
                room.title,
                room.created_ms - CLOCK_MARGIN_MS,
                room.created_ms + CREATE_ABANDONED_MS + CLOCK_MARGIN_MS,
            )
        except Exception:
            log.warning("room %s: could not look for unrecorded channels", room.id, exc_info=True)
            return []

    async def sweep_abandoned_creates(self, owns: Callable[[int], bool] | None = None) -> int:
        """At start-up (``owns``: the guilds this process serves, all when None, kept for
        the later sweeps), and again whenever a room still being made comes of age: undo the
        rooms a dead process, or a create that could not undo itself, left half made; then
        watch those still being made. A sweep that fails looks again shortly. How many
        rooms were undone."""
        if owns is not None:
            self._owns = owns
        try:
            undone = await self.undo_abandoned_creates()
            async with self._uow() as uow:
                rows = await uow.rooms.unfinished_creates(self._clock.now_ms() + 1)
        except Exception:
            self._not_before = self._clock.now_ms() + SWEEP_RECHECK_MS
            if self._calls is not None:
                self._calls.schedule_call(SWEEP_CALL, self._not_before, self._sweep_again)
            raise
        self._not_before = 0
        for room_id in undone:
            self._unfinished.pop(room_id, None)
        for row in rows:
            if self._owns(row.guild_id):
                self._unfinished.setdefault(row.id, row.created_ms)
        self._rearm()
        return len(undone)

    def _watch_create(self, room_id: int, created_ms: int) -> None:
        self._unfinished[room_id] = created_ms
        self._rearm()

    def _create_settled(self, room_id: int) -> None:
        """The create opened its room, or undid it: nothing left to sweep for it."""
        self._unfinished.pop(room_id, None)
        self._rearm()

    def _rearm(self) -> None:
        """Sweep when the oldest room still being made comes of age; not at all while none
        is (a create that opens, as nearly all do, leaves nothing pending)."""
        if self._calls is None:
            return
        if not self._unfinished:
            self._calls.cancel_call(SWEEP_CALL)
            return
        at = max(min(self._unfinished.values()) + CREATE_ABANDONED_MS + 1, self._not_before)
        self._calls.schedule_call(SWEEP_CALL, at, self._sweep_again)

    async def _sweep_again(self) -> None:
        await self.sweep_abandoned_creates()

    async def attach_channels(
        self,
        room_id: int,
        text_channel_id: int | None,
        voice_channel_id: int | None,
        card_message_id: int | None = None,
    ) -> RoomInfo:
        async with self._uow() as uow:
            room = await open_room(uow, room_id, lock=True)
            room.text_channel_id = text_channel_id
            room.voice_channel_id = voice_channel_id
            if card_message_id is not None:
                room.card_message_id = card_message_id
            await uow.commit()
            return room.info()

    @staticmethod
    async def _refund_stay(uow: UnitOfWork, room_id: int, payment_id: int | None, now: int) -> None:
        """Return what a stay paid, once (its undo entry has a key of its own)."""
        payment = await uow.ledger.get(payment_id) if payment_id is not None else None
        if payment is None or payment.amount >= 0:
            return
        undo = undo_entry(room_id, payment.id, payment)
        if await uow.ledger.by_key(undo.idempotency_key) is None:
            await uow.ledger.add_entry(payment.guild_id, payment.user_id, undo, now)

    # -- membership -----------------------------------------------------------------------

    async def join(self, room_id: int, user_id: int, name: str | None = None) -> RoomInfo:
        """Record the join and its payment (the Discord side is ``join_with_access``): the
        room's server's join cost and signup bonus, as they are when the member joins; its
        board line (in the member's ``name``) is posted."""
        info, line_id = await self._join(room_id, user_id, name)
        await self._post_lines([line_id])
        return info

    async def _join(self, room_id: int, user_id: int, name: str | None) -> tuple[RoomInfo, int]:
        """The join recorded, with its board line owed; the room and the line."""
        now = self._clock.now_ms()
        async with self._uow() as uow:
            room = await open_room(uow, room_id, lock=True)
            settings = self._settings.for_guild(room.guild_id)
            cost = settings.room_join_cost
            if await uow.rooms.active_membership(room_id, user_id) is not None:
                raise AlreadyMember()
            rules.can_join(len(await uow.rooms.active_members(room_id)), room.capacity)
            await ensure_member(uow, room.guild_id, user_id, now, settings.signup_bonus)
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
            line = Line(JOINED, _named(name))
            line_id = await owe_line(uow, room.guild_id, room.id, user_id, line, now)
            await uow.commit()
            info = room.info()
        try:
            await self._store.add_member(info.key, user_id, now)
        except BaseException:
            # a member the live state does not know could not dismiss an alarm: the join
            # is taken back (payment returned), so "nothing was changed" is what happened
            await self._undo_join_quietly(room_id, user_id)
            raise
        return info, line_id

    async def _undo_join_quietly(self, room_id: int, user_id: int) -> None:
        try:
            await self.undo_join(room_id, user_id)
        except Exception as error:
            # the payment is returned before the live state is touched: a store still out
            # of reach here only fails to forget a member it never learnt of
            if storage_failure(error) is None:
                log.exception("could not take back the join of %s to room %s", user_id, room_id)

    async def join_with_access(
        self, room_id: int, user_id: int, channels: RoomChannels, name: str | None = None
    ) -> RoomInfo:
        """Join (paying) and open the room's channels to the member: all or nothing. If
        Discord does not open them, the join is undone and its payment returned. A member
        already in the room whose access went missing (a crash between paying and the grant)
        gets it back, and is still told they are a member."""
        async with self._uow() as uow:  # the room alone: its members are not needed here
            found = await uow.rooms.get(room_id)
        if found is None:
            raise NotFound("room")
        room = found.info()
        if room.is_open and (room.text_channel_id is None or room.voice_channel_id is None):
            raise NoChannels()
        ids = [c for c in room.channel_ids if c is not None]
        try:
            room, line_id = await self._join(room_id, user_id, name)
        except AlreadyMember:
            try:
                await channels.grant_access(ids, user_id)  # granting is safe to repeat
            except Exception:
                log.info("could not give member %s back their access", user_id, exc_info=True)
            raise
        try:
            await channels.grant_access(ids, user_id)
        except BaseException as error:
            await self.undo_join(room_id, user_id)
            if isinstance(error, StudyOnError) or not isinstance(error, Exception):
                raise
            raise JoinNotCompleted(
                self._settings.for_guild(room.guild_id).room_join_cost
            ) from error
        # the member is in: the board says so (only now, so an undone join never shows)
        await self._post_lines([line_id])
        return room

    async def leave(self, room_id: int, user_id: int, name: str | None = None) -> LeaveOutcome:
        """The member leaves; the board of a room that stays open owes the lines that say so
        (in the member's ``name``), and who owns it now if that was the owner."""
        now = self._clock.now_ms()
        line_ids: list[int] = []
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
                    await uow.runs.finish(run, RunStatus.STOPPED, now)
                await uow.rooms.close(room, now)
                owed = channel_deletes(channels)
            else:
                if room.owner_id == user_id:
                    new_owner = rules.next_owner(remaining, user_id)
                    room.owner_id = new_owner if new_owner is not None else room.owner_id
                owed = access_removals(channels, user_id)
                lines = [(user_id, Line(LEFT, _named(name)))]
                if new_owner is not None:
                    lines.append((new_owner, Line(OWNER)))
                for whose, line in lines:
                    line_ids.append(await owe_line(uow, room.guild_id, room.id, whose, line, now))
            await owe(uow, room.guild_id, owed, now)
            await uow.commit()
            info = room.info()
        done = False
        try:
            await self._store.remove_member(info.key, user_id)
            if not remaining:
                await self._forget(info, "empty")
        except Exception as error:
            if storage_failure(error) is not None:  # the member has left, in SQL
                raise PartlyDone(str(error)) from error
            raise
        finally:
            # the removal is owed in SQL already; do it now even if live state failed
            done = await self._clean_up(owed)
            await self._post_lines(line_ids)
        return LeaveOutcome(info, new_owner, closed=not remaining, cleanup_pending=not done)

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
            await self._refund_stay(uow, room_id, membership.payment_entry_id, now)
            await uow.board.drop_owed(room_id, user_id, JOINED)  # a join that never was
            # whatever part of the grant Discord did carry out is taken back, until done
            owed = access_removals((room.text_channel_id, room.voice_channel_id), user_id)
            await owe(uow, room.guild_id, owed, now)
            await uow.commit()
        try:
            await self._store.remove_member(key_of(room), user_id)
        finally:
            await self._clean_up(owed)

    # -- owner actions --------------------------------------------------------------------

    async def set_notice(self, room_id: int, user_id: int, text: str) -> RoomInfo:
        notice = rules.validate_notice(text)
        async with self._uow() as uow:
            room = await open_room(uow, room_id, lock=True)
            if room.owner_id != user_id:
                raise NotOwner()
            room.notice = notice
            await uow.commit()
            return room.info()

    async def close(self, room_id: int, user_id: int | None, reason: str = "owner") -> Closed:
        """Close the room (``user_id`` must own it; None for the system). Its run is dropped."""
        now = self._clock.now_ms()
        async with self._uow() as uow:
            room = await open_room(uow, room_id, lock=True)
            if user_id is not None and room.owner_id != user_id:
                raise NotOwner()
            run = await uow.runs.current(room_id)
            if run is not None:
                await uow.runs.finish(run, RunStatus.STOPPED, now)
            await uow.rooms.close(room, now)
            owed = channel_deletes((room.text_channel_id, room.voice_channel_id))
            await owe(uow, room.guild_id, owed, now)
            await uow.commit()
            info = room.info()
        done = False
        try:
            await self._forget(info, reason)
        except Exception as error:
            if storage_failure(error) is not None:  # the room is closed, in SQL
                raise PartlyDone(str(error)) from error
            raise
        finally:
            done = await self._clean_up(owed)
        return Closed(info, channels_pending=not done)

    async def _forget(self, room: RoomInfo, reason: str) -> None:
        key = room.key
        self._scheduler.cancel(key)
        await notify_run_ending(self._listener, RunEnding(key, self._clock.now_ms()))
        await self._store.drop_room(key)
        await self._listener.on_room_closed(
            RoomClosedEvent(key, room.text_channel_id, room.voice_channel_id, reason)
        )

    async def _clean_up(self, owed: list[Owed]) -> bool:
        """Do the Discord work just made owed (it stays owed, and is retried, if it fails);
        whether none of it is owed any more."""
        if not owed:
            return True
        if self._cleanups is None:
            return False
        return await self._cleanups.perform(owed)

    # -- queries --------------------------------------------------------------------------

    async def get(self, room_id: int) -> RoomView:
        async with self._uow() as uow:
            room = await uow.rooms.get(room_id)
            if room is None:
                raise NotFound("room")
            members = await uow.rooms.active_members(room_id)
            return RoomView(room.info(), tuple(m.stay() for m in members))

    async def by_channel(self, channel_id: int) -> RoomInfo | None:
        async with self._uow() as uow:
            room = await uow.rooms.by_text_channel(channel_id)
            return room.info() if room is not None else None

    async def by_voice_channel(self, channel_id: int) -> RoomInfo | None:
        """The open room whose voice channel this is."""
        async with self._uow() as uow:
            room = await uow.rooms.by_voice_channel(channel_id)
            return room.info() if room is not None else None

    async def open_rooms_page(self, guild_id: int, limit: int, offset: int) -> list[RoomInfo]:
        """A page of the guild's open rooms, without their members (start-up sweeps)."""
        async with self._uow() as uow:
            rooms = await uow.rooms.list_open(guild_id, limit=limit, offset=offset)
            return [r.info() for r in rooms]

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
            return [
                RoomView(r.info(), tuple(m.stay() for m in await uow.rooms.active_members(r.id)))
                for r in rooms
            ]

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

    async def rooms_of(self, guild_id: int, user_id: int) -> list[RoomInfo]:
        async with self._uow() as uow:
            return [r.info() for r in await uow.rooms.rooms_of_member(guild_id, user_id)]


def _named(name: str | None, **params: str) -> dict[str, str]:
    """A line's words, with the member's name when the caller knows it (else the line
    shows the name the bot last saw)."""
    return {**params, "name": name} if name is not None else params


def _every_guild(guild_id: int) -> bool:
    return True

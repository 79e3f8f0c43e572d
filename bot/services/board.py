"""Board lines owed until Discord has them: "**alice** opened this room", "**bob** joined",
"**bob** left", "**bob** completed *read ch. 4*".

A line is recorded (``owe_line``) in the transaction of what it tells, so a process that
dies after that commit and before the post leaves it owed, never lost. The use case then
posts it at once (``deliver``); what fails is tried again later (5 s, 10 s, … up to 10
minutes apart), and whatever the last process left owed is posted at start-up. A retry
first looks for the post an attempt may have made unseen (and Discord returns the first
message for a repeated nonce), so a line is never posted twice. A line whose room closed,
or whose channel is gone, is dropped; an undone join drops its line in the undo.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.domain.rooms import RoomStatus
from bot.services.cleanups import RECHECK_MS, count_failed_try
from bot.services.ports import BoardPost, BoardPoster, CallScheduler
from storage.models import BoardLine
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

CALL_NAME = "board-lines"
BATCH = 100
# a line is posted right after its commit by the use case that owes it; a retry leaves it
# alone this long, so it never races that first attempt (a join posts its line only once
# the member's access is granted, and an undone join drops it)
FIRST_RETRY_MS = 30_000
# a posted line is remembered this long: a retry never adopts another line's post
KEEP_POSTED_MS = 24 * 3600_000
# a retry looks for its post among messages made since the line was owed, less this much
# (Discord's clock and ours differ by well under a second)
CLOCK_MARGIN_MS = 2_000

CREATED = "rooms.board.created"
JOINED = "rooms.board.joined"
LEFT = "rooms.board.left"
OWNER = "rooms.board.owner"
COMPLETED = "todos.board.completed"


@dataclass(frozen=True, slots=True)
class Line:
    """A board line as a use case tells it: its message key and the member-typed words it
    shows (unescaped; ``name`` left out is the member's name as the bot last saw it)."""

    key: str
    params: Mapping[str, str] = field(default_factory=dict)


async def owe_line(
    uow: UnitOfWork, guild_id: int, room_id: int, user_id: int, line: Line, now_ms: int
) -> int:
    """Record ``line`` as owed on the room's board inside the caller's transaction."""
    return await uow.board.owe(
        guild_id=guild_id,
        room_id=room_id,
        user_id=user_id,
        key=line.key,
        params=line.params,
        now_ms=now_ms,
        first_try_ms=now_ms + FIRST_RETRY_MS,
    )


class BoardLines:
    """Posts owed lines through the attached ``BoardPoster``; without one (before the
    Discord side is up, or in tests of the rules alone) they stay owed."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, scheduler: CallScheduler, clock: Clock
    ) -> None:
        self._uow = uow_factory
        self._scheduler = scheduler
        self._clock = clock
        self._poster: BoardPoster | None = None
        self._owns: Callable[[int], bool] = _everything
        self._busy: set[int] = set()
        self._all_due = False  # at start-up: every owed line is due, whatever its next try

    def attach(self, poster: BoardPoster, owns: Callable[[int], bool] | None = None) -> None:
        self._poster = poster
        self._owns = owns or _everything

    def detach(self) -> None:
        self._poster = None
        self._scheduler.cancel_call(CALL_NAME)

    def resume(self) -> None:
        """At start-up: post every line the last process left owed, due or not (nothing of
        this process is trying them yet). The first look, whichever wake-up makes it."""
        self._all_due = True
        self._scheduler.schedule_call(CALL_NAME, self._clock.now_ms(), self._wake)

    async def deliver(self, line_ids: Sequence[int]) -> None:
        """Post lines just owed (the first attempt); what fails stays owed, tried again
        later. Never raises: what the line tells has happened already."""
        try:
            for line_id in line_ids:
                await self._attempt(line_id, look_first=False)
            await self._schedule_next()
        except Exception:
            log.warning(
                "board lines %s not posted yet; trying again later", line_ids, exc_info=True
            )

    async def owed_count(self) -> int:
        async with self._uow() as uow:
            return await uow.board.owed_count()

    async def run_due(self, *, everything: bool = False) -> int:
        """Post the owed lines that are due (all of them when ``everything``) in the guilds
        this process serves; how many are owed no more."""
        if self._poster is None:
            return 0
        now = self._clock.now_ms()
        everything = everything or self._all_due
        async with self._uow() as uow:
            await uow.board.forget_posted(now - KEEP_POSTED_MS)
            rows = await uow.board.due(None if everything else now, BATCH)
            await uow.commit()
        self._all_due = False
        count = 0
        for row in rows:
            if self._owns(row.guild_id) and await self._attempt(row.id, look_first=True):
                count += 1
        await self._schedule_next()
        return count

    async def _wake(self) -> None:
        try:
            await self.run_due()
        except Exception:
            log.exception("owed board lines could not be posted; looking again shortly")
            if self._poster is not None:
                self._scheduler.schedule_call(
                    CALL_NAME, self._clock.now_ms() + RECHECK_MS, self._wake
                )

    async def _schedule_next(self) -> None:
        if self._poster is None:
            return
        async with self._uow() as uow:
            rows = await uow.board.upcoming()
        for row in rows:
            if self._owns(row.guild_id) and row.id not in self._busy:
                at = max(row.next_try_ms, self._clock.now_ms())
                self._scheduler.schedule_call(CALL_NAME, at, self._wake)
                return

    async def _attempt(self, line_id: int, *, look_first: bool) -> bool:
        """One try at the line; True when it is owed no more (posted, now or before, or
        dropped). ``look_first``: an earlier attempt may have posted it unseen."""
        poster = self._poster
        if poster is None or line_id in self._busy:
            return False
        self._busy.add(line_id)
        try:
            async with self._uow() as uow:
                row = await uow.board.get(line_id)
                if row is None or row.message_id is not None:
                    return True
                room = await uow.rooms.get(row.room_id)
                if room is None or room.status != RoomStatus.OPEN or room.text_channel_id is None:
                    await uow.board.drop(line_id)  # its board is gone with the room
                    await uow.commit()
                    return True
                channel_id = room.text_channel_id
                taken = await uow.board.posted_messages(row.room_id) if look_first else set()
                line = _Owed.of(row)
            post = BoardPost(line.guild_id, channel_id, line.user_id, line.key, line.params)
            try:
                found = None
                if look_first:
                    since = line.created_ms - CLOCK_MARGIN_MS
                    found = await poster.find_line(post, since, taken)
                message_id = found or await poster.post_line(post, f"l{line_id}")
            except Exception as error:
                await self._failed(line_id, error)
                return False
            async with self._uow() as uow:
                row = await uow.board.lock(line_id)
                if row is not None:
                    if message_id is None:
                        log.warning(
                            "room %s: its channel is gone; board line dropped", line.room_id
                        )
                        await uow.board.drop(line_id)
                    else:
                        row.message_id = message_id
                    await uow.commit()
            return True
        finally:
            self._busy.discard(line_id)

    async def _failed(self, line_id: int, error: Exception) -> None:
        now = self._clock.now_ms()
        async with self._uow() as uow:
            row = await uow.board.lock(line_id)
            if row is None:
                return
            given_up = count_failed_try(row, now)
            attempts, room_id = row.attempts, row.room_id
            if given_up:
                await uow.board.drop(line_id)
            await uow.commit()
        if given_up:
            log.error(
                "room %s: giving up on a board line after %d tries (%s)", room_id, attempts, error
            )
        else:
            log.warning("room %s: board line not posted (try %d: %s)", room_id, attempts, error)


@dataclass(frozen=True, slots=True)
class _Owed:
    guild_id: int
    room_id: int
    user_id: int
    key: str
    params: dict[str, str]
    created_ms: int

    @classmethod
    def of(cls, row: BoardLine) -> _Owed:
        params = {str(k): str(v) for k, v in dict(row.params or {}).items()}
        return cls(row.guild_id, row.room_id, row.user_id, row.key, params, row.created_ms)


def _everything(guild_id: int) -> bool:
    return True

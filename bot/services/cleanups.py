"""Discord cleanups that are owed until Discord has done them: a closed room's channels to
delete, a departed member's access to remove, the channels of a room that was never made.

The work is recorded (``uow.cleanups``) in the transaction that makes it owed, then done
through a ``ChannelCleaner`` right away. Done work is forgotten (its row deleted); a failure
is counted and tried again later, waiting 5 s, 10 s, 20 s … up to 10 minutes between tries.
What is still owed is tried again when it falls due, and at start-up, so neither a failed
request nor a restart leaves a channel, or a member's access, behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.clock import Clock
from bot.services.ports import CallScheduler, ChannelCleaner
from storage.models import CleanupKind, DiscordCleanup
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

FIRST_RETRY_MS = 5_000
MAX_RETRY_MS = 10 * 60_000
# when looking for owed work fails (the database is away), look again after this long
RECHECK_MS = 30_000
BATCH = 100
# a piece Discord keeps refusing this long (about a day of tries, 10 minutes apart at the end)
# is given up, reported once: the bot was removed from the server or lost its permissions
MAX_ATTEMPTS = 150
CALL_NAME = "discord-cleanups"


def retry_delay_ms(attempts: int) -> int:
    """How long to wait after the ``attempts``-th failed try: 5 s, doubling, at most 10 min."""
    if attempts < 1:
        return 0
    return min(FIRST_RETRY_MS << min(attempts - 1, 20), MAX_RETRY_MS)


class Tried(Protocol):
    """A row of owed Discord work: how often it failed, and when it is tried next."""

    attempts: int
    next_try_ms: int


def count_failed_try(row: Tried, now_ms: int) -> bool:
    """One more failed try of ``row``: its next try set by the backed-off delay; whether it
    is given up (``MAX_ATTEMPTS`` reached)."""
    row.attempts += 1
    row.next_try_ms = now_ms + retry_delay_ms(row.attempts)
    return row.attempts >= MAX_ATTEMPTS


@dataclass(frozen=True, slots=True)
class Owed:
    """One piece of Discord work: delete a channel, or remove a member's overwrite from it
    (``user_id`` 0 for a channel delete)."""

    kind: CleanupKind
    channel_id: int
    user_id: int = 0

    @classmethod
    def of(cls, row: DiscordCleanup) -> Owed:
        return cls(CleanupKind(row.kind), row.channel_id, row.user_id)


def channel_deletes(channel_ids: Iterable[int | None]) -> list[Owed]:
    return [Owed(CleanupKind.DELETE_CHANNEL, c) for c in channel_ids if c is not None]


def access_removals(channel_ids: Iterable[int | None], user_id: int) -> list[Owed]:
    return [Owed(CleanupKind.REVOKE_ACCESS, c, user_id) for c in channel_ids if c is not None]


async def owe(uow: UnitOfWork, guild_id: int, work: Iterable[Owed], now_ms: int) -> None:
    """Record ``work`` as owed inside the caller's transaction (due at once)."""
    for item in work:
        await uow.cleanups.owe(
            guild_id=guild_id,
            kind=item.kind,
            channel_id=item.channel_id,
            user_id=item.user_id,
            now_ms=now_ms,
        )


class CleanupService:
    """Does the owed work through the attached ``ChannelCleaner``; without one (before the
    Discord side is up, or in tests of the rules alone) the work simply stays owed."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, scheduler: CallScheduler, clock: Clock
    ) -> None:
        self._uow = uow_factory
        self._scheduler = scheduler
        self._clock = clock
        self._cleaner: ChannelCleaner | None = None
        self._owns: Callable[[int], bool] = _everything
        self._busy: set[Owed] = set()

    def attach(self, cleaner: ChannelCleaner, owns: Callable[[int], bool] | None = None) -> None:
        """Do the work through ``cleaner``; only for the guilds ``owns`` (this process's
        shards), all when None."""
        self._cleaner = cleaner
        self._owns = owns or _everything

    def detach(self) -> None:
        self._cleaner = None
        self._scheduler.cancel_call(CALL_NAME)

    def resume(self) -> None:
        """Try what is owed now (at start-up: what the last process left owed)."""
        self._scheduler.schedule_call(CALL_NAME, self._clock.now_ms(), self._wake)

    # -- owing ----------------------------------------------------------------------------

    async def owe(self, guild_id: int, work: Sequence[Owed]) -> None:
        """Record ``work`` as owed in a transaction of its own."""
        async with self._uow() as uow:
            await owe(uow, guild_id, work, self._clock.now_ms())
            await uow.commit()

    async def still_owed(self, work: Iterable[Owed]) -> bool:
        """Whether any of ``work`` is owed still (not done yet)."""
        async with self._uow() as uow:
            for item in work:
                if await uow.cleanups.find(item.kind, item.channel_id, item.user_id):
                    return True
        return False

    # -- doing ----------------------------------------------------------------------------

    async def perform(self, work: Sequence[Owed]) -> bool:
        """Do ``work`` now (right after it was owed), whenever it is due; True when none of
        it is owed any more. What fails stays owed and is tried again later."""
        done = True
        for item in work:
            done = await self._attempt(item) and done
        await self._schedule_next()
        return done

    async def run_due(self) -> int:
        """Do everything owed that is due (in the guilds this process serves); how many
        pieces were done."""
        if self._cleaner is None:
            return 0
        now = self._clock.now_ms()
        async with self._uow() as uow:
            rows = await uow.cleanups.due(now, BATCH)
        count = 0
        for row in rows:
            if self._owns(row.guild_id) and await self._attempt(Owed.of(row)):
                count += 1
        await self._schedule_next()
        return count

    async def _wake(self) -> None:
        try:
            await self.run_due()
        except Exception:
            log.exception("owed Discord cleanups could not be run; looking again shortly")
            if self._cleaner is not None:
                at = self._clock.now_ms() + RECHECK_MS
                self._scheduler.schedule_call(CALL_NAME, at, self._wake)

    async def _schedule_next(self) -> None:
        """Wake when the soonest owed work (that this process does) falls due."""
        if self._cleaner is None:
            return
        async with self._uow() as uow:
            rows = await uow.cleanups.upcoming()
        for row in rows:
            if self._owns(row.guild_id) and Owed.of(row) not in self._busy:
                at = max(row.next_try_ms, self._clock.now_ms())
                self._scheduler.schedule_call(CALL_NAME, at, self._wake)
                return

    async def _attempt(self, item: Owed) -> bool:
        """One try at ``item``; True when it is owed no more (done now, or before)."""
        cleaner = self._cleaner
        if cleaner is None or item in self._busy:
            return False  # no Discord side yet, or being done right now by another task
        self._busy.add(item)
        try:
            async with self._uow() as uow:
                row = await uow.cleanups.find(item.kind, item.channel_id, item.user_id)
                if row is None:
                    return True
                if item.kind is CleanupKind.REVOKE_ACCESS and await uow.cleanups.is_room_member(
                    item.channel_id, item.user_id
                ):
                    # they joined the room again: their access is theirs to keep
                    await uow.cleanups.done(row.id)
                    await uow.commit()
                    return True
                cleanup_id = row.id
            try:
                if item.kind is CleanupKind.DELETE_CHANNEL:
                    await cleaner.delete_channel(item.channel_id)
                else:
                    await cleaner.remove_member_access(item.channel_id, item.user_id)
            except Exception as error:
                await self._failed(cleanup_id, item, error)
                return False
            async with self._uow() as uow:
                await uow.cleanups.done(cleanup_id)
                rejoined = item.kind is CleanupKind.REVOKE_ACCESS and (
                    await uow.cleanups.is_room_member(item.channel_id, item.user_id)
                )
                await uow.commit()
            if rejoined:
                # they joined again while the removal was on its way: the grant of that join
                # may have landed before it, so their access is given back
                await self._restore(cleaner, item)
            return True
        finally:
            self._busy.discard(item)

    @staticmethod
    async def _restore(cleaner: ChannelCleaner, item: Owed) -> None:
        try:
            await cleaner.restore_member_access(item.channel_id, item.user_id)
        except Exception:
            # /room join gives a member's access back too; say so rather than retry forever
            log.warning(
                "could not give user %s back access to channel %s after they rejoined; "
                "/room join restores it",
                item.user_id,
                item.channel_id,
                exc_info=True,
            )

    async def _failed(self, cleanup_id: int, item: Owed, error: Exception) -> None:
        now = self._clock.now_ms()
        async with self._uow() as uow:
            row = await uow.cleanups.lock(cleanup_id)
            if row is None:
                return
            given_up = count_failed_try(row, now)
            attempts, next_try = row.attempts, row.next_try_ms
            if given_up:
                await uow.cleanups.done(cleanup_id)
            await uow.commit()
        if given_up:
            log.error(
                "giving up on %s of channel %s (user %s) after %d tries (%s): check that the "
                "bot is still in the server and holds Manage Channels and Manage Roles",
                item.kind.value,
                item.channel_id,
                item.user_id,
                attempts,
                error,
            )
            return
        log.warning(
            "%s of channel %s (user %s) failed (try %d: %s); trying again in %d s",
            item.kind.value,
            item.channel_id,
            item.user_id,
            attempts,
            error,
            (next_try - now) // 1000,
        )


def _everything(guild_id: int) -> bool:
    return True

"""Study time: the time a member spends in a room's voice channel while the room's timer is in
a study phase. Breaks, paused time and time with no run going do not count.

Accounting is lazy and exact. A member in a room's voice channel has an *open session* in the
session store (``study.open.<user>`` under the room's key) holding ``since``: the instant up to
which their presence has been accounted. Crediting a session adds StudySession rows for the
part of ``[since, until)`` that falls in the study phases of the room's run, then moves
``since`` to ``until``. The run's timer is a pure function of its pattern, start and the owner's
controls, so the study spans of any past interval are known exactly when crediting — including
pauses and skips — as long as the run is still in the store. Sessions are therefore credited:

- when the member leaves or moves away (and the session closes),
- at every boundary of the room (rows stay current for rankings while members sit in voice),
- when a run finishes (before an extension can replace it in the store),
- when a run is about to leave the store early (``RunEnding``: stopped, or the room closing).

Crediting only ever moves ``since`` forward and study spans are fixed in time, so nothing is
counted twice. ``since`` is moved before the rows are written: a crash in between loses a
little time rather than counting it twice.

Restarts: open sessions live in the session store, so they survive. While running, the bot
stamps ``study.alive`` on each room with open sessions every minute (and once more on a clean
shutdown): the last stamp is when the bot was last known to be up. At start-up ``reconcile``
compares the stored sessions with who is actually in the voice channel: members still there
keep their session (the time they sat through the restart counts), members gone are closed at
the last stamp (never later than the moment the bot went down), members who arrived while the
bot was down start counting from start-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.clock import Clock
from bot.domain.study import Span, end_after_outage, session_end
from bot.domain.study import clip as clip
from bot.domain.study import study_spans as study_spans
from bot.domain.study import total as total
from bot.services.events import BoundaryFired, RoomClosed, RunEnding, RunFinished
from storage.session.base import RoomKey, SessionStore
from storage.uow import UnitOfWorkFactory

# the span rules are the domain's (bot.domain.study); ``clip``, ``study_spans`` and ``total``
# stay importable from here

# -- the service ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Credit:
    """Study time written for one member: the spans added as StudySession rows."""

    user_id: int
    spans: tuple[Span, ...]

    @property
    def ms(self) -> int:
        return total(self.spans)


@dataclass(frozen=True, slots=True)
class Reconciled:
    kept: tuple[int, ...]  # present before and after: still counting
    closed: tuple[int, ...]  # gone while the bot was down: closed at the last stamp
    opened: tuple[int, ...]  # arrived while the bot was down: counting from now


class StudyService:
    """Voice presence in rooms → study time. One instance per process; the rooms of a guild
    are served by one process (its shard), so the per-room locks here are enough."""

    def __init__(self, uow_factory: UnitOfWorkFactory, store: SessionStore, clock: Clock) -> None:
        self._uow = uow_factory
        self._store = store
        self._clock = clock
        self._locks: dict[RoomKey, asyncio.Lock] = {}
        # where each member with an open session is (for live totals and the heartbeat)
        self._where: dict[tuple[int, int], RoomKey] = {}

    def _lock(self, key: RoomKey) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    # -- reading the store ---------------------------------------------------------------

    async def open_sessions(self, key: RoomKey) -> dict[int, int]:
        """{user_id: since_ms} of the room's open sessions."""
        return await self._store.open_voice_sessions(key)

    def active_rooms(self) -> set[RoomKey]:
        return set(self._where.values())

    def room_of(self, guild_id: int, user_id: int) -> RoomKey | None:
        return self._where.get((guild_id, user_id))

    # -- presence ------------------------------------------------------------------------

    async def join(self, key: RoomKey, user_id: int) -> bool:
        """The member is in the room's voice channel now. False if already counted there."""
        async with self._lock(key):
            if user_id in await self.open_sessions(key):
                self._where[(key.guild_id, user_id)] = key
                return False
            await self._store.put_voice_sessions(key, {user_id: self._clock.now_ms()})
            self._where[(key.guild_id, user_id)] = key
            return True

    async def leave(self, key: RoomKey, user_id: int, at_ms: int | None = None) -> Credit | None:
        """The member left the room's voice channel (at ``at_ms``, default now): credit and
        close their session. None if they had none."""
        async with self._lock(key):
            sessions = await self.open_sessions(key)
            since = sessions.get(user_id)
            if self._where.get((key.guild_id, user_id)) == key:
                del self._where[(key.guild_id, user_id)]
            if since is None:
                return None
            until = session_end(since, self._clock.now_ms() if at_ms is None else at_ms)
            await self._store.close_voice_sessions(key, [user_id])
            credits = await self._write(key, [(user_id, since, until)])
            return credits[0] if credits else Credit(user_id, ())

    async def credit_room(self, key: RoomKey, at_ms: int | None = None) -> list[Credit]:
        """Account every open session of the room up to ``at_ms`` (default now); the sessions
        stay open from there."""
        async with self._lock(key):
            now = self._clock.now_ms() if at_ms is None else at_ms
            sessions = await self.open_sessions(key)
            todo = [(u, since, now) for u, since in sessions.items() if since < now]
            await self._store.put_voice_sessions(key, {user: until for user, _, until in todo})
            return await self._write(key, todo)

    async def forget_room(self, key: RoomKey) -> None:
        """The room closed (its store entries are gone): drop what this process remembers."""
        for who, room in list(self._where.items()):
            if room == key:
                del self._where[who]
        self._locks.pop(key, None)

    # -- restarts ------------------------------------------------------------------------

    async def heartbeat(self, keys: Iterable[RoomKey] | None = None) -> int:
        """Stamp "the bot is up" on every room with open sessions; returns how many."""
        now = self._clock.now_ms()
        rooms = set(self.active_rooms() if keys is None else keys)
        for key in rooms:
            await self._store.put_alive(key, now)
        return len(rooms)

    async def reconcile(self, key: RoomKey, present: Iterable[int]) -> Reconciled:
        """Make the room's open sessions match who is in its voice channel now (start-up)."""
        here = set(present)
        async with self._lock(key):
            now = self._clock.now_ms()
            stored = await self.open_sessions(key)
            alive = await self._store.alive_at(key)
            gone = sorted(u for u in stored if u not in here)
            new = sorted(u for u in here if u not in stored)
            todo: list[tuple[int, int, int]] = []
            for user in gone:
                since = stored[user]
                todo.append((user, since, end_after_outage(since, alive, now)))
                self._where.pop((key.guild_id, user), None)
            await self._store.close_voice_sessions(key, gone)
            await self._store.put_voice_sessions(key, dict.fromkeys(new, now))
            for user in here:
                self._where[(key.guild_id, user)] = key
            await self._write(key, todo)
            if here:
                await self._store.put_alive(key, now)
            return Reconciled(tuple(sorted(here & set(stored))), tuple(gone), tuple(new))

    # -- totals --------------------------------------------------------------------------

    async def live_ms(self, guild_id: int, user_id: int, start_ms: int, end_ms: int) -> int:
        """Study time of the member's open session not yet written, inside [start, end)."""
        key = self._where.get((guild_id, user_id))
        if key is None:
            return 0
        since = (await self.open_sessions(key)).get(user_id)
        if since is None:
            return 0
        now = self._clock.now_ms()
        spans = await self._spans(key, now)
        return total(clip(clip(spans, since, now), start_ms, end_ms))

    async def total_ms(self, guild_id: int, user_id: int, start_ms: int, end_ms: int) -> int:
        """Study time in [start, end): what is written plus the open session's part."""
        async with self._uow() as uow:
            written = await uow.study.total_ms(guild_id, user_id, start_ms, end_ms)
        return written + await self.live_ms(guild_id, user_id, start_ms, end_ms)

    # -- internals -----------------------------------------------------------------------

    async def _spans(self, key: RoomKey, until_ms: int) -> list[Span]:
        state = await self._store.get_run(key)
        if state is None:
            return []
        return study_spans(state.timer, until_ms)

    async def _write(self, key: RoomKey, todo: Sequence[tuple[int, int, int]]) -> list[Credit]:
        """Rows for the study part of each (user, since, until); one transaction."""
        if not todo:
            return []
        spans = await self._spans(key, max(until for _, _, until in todo))
        credits = [Credit(user, tuple(clip(spans, since, until))) for user, since, until in todo]
        if not any(c.spans for c in credits):
            return credits
        async with self._uow() as uow:
            for credit in credits:
                for start, end in credit.spans:
                    await uow.study.add(
                        guild_id=key.guild_id,
                        user_id=credit.user_id,
                        room_id=key.room_id,
                        start_ms=start,
                        end_ms=end,
                    )
            await uow.commit()
        return credits


class StudyListener:
    """The room events that move study accounting along (a ``RoomListener`` plus the
    optional ``on_run_ending`` hook): boundaries and finished runs credit the open sessions
    of the room; a run ending early is credited up to its end before it leaves the store."""

    def __init__(self, study: StudyService) -> None:
        self.study = study

    async def on_boundary(self, event: BoundaryFired) -> int | None:
        await self.study.credit_room(event.key)
        return None  # credits study time; posts nothing

    async def on_run_finished(self, event: RunFinished) -> None:
        await self.study.credit_room(event.key)

    async def on_run_ending(self, event: RunEnding) -> None:
        await self.study.credit_room(event.key, event.at_ms)

    async def on_room_closed(self, event: RoomClosed) -> None:
        await self.study.forget_room(event.key)

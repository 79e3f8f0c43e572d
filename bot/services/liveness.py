"""This process's heartbeat in the session store, and who else is alive.

One write every ``BEAT_EVERY_MS`` however many rooms the process serves: "alive until now +
``ALIVE_FOR_MS``". A process that dies stops beating, and within ``ALIVE_FOR_MS`` the claims it
left (announcements it took on and never delivered) are taken over by whoever wakes their
rooms (``bot.domain.liveness``); a process that stops cleanly deletes its beat, so its claims
are taken over at once, and so are those of a process on this machine that is certainly gone
(``bot.services.processes``: killed, and restarted in its place, say), its beat left in the
store or not. A process never claims while its own beat has run out: a wake-up that would
claim checks it first (``ensure``), so a process whose refresh fell behind (a busy loop, a
store that was out of reach) beats again before it claims anything more.
"""

from __future__ import annotations

import logging

from bot.clock import Clock
from bot.domain.liveness import Liveness
from bot.domain.run import Run
from bot.services.ports import CallScheduler
from bot.services.processes import Processes, local_processes
from storage.session.base import SessionStore

log = logging.getLogger(__name__)

BEAT_EVERY_MS = 1_000
# three beats: a process is taken for dead only after missing two in a row, and its claims
# wait at most this long after it died (2 s measured no faster recovery, and let a live
# process's claims be taken over more easily)
ALIVE_FOR_MS = 3_000
BEAT_CALL = "heartbeat"


class Heartbeat:
    """This process (``token``, in the claims it makes) beating in the store; ``processes``
    makes the token and tells which processes of this machine are gone."""

    def __init__(
        self,
        store: SessionStore,
        clock: Clock,
        calls: CallScheduler,
        token: str | None = None,
        *,
        every_ms: int = BEAT_EVERY_MS,
        alive_for_ms: int = ALIVE_FOR_MS,
        processes: Processes | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._calls = calls
        self._processes = processes or local_processes()
        self.token = token or self._processes.new_token()
        self._every_ms = every_ms
        self._alive_for_ms = alive_for_ms
        self._until: int | None = None  # the alive-until of the last beat stored
        self._running = False

    @property
    def alive_until_ms(self) -> int | None:
        return self._until

    async def start(self) -> None:
        """Beat now, and every ``every_ms`` from then on, until ``stop``."""
        self._running = True
        await self.beat()
        self._next()

    async def stop(self) -> None:
        """A clean exit: no more beats, and the last one deleted, so what this process still
        owed is taken over at once."""
        self._running = False
        self._calls.cancel_call(BEAT_CALL)
        self._until = None
        await self._store.end_heartbeat(self.token)

    async def beat(self) -> None:
        until = self._clock.now_ms() + self._alive_for_ms
        await self._store.beat(self.token, until)
        self._until = until if self._until is None else max(self._until, until)

    async def ensure(self) -> None:
        """Before a claim: the beat has more than half its length left, or is made now."""
        if self._until is None or self._until - self._clock.now_ms() < self._alive_for_ms // 2:
            await self.beat()

    async def liveness(self, run: Run | None = None) -> Liveness:
        """Who is alive: the heartbeats are read only when ``run`` holds a claim of another
        process (None: always), so a wake-up of a room with nothing foreign owed costs no
        read. A process certainly gone (on this machine) is left out, its beat run out or
        not, so its claims are taken over at once."""
        if run is not None and not run.owed_by_others(self.token):
            return Liveness(self.token)
        beats = await self._store.heartbeats()
        gone = self._processes.gone
        return Liveness(self.token, {p: until for p, until in beats.items() if not gone(p)})

    async def _refresh(self) -> None:
        try:
            await self.beat()
        finally:
            if self._running:
                self._next()

    def _next(self) -> None:
        at = self._clock.now_ms() + self._every_ms
        self._calls.schedule_call(BEAT_CALL, at, self._refresh, background=True)

"""One scheduler in front of every REST call the bot makes to Discord.

Discord allows one bot token about 50 REST requests a second, every process together (its
global limit), and bans the address after 10,000 refused requests in ten minutes; discord.py
learns the global limit only from refusals, and per process. So every call through
``HTTPClient.request`` waits here for its turn: calls leave evenly spaced, at most
``discord.requests_per_second`` a second (45 by default). discord.py's own per-route buckets
still apply after this, unchanged.

Waiting calls are served by lane, then in arrival order (:class:`Lane`). A caller marks its
call with ``with pacing.lane(Lane.ALARM): await channel.send(...)``; an unmarked call is
``Lane.OTHER``. A call marked ``replaces=KEY`` coalesces: while it waits, a newer call with the
same key takes its place in the queue and it raises :class:`Superseded` (the newer call
carries the newer content); a newer call is never sent while an older one with its key is
still on the wire, so an older edit never lands after a newer one.

The pace is kept by ``pyrate-limiter``'s GCRA: in process for the embedded store, against a
monotonic clock (never the wall clock, which the tests freeze), or in Redis when the bot uses
Redis, so every process of the bot shares one pace: the state is one small hash per bot
(``studyon:pacing:<application id>``, expiring by itself), moved atomically by the library's
script against the Redis server's own clock, which all processes read alike. On a Redis
Cluster the hash lives on one node, and the clock read is that node's, for every process.

Interaction responses and followups (the 3-second deadline) do not go through
``HTTPClient.request``: discord.py sends them through its webhook adapter, and they do not
count towards the global limit, so nothing here ever holds them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from inspect import isawaitable
from typing import Any, Final, Protocol

from pyrate_limiter import (
    GCRA,
    Decision,
    Duration,
    InMemoryStateStore,
    Rate,
    RedisStateStore,
    StateStore,
)
from redis.commands.core import AsyncScript
from redis.exceptions import RedisClusterException, RedisError

from storage.redis_client import AnyRedis, connect, discover_nodes

__all__ = [
    "BURST",
    "KEY_PREFIX",
    "Lane",
    "LocalPace",
    "Pace",
    "Pacer",
    "PacerClosed",
    "RedisPace",
    "Superseded",
    "Unpaced",
    "install",
    "lane",
    "pace_key",
    "uninstall",
]

log = logging.getLogger(__name__)

KEY_PREFIX: Final = "studyon:pacing:"


class Lane(IntEnum):
    """Which waiting call goes first: the lower, the sooner.

    ``OTHER`` (every unmarked call: channels and permissions for ``/room create`` and joins,
    command sync, fetches) sits after the board and before card edits: a member is usually
    waiting on it, while a card edit only refreshes what is already shown (and coalesces, so
    waiting costs it nothing) and a reaction is decoration. Lanes are strict: a lower lane
    goes first whenever both wait; at 45 calls a second the higher lanes are never that busy
    for long.
    """

    ALARM = 0  # an alarm post: the grace window counts from when it reaches the channel
    ALARM_EDIT = 1  # an alarm's edit (dismissed, closed)
    BOARD = 2  # a board line
    OTHER = 3  # everything not marked
    CARD = 4  # a room card's edit
    REACTION = 5  # adding or removing a reaction


class Superseded(Exception):
    """This call waited and a newer call with the same ``replaces`` key took its place: the
    newer one carries the newer content, so there is nothing left for this one to send."""

    def __init__(self, key: str) -> None:
        super().__init__(f"superseded by a newer call for {key}")
        self.key = key


class PacerClosed(RuntimeError):
    """The bot is closing: a call still waiting for its turn is not sent."""


class Withheld(RuntimeError):
    """The call's turn came when its ``only_if`` no longer held: it was not sent."""


@dataclass(frozen=True, slots=True)
class _Mark:
    lane: Lane
    replaces: str | None
    only_if: Callable[[], bool] | None = None


_OTHER: Final = _Mark(Lane.OTHER, None)
_MARK: contextvars.ContextVar[_Mark] = contextvars.ContextVar("studyon_pacing_lane", default=_OTHER)


@contextlib.contextmanager
def lane(
    which: Lane, *, replaces: str | None = None, only_if: Callable[[], bool] | None = None
) -> Iterator[None]:
    """Mark the REST calls made inside the block (in this task) as ``which``.

    ``replaces``: a key naming what the call sets, e.g. ``f"card:{message_id}"``; while the
    call waits, a newer call with the same key replaces it, and it raises
    :class:`Superseded`. Give a key to one call at a time (one edit per block).
    ``only_if``: asked when the call's turn comes; false, and the call is not sent but raises
    :class:`Withheld` (a call that is right to make only soon enough)."""
    token = _MARK.set(_Mark(Lane(which), replaces, only_if))
    try:
        yield
    finally:
        _MARK.reset(token)


def current_lane() -> Lane:
    return _MARK.get().lane


# --------------------------------------------------------------------------------------------
# The pace: one GCRA limit, in process or shared through Redis


class Pace(Protocol):
    per_second: int

    async def take(self) -> float:
        """Spend one request of the pace: 0.0 when granted, otherwise the seconds to wait
        before asking again (nothing was spent)."""
        ...

    async def close(self) -> None: ...


# how many calls may go back to back: 2 lets a call whose turn came a little late (timers
# fire late, the clock counts whole milliseconds) catch up, so the pace is kept on average,
# while any second still holds at most the rate + 2 (47 of Discord's 50 at the default 45)
BURST: Final = 2


def _rates(per_second: int) -> list[Rate]:
    if per_second < 1:
        raise ValueError(f"requests_per_second must be ≥ 1, got {per_second}")
    return [Rate(per_second, Duration.SECOND, burst=BURST)]


def _wait_of(decision: Decision) -> float:
    if decision.allowed:
        return 0.0
    # a GCRA refusal always says when; "never fits" cannot happen with weight 1
    return max((decision.retry_after_ms or 1) / 1000, 0.001)


def monotonic_ms() -> int:
    """The process's monotonic clock, from ``monotonic_ns``: neither the wall clock (which
    time-machine freezes in the tests) nor ``time.monotonic`` (which SimCord moves)."""
    return time.monotonic_ns() // 1_000_000


class LocalPace:
    """The pace in this process only (the embedded store: one process)."""

    def __init__(self, per_second: int, clock: Callable[[], int] = monotonic_ms) -> None:
        self.per_second = per_second
        self._rates = _rates(per_second)
        self._algorithm = GCRA()
        self._store: StateStore = InMemoryStateStore()
        self._clock = clock

    async def take(self) -> float:
        return self.take_now()

    def take_now(self) -> float:
        decision = self._store.check(self._algorithm, self._rates, self._clock(), 1)
        assert isinstance(decision, Decision)
        return _wait_of(decision)

    async def close(self) -> None:
        return None


class Unpaced:
    """No pace: every call goes at once, still by lane and key. For a simulated Discord only
    (the offline demo, the end-to-end tests): it has no global limit and runs in virtual
    time, where a real-time pace would hold calls the simulation waits for; it sends bursts
    of over a hundred calls in one virtual instant."""

    per_second = 0

    async def take(self) -> float:
        return 0.0

    async def close(self) -> None:
        return None


def pace_key(application_id: int | None, token: str | None) -> str:
    """The Redis key every process of one bot shares: by its application id, or a hash of
    its token when the id is not known (never the token itself)."""
    if application_id is not None:
        return f"{KEY_PREFIX}{application_id}"
    digest = hashlib.sha256((token or "").encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}token-{digest}"


REDIS_RETRY_S = 30.0  # after Redis fails, how long this process paces alone before asking again
# the clock of the server that holds KEYS[1]: on a cluster, the node of the pace's hash
_SERVER_TIME = "return redis.call('TIME')"


class RedisPace:
    """The pace shared by every process of the bot that uses ``key`` on this Redis.

    The clock is the Redis server's (``TIME``), the same for every process whatever their
    own clocks say. If Redis cannot be reached, the call is paced in this process instead,
    at the full rate (said once a minute in the log), for ``REDIS_RETRY_S`` before Redis is
    asked again: a broken Redis must not stop the bot talking to Discord, nor hold each call
    for a timeout, though several processes may then go over the limit together."""

    def __init__(
        self,
        per_second: int,
        url: str,
        key: str,
        *,
        client: AnyRedis | None = None,
    ) -> None:
        self.per_second = per_second
        self.key = key
        self._rates = _rates(per_second)
        self._algorithm = GCRA()
        self._owns_client = client is None
        self._redis: AnyRedis = client or connect(
            url, socket_timeout=1.0, socket_connect_timeout=1.0
        )
        self._time: AsyncScript = self._redis.register_script(_SERVER_TIME)
        # typed for one server's client; it needs only register_script, which a cluster has
        self._store: StateStore = RedisStateStore(self._redis, key)  # type: ignore[arg-type]
        self._discovering = asyncio.Lock()
        self._fallback = LocalPace(per_second)
        self._warned_at: float | None = None
        self._down_until: float | None = None  # Redis failed: pace alone until then

    async def now_ms(self) -> int:
        await discover_nodes(self._redis, self._discovering)
        seconds, micros = await self._time(keys=[self.key])
        return int(seconds) * 1000 + int(micros) // 1000

    async def take(self) -> float:
        if self._down_until is not None and time.monotonic_ns() / 1e9 < self._down_until:
            return self._fallback.take_now()  # not a second per call waiting for a timeout
        try:
            now = await self.now_ms()
            checked: Decision | Awaitable[Decision] = self._store.check(
                self._algorithm, self._rates, now, 1
            )
            decision = await checked if isawaitable(checked) else checked
        except (RedisError, RedisClusterException, OSError) as exc:
            self._warn(exc)
            self._down_until = time.monotonic_ns() / 1e9 + REDIS_RETRY_S
            return self._fallback.take_now()
        self._down_until = None
        return _wait_of(decision)

    def _warn(self, exc: BaseException) -> None:
        now = time.monotonic_ns() / 1e9
        if self._warned_at is None or now - self._warned_at >= 60:
            self._warned_at = now
            log.warning(
                "the shared REST pace in Redis cannot be reached (%s: %s); pacing this "
                "process alone",
                type(exc).__name__,
                exc,
            )

    async def close(self) -> None:
        if self._owns_client:
            await self._redis.aclose()


# --------------------------------------------------------------------------------------------
# The queue


_seq = itertools.count()


@dataclass(eq=False)
class _Waiter:
    lane: Lane
    key: str | None
    future: asyncio.Future[None]
    seq: int = field(default_factory=lambda: next(_seq))


class Pacer:
    """Grants REST calls their turn: by lane, then in arrival order, at the pace's rate.

    A call that finds nobody waiting and the pace free goes at once, without yielding to the
    event loop. Otherwise it queues, and one task (started when the queue forms, ended when it
    empties, cancelled by :meth:`close`) hands out turns as the pace allows."""

    def __init__(self, pace: Pace) -> None:
        self.pace = pace
        self._lanes: dict[Lane, list[_Waiter]] = {which: [] for which in Lane}
        self._by_key: dict[str, _Waiter] = {}
        self._on_wire: dict[str, int] = {}
        self._pump: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self.sent = 0
        self.superseded = 0
        self.most_waiting = 0

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._lanes.values())

    def _ready(self) -> _Waiter | None:
        """The waiter to serve next: the first of the lowest lane whose key is not on the
        wire (a call with a key waits for the older call with that key to finish)."""
        for queue in self._lanes.values():
            for waiter in queue:
                if waiter.key is None or waiter.key not in self._on_wire:
                    return waiter
        return None

    def _remove(self, waiter: _Waiter) -> None:
        queue = self._lanes[waiter.lane]
        with contextlib.suppress(ValueError):
            queue.remove(waiter)
        if waiter.key is not None and self._by_key.get(waiter.key) is waiter:
            del self._by_key[waiter.key]

    def _grant(self, waiter: _Waiter) -> None:
        self._remove(waiter)
        if waiter.future.done():
            return  # its caller gave up while waiting: nothing goes on the wire for it
        if waiter.key is not None:
            self._on_wire[waiter.key] = self._on_wire.get(waiter.key, 0) + 1
        self.sent += 1
        waiter.future.set_result(None)

    def _enqueue(self, which: Lane, key: str | None) -> _Waiter:
        waiter = _Waiter(which, key, asyncio.get_running_loop().create_future())
        older = self._by_key.get(key) if key is not None else None
        if older is not None:
            # the newer call takes the older one's place in the queue (it has waited as long)
            self._remove(older)
            self.superseded += 1
            if not older.future.done():
                older.future.set_exception(Superseded(key or ""))
            if older.lane == which:
                waiter.seq = older.seq
        queue = self._lanes[which]
        queue.append(waiter)
        if older is not None and older.lane == which:
            queue.sort(key=lambda w: w.seq)
        if key is not None:
            self._by_key[key] = waiter
        self.most_waiting = max(self.most_waiting, self.waiting)
        return waiter

    async def admit(self, which: Lane = Lane.OTHER, replaces: str | None = None) -> None:
        """Wait for this call's turn. Raises :class:`Superseded` when a newer call with the
        same key took its place, :class:`PacerClosed` when the pacer closes first. A caller
        that was admitted must call :meth:`done` with the same key when its call is over."""
        if self._closed:
            raise PacerClosed("the bot is closing")
        free = (
            self._pump is None
            and self.waiting == 0
            and (replaces is None or replaces not in self._on_wire)
        )
        if free and await self.pace.take() == 0.0:
            if replaces is not None:
                self._on_wire[replaces] = self._on_wire.get(replaces, 0) + 1
            self.sent += 1
            return
        waiter = self._enqueue(which, replaces)
        self._wake.set()  # the task may be waiting for a key while this call could go
        self._start()
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                if waiter.future.exception() is None:
                    self.done(replaces)  # granted, then cancelled before it was sent
            else:
                self._remove(waiter)
                self._wake.set()
            raise

    def done(self, replaces: str | None) -> None:
        if replaces is None:
            return
        left = self._on_wire.get(replaces, 0) - 1
        if left > 0:
            self._on_wire[replaces] = left
        else:
            self._on_wire.pop(replaces, None)
        if replaces in self._by_key:
            self._wake.set()
            self._start()

    def _start(self) -> None:
        if self._pump is None and self.waiting and not self._closed:
            self._pump = asyncio.get_running_loop().create_task(
                self._run(), name="studyon-pacing", context=contextvars.Context()
            )

    async def _run(self) -> None:
        try:
            while self.waiting:
                if self._ready() is None:
                    # every waiter's key is on the wire: wait for one to come back
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                try:
                    wait = await self.pace.take()
                except Exception:
                    log.exception("the REST pace failed; trying again shortly")
                    wait = 0.1
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                waiter = self._ready()  # the best one now: a sooner lane may have come
                if waiter is not None:
                    self._grant(waiter)
                # (when every waiter left while the pace answered, the turn goes unused)
        finally:
            self._pump = None
            # a call that queued while the task was finishing is served by a new one
            if not self._closed and self.waiting and self._ready() is not None:
                self._start()

    async def close(self) -> None:
        """Stop the task, refuse every call still waiting, release the pace."""
        self._closed = True
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        for queue in self._lanes.values():
            for waiter in queue:
                if not waiter.future.done():
                    waiter.future.set_exception(PacerClosed("the bot is closing"))
            queue.clear()
        self._by_key.clear()
        await self.pace.close()


# --------------------------------------------------------------------------------------------
# Installing it in front of HTTPClient.request

Request = Callable[..., Awaitable[Any]]


_ORIGINAL: Final = "_studyon_unpaced_request"


def install(http: Any, pacer: Pacer) -> None:
    """Put ``pacer`` in front of ``http.request`` (discord.py's ``HTTPClient`` or any
    subclass, such as SimCord's): every REST call waits there for its turn, then runs the
    original request, per-route buckets and all. Installing again replaces the pacer."""
    uninstall(http)
    original: Request = http.request

    async def request(route: Any, **kwargs: Any) -> Any:
        mark = _MARK.get()
        await pacer.admit(mark.lane, mark.replaces)
        try:
            if mark.only_if is not None and not mark.only_if():
                raise Withheld(f"{route.method} {route.path} came too late to be sent")
            return await original(route, **kwargs)
        finally:
            pacer.done(mark.replaces)

    request.__wrapped__ = original  # type: ignore[attr-defined]
    http.request = request
    setattr(http, _ORIGINAL, original)


def uninstall(http: Any) -> None:
    """Take the pacer out from in front of ``http.request`` (nothing if there is none)."""
    if getattr(http, _ORIGINAL, None) is not None:
        with contextlib.suppress(AttributeError):
            del http.request  # the instance attribute shadowing the class's method
        with contextlib.suppress(AttributeError):
            delattr(http, _ORIGINAL)

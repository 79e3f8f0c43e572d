"""Storage outages: telling a failure of the database or the session store apart from a bug,
and saying so once per outage.

A server that went away (PostgreSQL restarting, Redis restarted, a network cut) is not a bug
in StudyOn: members are told to try again shortly, wake-ups wait for the store to come back,
and the log says "storage unavailable" once when it starts and "storage back" once when a
probe reaches the store again, instead of a traceback per command and per wake-up.
"""

from __future__ import annotations

import errno
import logging
import socket
import sqlite3
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass

import aiohttp
import asyncpg
import redis.exceptions
import sqlalchemy.exc

from bot.clock import Clock
from bot.services.ports import CallScheduler
from storage.session.redis_store import SessionStoreUnavailable

log = logging.getLogger(__name__)

DATABASE = "database"
SESSION_STORE = "session store"

# errors that mean "the server cannot be talked to", not "the request was wrong"
_UNREACHABLE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
}
_ASYNCPG_GONE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.CannotConnectNowError,  # "the database system is starting up"
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.ConnectionDoesNotExistError,  # the connection was closed mid-query
)
_REDIS_GONE: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,  # refused, reset, closed; LOADING after a restart
    redis.exceptions.TimeoutError,
    # a cluster mid-failover: no node serves the slot yet, or it is a replica still
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.SlotNotCoveredError,
    redis.exceptions.ReadOnlyError,
)
# a server that answers but refuses writes until an operator acts (its disk is full)
_REDIS_REFUSING = ("MISCONF",)
_SQLITE_BUSY = ("database is locked", "unable to open database file", "disk i/o error")


class PartlyDone(Exception):
    """A command's lasting part (in SQL) was done, but a store went out of reach before the
    rest: the member is told to check, not that nothing changed. Raised from the storage
    error, which stays its ``__cause__``."""


@dataclass(frozen=True, slots=True)
class StorageFailure:
    """Which store could not be reached (``DATABASE`` or ``SESSION_STORE``), and why."""

    store: str
    cause: str


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and what caused it, innermost last (each once)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _raised_in(error: BaseException) -> str | None:
    """The store whose driver raised ``error`` (read from its traceback), if any."""
    for frame, _ in reversed(list(traceback.walk_tb(error.__traceback__))):
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith(("asyncpg", "sqlalchemy")):
            return DATABASE
        if module.startswith("redis"):
            return SESSION_STORE
    return None


def _is_unreachable_os_error(error: BaseException) -> bool:
    if isinstance(error, aiohttp.ClientError):  # Discord, not storage
        return False
    if isinstance(error, (ConnectionError, TimeoutError, socket.gaierror)):
        return True
    return isinstance(error, OSError) and error.errno in _UNREACHABLE_ERRNOS


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def storage_failure(error: BaseException) -> StorageFailure | None:
    """What ``error`` says about the stores: a store out of reach, or None (any other error,
    Discord's included)."""
    for link in _chain(error):
        if isinstance(link, aiohttp.ClientError):
            return None
        if isinstance(link, SessionStoreUnavailable):
            return StorageFailure(SESSION_STORE, _describe(link))
        if isinstance(link, _REDIS_GONE) or (
            isinstance(link, redis.exceptions.ResponseError)
            and str(link).startswith(_REDIS_REFUSING)
        ):
            return StorageFailure(SESSION_STORE, _describe(link))
        if isinstance(link, _ASYNCPG_GONE):
            return StorageFailure(DATABASE, _describe(link))
        if isinstance(link, asyncpg.InterfaceError) and "closed" in str(link):
            return StorageFailure(DATABASE, _describe(link))
        if isinstance(link, sqlalchemy.exc.TimeoutError):  # no pooled connection came free
            return StorageFailure(DATABASE, _describe(link))
        if isinstance(link, sqlalchemy.exc.DBAPIError) and link.connection_invalidated:
            return StorageFailure(DATABASE, _describe(link.orig or link))
        if isinstance(link, sqlite3.OperationalError) and any(
            busy in str(link).lower() for busy in _SQLITE_BUSY
        ):
            return StorageFailure(DATABASE, _describe(link))
        if _is_unreachable_os_error(link):
            store = _raised_in(link) or _raised_in(error)
            if store is not None:
                return StorageFailure(store, _describe(link))
    return None


Probe = Callable[[], Awaitable[object]]
BackListener = Callable[[str], None]

PROBE_FIRST_MS = 1_000
PROBE_MAX_MS = 5_000


class StorageOutages:
    """Which stores are out of reach now, and since when.

    ``note(error)`` is called wherever a failure lands (a command, a wake-up, an event): the
    first failure of a store starts its outage, logs one warning and starts probing the store
    (``probes[store]``, a cheap read, run as a scheduled call with a growing pause); the first
    probe that succeeds ends the outage, logs one line, and tells the ``on_back`` listeners
    (the scheduler wakes the rooms that waited). Failures during the outage log nothing
    more. Probing starts once ``attach`` gave the scheduler that runs the probes."""

    def __init__(
        self,
        clock: Clock,
        probes: Mapping[str, Probe],
        *,
        probe_first_ms: int = PROBE_FIRST_MS,
        probe_max_ms: int = PROBE_MAX_MS,
    ) -> None:
        self._clock = clock
        self._probes = dict(probes)
        self._first_ms = probe_first_ms
        self._max_ms = probe_max_ms
        self._since: dict[str, int] = {}  # store -> when its outage began
        self._failures: dict[str, int] = {}  # store -> failures noted during the outage
        self._pause_ms: dict[str, int] = {}  # store -> the pause before its next probe
        self._calls: CallScheduler | None = None
        self._listeners: list[BackListener] = []

    def attach(self, calls: CallScheduler) -> None:
        """The scheduler that runs the probes (the one that runs the rooms' wake-ups)."""
        self._calls = calls
        for store in self._since:
            self._probe_later(store)

    def on_back(self, listener: BackListener) -> None:
        self._listeners.append(listener)

    def down(self, store: str | None = None) -> bool:
        """Whether ``store`` (any store, when None) is out of reach now."""
        return bool(self._since) if store is None else store in self._since

    def note(self, error: BaseException) -> StorageFailure | None:
        """Record ``error`` if it is a store out of reach (and return what it says); None for
        any other error, which the caller reports as it would."""
        failure = storage_failure(error)
        if failure is None:
            return None
        store = failure.store
        if store in self._since:
            self._failures[store] += 1
            return failure
        self._since[store] = self._clock.now_ms()
        self._failures[store] = 1
        self._pause_ms[store] = self._first_ms
        log.warning("storage unavailable (%s: %s); retrying until it is back", store, failure.cause)
        self._probe_later(store)
        return failure

    def back(self, store: str) -> None:
        """End ``store``'s outage (a probe reached it): one line, then the listeners."""
        since = self._since.pop(store, None)
        if since is None:
            return
        failures = self._failures.pop(store, 0)
        self._pause_ms.pop(store, None)
        if self._calls is not None:
            self._calls.cancel_call(probe_call(store))
        took_s = max(0, self._clock.now_ms() - since) / 1000
        log.warning(
            "storage back (%s, after %.1f s; %d failure(s) meanwhile)", store, took_s, failures
        )
        for listener in list(self._listeners):
            try:
                listener(store)
            except Exception:
                log.exception("a listener failed on the %s coming back", store)

    def _probe_later(self, store: str) -> None:
        probe = self._probes.get(store)
        if probe is None or self._calls is None:
            return
        pause = self._pause_ms.get(store, self._first_ms)
        self._pause_ms[store] = min(pause * 2, self._max_ms)

        async def call() -> None:
            if store not in self._since:
                return
            try:
                await probe()
            except Exception as error:
                if storage_failure(error) is None:
                    log.debug("probing the %s failed", store, exc_info=True)
                self._probe_later(store)
                return
            self.back(store)

        self._calls.schedule_call(probe_call(store), self._clock.now_ms() + pause, call)


def probe_call(store: str) -> str:
    """The name of ``store``'s probe among the scheduler's calls."""
    return f"probe:{store.replace(' ', '-')}"

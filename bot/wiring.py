"""Builds the application's parts in the right order and tears them down in reverse.

``open_services`` is what the Discord bot's ``setup_hook`` calls; tests and benchmarks call it
too, so they exercise exactly the production wiring (real SQL, real store, real scheduler).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, SystemClock
from bot.scheduler import TimerScheduler
from bot.services.board import BoardLines
from bot.services.calendar import CalendarService
from bot.services.cleanups import CleanupService
from bot.services.events import ListenerHub
from bot.services.guild_settings import GuildSettingsService
from bot.services.leaderboard import LeaderboardService
from bot.services.liveness import Heartbeat
from bot.services.members import MemberService
from bot.services.outage import DATABASE, SESSION_STORE, Probe, StorageOutages
from bot.services.points import PointsService
from bot.services.posted import PostedMessages
from bot.services.profile import ProfileService
from bot.services.rooms import RoomService
from bot.services.settings import ServiceSettings
from bot.services.study import StudyService
from bot.services.timer import TimerService
from bot.services.todos import TodoService
from storage.db import create_engine, dispose, migrate
from storage.session.base import RoomKey, SessionStore
from storage.session.factory import create_session_store
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)


@dataclass
class Services:
    engine: AsyncEngine
    store: SessionStore
    scheduler: TimerScheduler
    events: ListenerHub
    points: PointsService
    rooms: RoomService
    timers: TimerService
    todos: TodoService
    clock: Clock
    settings: ServiceSettings
    uow: UnitOfWorkFactory
    members: MemberService
    calendar: CalendarService
    study: StudyService
    profile: ProfileService
    leaderboard: LeaderboardService
    cleanups: CleanupService
    posted: PostedMessages
    guild_settings: GuildSettingsService
    outages: StorageOutages
    board: BoardLines
    heartbeat: Heartbeat
    _closed: bool = field(default=False, repr=False)

    async def start(
        self, owns: Callable[[int], bool] | None = None, *, beating: bool = True
    ) -> int:
        """Start the heartbeat and the scheduler and take up what the stores hold, in the
        guilds ``owns`` (this process's shards; all when None): every running room
        rescheduled (due wake-ups run at once; what a dead process left claimed is taken
        over at once), the rooms a dead process left half made undone (and swept again as
        others come of age), the Discord work left owed tried again. How many running rooms
        were rescheduled.

        ``beating=False`` beats only before claims (``Heartbeat.ensure``), with no refresh
        every second: for a bot in SimCord, one process, whose virtual time moves the wall
        clock ahead of the event loop's, so a job due every second would run the rooms'
        wake-ups early in loop time."""
        if beating:
            await self.heartbeat.start()  # before any claim this process makes
        self.scheduler.start()
        restored = await self.timers.restore(
            owns=None if owns is None else (lambda key: owns(key.guild_id))
        )
        await self.rooms.sweep_abandoned_creates(owns)
        self.cleanups.resume()
        self.board.resume()
        return restored

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.scheduler.aclose()
        try:  # nothing claims any more: what is still owed is for others to take over now
            await self.heartbeat.stop()
        except Exception:
            log.warning("the heartbeat could not be deleted; it runs out by itself", exc_info=True)
        await self.store.close()
        await dispose(self.engine)


async def bind_store(store: SessionStore, uow: UnitOfWorkFactory) -> None:
    """Attach the session store to this database before any live state is used: state left
    by another database (one that was replaced, whose room ids start over) is cleared, and
    that is said once, in one line."""
    async with uow() as unit:
        identity = await unit.installation.identity()
    outcome = await store.bind(identity)
    if outcome.cleared:
        log.warning(
            "the session store held live state of another database (%d running room(s)); "
            "it was cleared",
            outcome.dropped_rooms,
        )


def storage_probes(engine: AsyncEngine, store: SessionStore) -> dict[str, Probe]:
    """The cheapest read of each store, to tell when one that was out of reach is back."""

    async def database() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def session_store() -> None:
        await store.get_run(NO_ROOM)  # a key no room has: one round trip, nothing read

    return {DATABASE: database, SESSION_STORE: session_store}


NO_ROOM = RoomKey(0, 0)


async def open_services(
    database_url: str,
    redis_url: str = "",
    embedded_path: str | Path = "studyon-session.db",
    settings: ServiceSettings | None = None,
    clock: Clock | None = None,
    *,
    start_scheduler: bool = True,
    engine: AsyncEngine | None = None,
    store: SessionStore | None = None,
    process_token: str | None = None,
) -> Services:
    """Migrate the database, open the session store and bind it to the database, build the
    services, start the scheduler and reschedule every running room from the store.

    ``engine`` and ``store`` may be given already made (tests put them in an isolated
    schema or namespace); they are migrated and opened here all the same.
    ``process_token``: the heartbeat token the services' claims carry, if not this
    process's own (tests that stand for another process)."""
    settings = settings or ServiceSettings()
    clock = clock or SystemClock()
    engine = engine or create_engine(database_url)
    await migrate(engine)
    store = store or create_session_store(redis_url, embedded_path)
    await store.open()
    uow = UnitOfWorkFactory(engine)
    await bind_store(store, uow)
    guild_settings = GuildSettingsService(uow, clock, settings)
    await guild_settings.load()
    # every use case that knows the server reads its settings: the file's, overridden by it
    settings = settings.following(guild_settings.current)
    events = ListenerHub()
    holder: list[TimerService] = []

    async def wake(key: RoomKey) -> None:
        await holder[0].wake(key)

    outages = StorageOutages(clock, storage_probes(engine, store))
    scheduler = TimerScheduler(wake, outages=outages)
    outages.attach(scheduler)
    points = PointsService(uow, clock, settings)
    cleanups = CleanupService(uow, scheduler, clock)
    board = BoardLines(uow, scheduler, clock)
    rooms = RoomService(
        uow, store, scheduler, events, clock, settings, cleanups, calls=scheduler, board=board
    )
    heartbeat = Heartbeat(store, clock, scheduler, process_token)
    timers = TimerService(
        uow,
        store,
        scheduler,
        events,
        clock,
        settings,
        rooms,
        calls=scheduler,
        heartbeat=heartbeat,
    )
    holder.append(timers)
    todos = TodoService(uow, clock, settings, events, board)
    study = StudyService(uow, store, clock)
    services = Services(
        engine,
        store,
        scheduler,
        events,
        points,
        rooms,
        timers,
        todos,
        clock,
        settings,
        uow,
        members=MemberService(uow, clock, settings),
        calendar=CalendarService(uow, clock, settings),
        study=study,
        profile=ProfileService(uow, clock, settings, study),
        leaderboard=LeaderboardService(uow, clock, settings),
        cleanups=cleanups,
        posted=PostedMessages(store),
        guild_settings=guild_settings,
        outages=outages,
        board=board,
        heartbeat=heartbeat,
    )
    if start_scheduler:
        log.info("rescheduled %d running room(s)", await services.start())
    return services

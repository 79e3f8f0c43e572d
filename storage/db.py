"""Engines and migrations.

SQLite (through aiosqlite) is the default: one file, write-ahead log, a generous busy timeout,
foreign keys on, and every transaction opened with ``BEGIN IMMEDIATE`` so that writers queue
for the database lock up front instead of failing half-way; two concurrent spends therefore
cannot interleave. PostgreSQL (through asyncpg) uses an ordinary connection pool, and code that
must serialise takes row locks (``SELECT ... FOR UPDATE``).

The schema is created by the Alembic migrations in ``storage/migrations`` only, on both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_TIMEOUT_S = 2.0
# a statement of this bot takes milliseconds; one still running after this is a server
# that stopped answering (the migrations, run on this engine too, stay well inside it)
POSTGRES_COMMAND_TIMEOUT_S = 10.0
POSTGRES_POOL_TIMEOUT_S = 10.0  # waiting for a pooled connection to come free

_DEFAULT_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def _normalise_url(url: str | URL) -> URL:
    u = make_url(url)
    if u.drivername == "postgres":  # an alias some hosts hand out
        u = u.set(drivername="postgresql")
    driver = _DEFAULT_DRIVERS.get(u.drivername)
    if driver is not None:
        u = u.set(drivername=driver)
    return u


def _is_sqlite_memory(u: URL) -> bool:
    return u.database in (None, "", ":memory:") or u.query.get("mode") == "memory"


def create_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url`` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``).

    A bare ``sqlite://`` or ``postgresql://`` gets the async driver. Extra keyword arguments go
    to SQLAlchemy's ``create_async_engine`` (e.g. ``connect_args``, ``poolclass``).
    """
    u = _normalise_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        return _create_sqlite_engine(u, kwargs)
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        # a server that is gone fails a command in seconds (its member told to try again
        # shortly, inside Discord's 3-second window) rather than hanging on the driver's
        # 60-second connect timeout
        connect_args = dict(kwargs.get("connect_args") or {})
        connect_args.setdefault("timeout", POSTGRES_CONNECT_TIMEOUT_S)
        connect_args.setdefault("command_timeout", POSTGRES_COMMAND_TIMEOUT_S)
        kwargs["connect_args"] = connect_args
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_timeout", POSTGRES_POOL_TIMEOUT_S)
            kwargs.setdefault("pool_size", 10)
            kwargs.setdefault("max_overflow", 20)
        return create_async_engine(u, **kwargs)
    raise ValueError(f"unsupported database: {u.drivername!r} (use SQLite or PostgreSQL)")


def _create_sqlite_engine(u: URL, kwargs: dict[str, Any]) -> AsyncEngine:
    memory = _is_sqlite_memory(u)
    if not memory and u.database is not None:
        Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(u, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module; ``_on_begin`` emits BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Take the write lock at the start of every transaction (waiting up to the busy
        # timeout): read-then-write sequences such as "check balance, then spend" never
        # interleave, and no transaction fails when upgrading a read lock to a write lock.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return cfg


def _run_alembic(connection: Connection, action: str, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    if action == "upgrade":
        command.upgrade(cfg, revision)
    else:
        command.downgrade(cfg, revision)


def sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    # outside any transaction (SQLite ignores the pragma inside one): the raw connection
    # is in autocommit mode until SQLAlchemy emits BEGIN
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    finally:
        cursor.close()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration left rows without their parent: {broken[:5]}")


async def _migrate(engine: AsyncEngine, action: str, revision: str) -> None:
    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            await connection.run_sync(_run_alembic, action, revision)
        return
    # SQLite changes a constraint by rebuilding the table, which its foreign keys would
    # refuse while rows refer to it: they are off for the migration, checked before commit
    async with engine.connect() as connection:
        await connection.run_sync(sqlite_foreign_keys, False)
        try:
            async with connection.begin():
                await connection.run_sync(_run_alembic, action, revision)
                await connection.run_sync(_check_foreign_keys)
        finally:
            await connection.run_sync(sqlite_foreign_keys, True)


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (the newest by default), in one transaction."""
    await _migrate(engine, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    """Take the schema down to ``revision`` (``base``: no tables), in one transaction."""
    await _migrate(engine, "downgrade", revision)


async def dispose(engine: AsyncEngine) -> None:
    """Close every pooled connection."""
    await engine.dispose()


__all__ = [
    "MIGRATIONS_DIR",
    "SQLITE_BUSY_TIMEOUT_MS",
    "alembic_config",
    "create_engine",
    "dispose",
    "downgrade",
    "migrate",
]

"""Alembic environment for StudyOn (async engines; SQLite and PostgreSQL).

``storage.db.migrate`` hands over an open connection through ``config.attributes``; from the
command line a URL is taken from ``-x url=...``, ``STUDYON_DATABASE_URL`` or ``sqlalchemy.url``.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection

from storage.models import Base

config = context.config
target_metadata = Base.metadata

# Any constant works; it only has to be the same for every process migrating one database.
_PG_MIGRATION_LOCK_KEY = 7_295_730_161


def _url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("STUDYON_DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise SystemExit("no database URL: pass -x url=... or set STUDYON_DATABASE_URL")
    return url


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Processes starting together migrate one after another, not at the same time.
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY}
        )
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_url(url: str) -> None:
    from storage.db import create_engine, dispose, sqlite_foreign_keys

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                # a table rebuild needs them off (as ``storage.db.migrate`` does)
                await connection.run_sync(sqlite_foreign_keys, False)
            async with connection.begin():
                await connection.run_sync(_run)
    finally:
        await dispose(engine)


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_with_url(_url()))


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

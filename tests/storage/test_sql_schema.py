"""The schema comes from the migrations, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.rooms import RoomStatus
from storage.db import create_engine, dispose, downgrade, migrate
from storage.models import Base
from storage.uow import UnitOfWork, UnitOfWorkFactory


def _columns_by_table(conn: Connection) -> dict[str, set[str]]:
    insp = inspect(conn)
    return {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names()}


def _indexes_by_table(conn: Connection) -> dict[str, set[str]]:
    insp = inspect(conn)
    return {t: {str(i["name"]) for i in insp.get_indexes(t)} for t in insp.get_table_names()}


def _diff(conn: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


async def _snapshot(engine: AsyncEngine) -> dict[str, set[str]]:
    async with engine.connect() as conn:
        return await conn.run_sync(_columns_by_table)


async def test_migrations_create_every_table_and_column(engine: AsyncEngine) -> None:
    tables = await _snapshot(engine)
    for table in Base.metadata.sorted_tables:
        assert table.name in tables, f"missing table {table.name}"
        assert {c.name for c in table.columns} <= tables[table.name], table.name
    assert set(tables) == {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"}


async def test_migrations_match_the_models_exactly(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
        indexes = await conn.run_sync(_indexes_by_table)
    for table in Base.metadata.sorted_tables:
        assert {str(i.name) for i in table.indexes} <= indexes[table.name], table.name


async def test_schema_is_at_head(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version == "0010"


async def test_downgrade_to_base_then_upgrade_again(engine: AsyncEngine) -> None:
    before = await _snapshot(engine)
    await downgrade(engine, "base")
    assert set(await _snapshot(engine)) <= {"alembic_version"}
    await migrate(engine)
    assert await _snapshot(engine) == before


async def test_migrate_twice_is_a_no_op(engine: AsyncEngine) -> None:
    before = await _snapshot(engine)
    await migrate(engine)
    assert await _snapshot(engine) == before


async def test_sqlite_connection_settings(tmp_path: Path) -> None:
    eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'settings.db'}")
    try:
        async with eng.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one() >= 30_000
    finally:
        await dispose(eng)


async def test_foreign_keys_are_enforced(engine: AsyncEngine) -> None:
    async with UnitOfWorkFactory(engine)() as uow:
        with pytest.raises(IntegrityError):
            await uow.rooms.add_member(room_id=424242, user_id=1, joined_ms=0, membership_no=1)


async def test_a_room_status_is_one_of_its_three(engine: AsyncEngine) -> None:
    """The migrated check constraint admits a room being made and refuses anything else."""

    async def add(uow: UnitOfWork, status: str) -> int:
        room = await uow.rooms.add(
            guild_id=1, owner_id=2, title="t", capacity=2, study_ms=1, break_ms=1, terms=1,
            status=cast(RoomStatus, status), created_ms=0,
        )  # fmt: skip
        return room.id

    async with UnitOfWorkFactory(engine)() as uow:
        room_id = await add(uow, RoomStatus.CREATING)
        await uow.commit()
        assert (await uow.rooms.get(room_id)) is not None
    async with UnitOfWorkFactory(engine)() as uow:
        with pytest.raises(IntegrityError):
            await add(uow, "bogus")


def test_create_engine_picks_async_drivers_and_refuses_others() -> None:
    sqlite = create_engine("sqlite:///:memory:")
    pg = create_engine("postgresql://u@127.0.0.1/x")
    try:
        assert sqlite.url.drivername == "sqlite+aiosqlite"
        assert pg.url.drivername == "postgresql+asyncpg"
    finally:
        sqlite.sync_engine.dispose()
        pg.sync_engine.dispose()
    with pytest.raises(ValueError, match="unsupported database"):
        create_engine("mysql+aiomysql://u@127.0.0.1/x")


async def test_create_engine_makes_the_sqlite_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "studyon.db"
    eng = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate(eng)
    finally:
        await dispose(eng)
    assert path.exists()


async def test_upgrade_keys_the_titles_of_existing_rooms(engine: AsyncEngine) -> None:
    """Rooms and todos stored before their keys existed are found by a search in any
    script."""
    await downgrade(engine, "0001")
    async with engine.begin() as conn:
        for title in ("Ökonomie", "ÉCO club", "Math"):
            await conn.execute(
                text(
                    "INSERT INTO rooms (guild_id, owner_id, title, notice, tags, capacity,"
                    " study_ms, break_ms, terms, status, created_ms)"
                    " VALUES (1, 2, :title, '', '[]', 4, 60000, 60000, 1, 'open', 0)"
                ),
                {"title": title},
            )
        await conn.execute(
            text(
                "INSERT INTO todos (guild_id, user_id, day, text, done, position, created_ms)"
                " VALUES (1, 2, '2026-01-01', 'Ökonomie lernen', false, 1, 0)"
            )
        )
    await migrate(engine)
    async with engine.connect() as conn:
        keys = (await conn.execute(text("SELECT title_key FROM rooms ORDER BY id"))).scalars()
        assert list(keys) == ["ökonomie", "éco club", "math"]
    async with UnitOfWorkFactory(engine)() as uow:
        assert [r.title for r in await uow.rooms.list_open(1, query="ökonomie")] == ["Ökonomie"]
        assert [r.title for r in await uow.rooms.list_open(1, query="éco")] == ["ÉCO club"]
        assert [t.text for t in await uow.todos.search(1, 2, "ÖKONOMIE")] == ["Ökonomie lernen"]


async def test_downgrade_keeps_rooms_that_have_members(engine: AsyncEngine) -> None:
    async with UnitOfWorkFactory(engine)() as uow:
        room = await uow.rooms.add(
            guild_id=1,
            owner_id=2,
            title="Ökonomie",
            capacity=4,
            study_ms=60_000,
            break_ms=60_000,
            terms=1,
            created_ms=0,
        )
        await uow.rooms.add_member(room_id=room.id, user_id=2, joined_ms=0, membership_no=1)
        await uow.commit()
    await downgrade(engine, "0001")
    async with engine.connect() as conn:
        rooms = (await conn.execute(text("SELECT id, title FROM rooms"))).all()
        members = (await conn.execute(text("SELECT room_id FROM room_members"))).scalars()
        assert [tuple(r) for r in rooms] == [(room.id, "Ökonomie")]
        assert list(members) == [room.id]
    await migrate(engine)
    async with UnitOfWorkFactory(engine)() as uow:
        assert [r.id for r in await uow.rooms.list_open(1, query="ÖKO")] == [room.id]

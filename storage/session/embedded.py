"""The session store in its own SQLite file, for a single bot process.

It survives a restart: every write is committed before the call returns. The file is separate
from the main database so live state never contends with durable records. Uniqueness (claims,
first dismissal wins) comes from primary keys and ``INSERT OR IGNORE``; one connection is
shared and every method is one short transaction under a lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from storage.session.base import HEARTBEAT_FORGOTTEN_MS, Binding, BindOutcome, RoomKey, Run
from storage.session.codec import run_from_json, run_to_json
from storage.session.slots import RoomSlots

IN_CHUNK = 500
# 2: the database the live state belongs to (``bound_to``); 3: the processes' heartbeats
SCHEMA_VERSION = 3

_PRAGMAS = (
    "PRAGMA busy_timeout = 5000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
        guild INTEGER NOT NULL,
        room INTEGER NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (guild, room)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS claims (
        guild INTEGER NOT NULL,
        room INTEGER NOT NULL,
        token TEXT NOT NULL,
        PRIMARY KEY (guild, room, token)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS dismissals (
        guild INTEGER NOT NULL,
        room INTEGER NOT NULL,
        run_id INTEGER NOT NULL,
        boundary INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (guild, room, run_id, boundary, user_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS members (
        guild INTEGER NOT NULL,
        room INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        joined_ms INTEGER NOT NULL,
        PRIMARY KEY (guild, room, user_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS messages (
        guild INTEGER NOT NULL,
        room INTEGER NOT NULL,
        name TEXT NOT NULL,
        message_id INTEGER NOT NULL,
        PRIMARY KEY (guild, room, name)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS heartbeats (
        process TEXT PRIMARY KEY,
        alive_until INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS bound_to (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        identity TEXT NOT NULL
    )""",
)
# every table of a database's live state, cleared when the store is bound to another one
_LIVE_TABLES = ("runs", "claims", "dismissals", "members", "messages")


class EmbeddedSessionStore(RoomSlots):
    """:class:`~storage.session.base.SessionStore` in a SQLite file (``":memory:"`` for
    throw-away tests)."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def path(self) -> str:
        return self._path

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        if self._db is not None:
            return
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; each method opens its own
        db = await aiosqlite.connect(self._path, isolation_level=None)
        try:
            # pragmas answer with a row: read and close each cursor, or the COMMIT below
            # finds "SQL statements in progress"
            for pragma in _PRAGMAS if self._path != ":memory:" else _PRAGMAS[:1]:
                async with db.execute(pragma) as cursor:
                    await cursor.fetchall()
            await db.execute("BEGIN IMMEDIATE")
            for ddl in _SCHEMA:
                await db.execute(ddl)
            await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            await db.execute("COMMIT")
        except BaseException:
            await db.close()
            raise
        self._db = db

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            async with self._lock:
                await db.close()

    async def bind(self, identity: str) -> BindOutcome:
        db = self._conn
        async with self._lock:
            await db.execute("BEGIN IMMEDIATE")
            try:
                async with db.execute("SELECT identity FROM bound_to WHERE id = 1") as cur:
                    row = await cur.fetchone()
                if row is not None and row[0] == identity:
                    outcome = BindOutcome(Binding.SAME)
                elif row is None:
                    await db.execute(
                        "INSERT INTO bound_to (id, identity) VALUES (1, ?)", (identity,)
                    )
                    outcome = BindOutcome(Binding.ADOPTED)
                else:
                    async with db.execute("SELECT COUNT(*) FROM runs") as cur:
                        counted = await cur.fetchone()
                    for table in _LIVE_TABLES:
                        await db.execute(f"DELETE FROM {table}")
                    await db.execute("UPDATE bound_to SET identity = ? WHERE id = 1", (identity,))
                    outcome = BindOutcome(Binding.REPLACED, int(counted[0]) if counted else 0)
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")
            return outcome

    @property
    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("the session store is not open")
        return self._db

    async def _write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement in its own transaction; the number of rows it changed."""
        db = self._conn
        async with self._lock:
            cur = await db.execute(sql, params)
            count = cur.rowcount
            await cur.close()
            return count

    async def _write_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Several statements in one transaction: all or none."""
        db = self._conn
        async with self._lock:
            await db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    await db.execute(sql, params)
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        db = self._conn
        async with self._lock, db.execute(sql, params) as cur:
            return list(await cur.fetchall())

    # -- the running timer ---------------------------------------------------------------

    async def put_run(self, key: RoomKey, run: Run) -> None:
        await self._write(
            "INSERT INTO runs (guild, room, json) VALUES (?, ?, ?) "
            "ON CONFLICT (guild, room) DO UPDATE SET json = excluded.json",
            (key.guild_id, key.room_id, run_to_json(run)),
        )

    async def replace_run(self, key: RoomKey, expected: Run, run: Run) -> bool:
        where = (key.guild_id, key.room_id)
        rows = await self._read("SELECT json FROM runs WHERE guild = ? AND room = ?", where)
        # compared as read, so a run stored in an older format counts as ``expected``; set
        # over the very text read, so a change meanwhile still wins
        if not rows or run_from_json(rows[0][0]) != expected:
            return False
        changed = await self._write(
            "UPDATE runs SET json = ? WHERE guild = ? AND room = ? AND json = ?",
            (run_to_json(run), *where, rows[0][0]),
        )
        return changed == 1

    async def get_run(self, key: RoomKey) -> Run | None:
        rows = await self._read(
            "SELECT json FROM runs WHERE guild = ? AND room = ?", (key.guild_id, key.room_id)
        )
        return run_from_json(rows[0][0]) if rows else None

    async def get_runs(self, keys: Iterable[RoomKey]) -> dict[RoomKey, Run]:
        wanted = list(dict.fromkeys(keys))
        out: dict[RoomKey, Run] = {}
        for i in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[i : i + IN_CHUNK]
            values = ", ".join("(?, ?)" for _ in chunk)
            params = [n for k in chunk for n in (k.guild_id, k.room_id)]
            rows = await self._read(
                f"SELECT guild, room, json FROM runs WHERE (guild, room) IN (VALUES {values})",
                params,
            )
            for guild, room, text in rows:
                out[RoomKey(guild, room)] = run_from_json(text)
        return out

    async def delete_run(self, key: RoomKey) -> None:
        room = (key.guild_id, key.room_id)
        await self._write_many(
            [
                ("DELETE FROM runs WHERE guild = ? AND room = ?", room),
                ("DELETE FROM claims WHERE guild = ? AND room = ?", room),
                ("DELETE FROM dismissals WHERE guild = ? AND room = ?", room),
            ]
        )

    async def running_rooms(self) -> list[RoomKey]:
        rows = await self._read("SELECT guild, room FROM runs ORDER BY guild, room")
        return [RoomKey(g, r) for g, r in rows]

    # -- exactly-once --------------------------------------------------------------------

    async def claim(self, key: RoomKey, token: str) -> bool:
        inserted = await self._write(
            "INSERT OR IGNORE INTO claims (guild, room, token) VALUES (?, ?, ?)",
            (key.guild_id, key.room_id, token),
        )
        return inserted == 1

    async def claim_and_put_run(self, key: RoomKey, token: str, won: Run) -> bool:
        db = self._conn
        async with self._lock:
            await db.execute("BEGIN IMMEDIATE")
            try:
                cur = await db.execute(
                    "INSERT OR IGNORE INTO claims (guild, room, token) VALUES (?, ?, ?)",
                    (key.guild_id, key.room_id, token),
                )
                claimed = cur.rowcount == 1
                await cur.close()
                if claimed:
                    await db.execute(
                        "INSERT INTO runs (guild, room, json) VALUES (?, ?, ?) "
                        "ON CONFLICT (guild, room) DO UPDATE SET json = excluded.json",
                        (key.guild_id, key.room_id, run_to_json(won)),
                    )
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")
            return claimed

    # -- dismissals ----------------------------------------------------------------------

    async def add_dismissal(
        self, key: RoomKey, run_id: int, boundary: int, user_id: int, at_ms: int
    ) -> bool:
        inserted = await self._write(
            "INSERT OR IGNORE INTO dismissals (guild, room, run_id, boundary, user_id, at_ms) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key.guild_id, key.room_id, run_id, boundary, user_id, at_ms),
        )
        return inserted == 1

    async def get_dismissals(self, key: RoomKey, run_id: int) -> dict[tuple[int, int], int]:
        rows = await self._read(
            "SELECT boundary, user_id, at_ms FROM dismissals "
            "WHERE guild = ? AND room = ? AND run_id = ?",
            (key.guild_id, key.room_id, run_id),
        )
        return {(b, u): at for b, u, at in rows}

    # -- members present -----------------------------------------------------------------

    async def add_member(self, key: RoomKey, user_id: int, joined_ms: int) -> None:
        await self._write(
            "INSERT INTO members (guild, room, user_id, joined_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (guild, room, user_id) DO UPDATE SET joined_ms = excluded.joined_ms",
            (key.guild_id, key.room_id, user_id, joined_ms),
        )

    async def remove_member(self, key: RoomKey, user_id: int) -> None:
        await self._write(
            "DELETE FROM members WHERE guild = ? AND room = ? AND user_id = ?",
            (key.guild_id, key.room_id, user_id),
        )

    async def get_members(self, key: RoomKey) -> dict[int, int]:
        rows = await self._read(
            "SELECT user_id, joined_ms FROM members WHERE guild = ? AND room = ?",
            (key.guild_id, key.room_id),
        )
        return {u: ms for u, ms in rows}

    # -- the room's small live values (named in storage.session.slots) ----------------

    async def _put_slots(self, key: RoomKey, values: Mapping[str, int]) -> None:
        await self._write_many(
            [
                (
                    "INSERT INTO messages (guild, room, name, message_id) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (guild, room, name) DO UPDATE SET message_id = "
                    "excluded.message_id",
                    (key.guild_id, key.room_id, name, value),
                )
                for name, value in values.items()
            ]
        )

    async def _slot(self, key: RoomKey, name: str) -> int | None:
        rows = await self._read(
            "SELECT message_id FROM messages WHERE guild = ? AND room = ? AND name = ?",
            (key.guild_id, key.room_id, name),
        )
        return int(rows[0][0]) if rows else None

    async def _slots(self, key: RoomKey) -> dict[str, int]:
        rows = await self._read(
            "SELECT name, message_id FROM messages WHERE guild = ? AND room = ?",
            (key.guild_id, key.room_id),
        )
        return {name: int(value) for name, value in rows}

    async def drop_room(self, key: RoomKey) -> None:
        room = (key.guild_id, key.room_id)
        await self._write_many(
            [(f"DELETE FROM {table} WHERE guild = ? AND room = ?", room) for table in _LIVE_TABLES]
        )

    # -- which bot processes are alive ---------------------------------------------------

    async def beat(self, process: str, alive_until_ms: int) -> None:
        await self._write_many(
            [
                (
                    "DELETE FROM heartbeats WHERE alive_until < ?",
                    (alive_until_ms - HEARTBEAT_FORGOTTEN_MS,),
                ),
                (
                    "INSERT INTO heartbeats (process, alive_until) VALUES (?, ?) "
                    "ON CONFLICT (process) DO UPDATE SET alive_until = excluded.alive_until",
                    (process, alive_until_ms),
                ),
            ]
        )

    async def heartbeats(self) -> dict[str, int]:
        rows = await self._read("SELECT process, alive_until FROM heartbeats")
        return {str(process): int(until) for process, until in rows}

    async def end_heartbeat(self, process: str) -> None:
        await self._write("DELETE FROM heartbeats WHERE process = ?", (process,))

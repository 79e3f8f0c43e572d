"""The session store on Redis, shared by every bot process.

Every key of a room starts with ``{namespace}:room:{guild}:{room}:``:

- ``run``            string, the run as JSON
- ``claims``         hash, token -> "1" (HSETNX: the first claim wins)
- ``dis:{run_id}``   hash, "boundary:user" -> dismissed at, ms (HSETNX: the first wins)
- ``disruns``        set of the run ids that have a dismissal hash, so deleting needs no scan
- ``members``        hash, user id -> joined at, ms
- ``msgs``           hash, name -> integer: the values of storage.session.slots

``{namespace}:running`` is the set of "guild:room" with a stored run, read at start-up to
rebuild the schedule. ``{namespace}:identity`` is the identity of the database the live state
belongs to. Nothing here walks the keyspace, except ``bind`` when the store held another
database's state: once, at start-up, over this namespace's room keys only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, WatchError

from storage.session.base import Binding, BindOutcome, RoomKey, Run
from storage.session.codec import run_from_json, run_to_json
from storage.session.slots import RoomSlots
from storage.urls import redact_url

MGET_CHUNK = 1000
DELETE_CHUNK = 500
# what follows "{namespace}:room:" in a key of this store (and in no other namespace's)
_ROOM_KEY_TAIL = re.compile(r"\d+:\d+:(run|claims|disruns|members|msgs|dis:\d+)")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


MAX_CONNECTIONS = 32
SOCKET_CONNECT_TIMEOUT_S = 2.0
SOCKET_TIMEOUT_S = 2.5

# claim a token and store the run as it is after the claim, atomically (one round trip)
_CLAIM_AND_PUT = """
local won = redis.call('HSETNX', KEYS[1], ARGV[1], '1')
if won == 1 then redis.call('SET', KEYS[2], ARGV[2]) else redis.call('SET', KEYS[2], ARGV[3]) end
redis.call('SADD', KEYS[3], ARGV[4])
return won
"""


class SessionStoreUnavailable(ConnectionError):
    """The session store's server could not be reached."""


class RedisSessionStore(RoomSlots):
    """:class:`~storage.session.base.SessionStore` on Redis (redis.asyncio)."""

    def __init__(self, url: str, namespace: str = "studyon") -> None:
        if not namespace or any(c in namespace for c in "*?[]{} \t\n"):
            raise ValueError(f"bad session namespace {namespace!r}")
        self._url = url
        self._ns = namespace
        self._client: aioredis.Redis | None = None

    # -- keys ----------------------------------------------------------------------------

    @property
    def namespace(self) -> str:
        return self._ns

    @property
    def _running(self) -> str:
        return f"{self._ns}:running"

    @property
    def _identity(self) -> str:
        return f"{self._ns}:identity"

    def _room(self, key: RoomKey) -> str:
        return f"{self._ns}:room:{key.guild_id}:{key.room_id}"

    def _run_key(self, key: RoomKey) -> str:
        return f"{self._room(key)}:run"

    def _claims_key(self, key: RoomKey) -> str:
        return f"{self._room(key)}:claims"

    def _dis_key(self, key: RoomKey, run_id: int) -> str:
        return f"{self._room(key)}:dis:{run_id}"

    def _disruns_key(self, key: RoomKey) -> str:
        return f"{self._room(key)}:disruns"

    def _members_key(self, key: RoomKey) -> str:
        return f"{self._room(key)}:members"

    def _msgs_key(self, key: RoomKey) -> str:
        return f"{self._room(key)}:msgs"

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        if self._client is not None:
            return
        # a blocking pool: a burst of wake-ups (every alarm missed while the bot was down)
        # waits for a free connection instead of failing with "too many connections"
        pool = aioredis.BlockingConnectionPool.from_url(
            self._url,
            decode_responses=True,
            # a server that is gone fails a command within Discord's 3-second window
            socket_connect_timeout=SOCKET_CONNECT_TIMEOUT_S,
            socket_timeout=SOCKET_TIMEOUT_S,
            max_connections=MAX_CONNECTIONS,
            timeout=30,
        )
        client: aioredis.Redis = aioredis.Redis.from_pool(pool)  # closes the pool with it
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            await client.aclose()
            raise SessionStoreUnavailable(
                f"cannot reach the session store at {redact_url(self._url)}: {exc}"
            ) from None
        self._client = client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def bind(self, identity: str) -> BindOutcome:
        """Optimistic and atomic: the identity and the index of running rooms are watched,
        so the check, the clearing and the new identity commit together or are retried (two
        processes starting at once: one clears, the other then finds its own identity)."""
        prefix = f"{self._ns}:room:"
        pattern = prefix.replace("\\", "\\\\") + "*"
        async with self._r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self._identity, self._running)
                    held: bytes | str | None = await pipe.get(self._identity)
                    if held is not None and _text(held) == identity:
                        return BindOutcome(Binding.SAME)  # leaving the pipeline unwatches
                    if held is None:
                        pipe.multi()  # type: ignore[no-untyped-call]
                        pipe.set(self._identity, identity)
                        await pipe.execute()
                        return BindOutcome(Binding.ADOPTED)
                    dropped: int = await pipe.scard(self._running)
                    doomed = [
                        k
                        async for k in pipe.scan_iter(match=pattern, count=1000)
                        if _ROOM_KEY_TAIL.fullmatch(_text(k).removeprefix(prefix))
                    ]
                    pipe.multi()  # type: ignore[no-untyped-call]
                    for i in range(0, len(doomed), DELETE_CHUNK):
                        pipe.delete(*doomed[i : i + DELETE_CHUNK])
                    pipe.delete(self._running)
                    pipe.set(self._identity, identity)
                    await pipe.execute()
                    return BindOutcome(Binding.REPLACED, dropped)
                except WatchError:
                    continue

    @property
    def _r(self) -> aioredis.Redis:
        if self._client is None:
            raise RuntimeError("the session store is not open")
        return self._client

    # -- the running timer ---------------------------------------------------------------

    async def put_run(self, key: RoomKey, run: Run) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.set(self._run_key(key), run_to_json(run))
            pipe.sadd(self._running, str(key))
            await pipe.execute()

    async def get_run(self, key: RoomKey) -> Run | None:
        raw: bytes | str | None = await self._r.get(self._run_key(key))
        return None if raw is None else run_from_json(raw)

    async def get_runs(self, keys: Iterable[RoomKey]) -> dict[RoomKey, Run]:
        wanted = list(dict.fromkeys(keys))
        out: dict[RoomKey, Run] = {}
        for i in range(0, len(wanted), MGET_CHUNK):
            chunk = wanted[i : i + MGET_CHUNK]
            values: list[bytes | str | None] = await self._r.mget([self._run_key(k) for k in chunk])
            for k, raw in zip(chunk, values, strict=True):
                if raw is not None:
                    out[k] = run_from_json(raw)
        return out

    async def delete_run(self, key: RoomKey) -> None:
        await self._forget(key, whole_room=False)

    async def running_rooms(self) -> list[RoomKey]:
        members: set[bytes | str] = await self._r.smembers(self._running)
        return sorted(RoomKey.parse(_text(m)) for m in members)

    # -- exactly-once --------------------------------------------------------------------

    async def claim(self, key: RoomKey, token: str) -> bool:
        added: int = await self._r.hsetnx(self._claims_key(key), token, "1")
        return bool(added)

    async def claim_and_put_run(self, key: RoomKey, token: str, won: Run, lost: Run) -> bool:
        keys = [self._claims_key(key), self._run_key(key), self._running]
        args = [token, run_to_json(won), run_to_json(lost), str(key)]
        script = self._r.register_script(_CLAIM_AND_PUT)  # EVALSHA, loading it when missing
        claimed: int = await script(keys=keys, args=args)
        return bool(claimed)

    # -- dismissals ----------------------------------------------------------------------

    async def add_dismissal(
        self, key: RoomKey, run_id: int, boundary: int, user_id: int, at_ms: int
    ) -> bool:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.sadd(self._disruns_key(key), str(run_id))
            pipe.hsetnx(self._dis_key(key, run_id), f"{boundary}:{user_id}", str(at_ms))
            results: list[Any] = await pipe.execute()
        return bool(results[1])

    async def get_dismissals(self, key: RoomKey, run_id: int) -> dict[tuple[int, int], int]:
        raw: dict[bytes | str, bytes | str] = await self._r.hgetall(self._dis_key(key, run_id))
        out: dict[tuple[int, int], int] = {}
        for field_, value in raw.items():
            boundary, user = _text(field_).split(":")
            out[(int(boundary), int(user))] = int(value)
        return out

    # -- members present -----------------------------------------------------------------

    async def add_member(self, key: RoomKey, user_id: int, joined_ms: int) -> None:
        await self._r.hset(self._members_key(key), str(user_id), str(joined_ms))

    async def remove_member(self, key: RoomKey, user_id: int) -> None:
        await self._r.hdel(self._members_key(key), str(user_id))

    async def get_members(self, key: RoomKey) -> dict[int, int]:
        raw: dict[bytes | str, bytes | str] = await self._r.hgetall(self._members_key(key))
        return {int(u): int(ms) for u, ms in raw.items()}

    # -- the room's small live values (named in storage.session.slots) ----------------

    async def _put_slots(self, key: RoomKey, values: Mapping[str, int]) -> None:
        await self._r.hset(
            self._msgs_key(key), mapping={name: str(value) for name, value in values.items()}
        )

    async def _slot(self, key: RoomKey, name: str) -> int | None:
        raw: bytes | str | None = await self._r.hget(self._msgs_key(key), name)
        return None if raw is None else int(raw)

    async def _slots(self, key: RoomKey) -> dict[str, int]:
        raw: dict[bytes | str, bytes | str] = await self._r.hgetall(self._msgs_key(key))
        return {_text(name): int(value) for name, value in raw.items()}

    async def drop_room(self, key: RoomKey) -> None:
        await self._forget(key, whole_room=True)

    # -- internals -----------------------------------------------------------------------

    async def _forget(self, key: RoomKey, *, whole_room: bool) -> None:
        """Delete the run, its claims, every dismissal hash and the index entry (and, for the
        whole room, members and messages) in one transaction. The set of run ids with
        dismissals is watched, so a dismissal added meanwhile makes the transaction retry
        rather than leave a hash behind."""
        disruns = self._disruns_key(key)
        async with self._r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(disruns)
                    run_ids: set[bytes | str] = await pipe.smembers(disruns)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    doomed = [
                        self._run_key(key),
                        self._claims_key(key),
                        disruns,
                        *(self._dis_key(key, int(r)) for r in run_ids),
                    ]
                    if whole_room:
                        doomed += [self._members_key(key), self._msgs_key(key)]
                    pipe.delete(*doomed)
                    pipe.srem(self._running, str(key))
                    await pipe.execute()
                    return
                except WatchError:
                    continue

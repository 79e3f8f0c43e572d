"""The session store on Redis, shared by every bot process: one server, or a Redis Cluster.

On one server, every key of a room starts with ``{namespace}:room:{guild}:{room}:``:

- ``run``            string, the run as JSON
- ``claims``         hash, token -> "1" (HSETNX: the first claim wins)
- ``dis:{run_id}``   hash, "boundary:user" -> dismissed at, ms (HSETNX: the first wins)
- ``disruns``        set of the run ids that have a dismissal hash, so deleting needs no scan
- ``members``        hash, user id -> joined at, ms
- ``msgs``           hash, name -> integer: the values of storage.session.slots

``{namespace}:running`` is the set of "guild:room" with a stored run, read at start-up to
rebuild the schedule. ``{namespace}:heartbeats`` is a hash, process -> alive until (ms): one
key, so on a cluster every beat is in one hash slot and one HGETALL reads them all.
``{namespace}:identity`` is the identity of the database the live state belongs to. Nothing
here walks the keyspace, except ``bind`` when the store held another database's state: once,
at start-up, over this namespace's room keys only.

On a Redis Cluster (a ``redis+cluster://`` URL) a transaction, a WATCH or a script may touch
the keys of one hash slot only, and each write of a room touches the room's keys and the index
of running rooms together. So the rooms are spread over ``PARTS`` parts, each with its own
index, and every key of a part carries the part's hash tag: the keys of a room become
``{namespace}:e{epoch}:{pNNN}:room:{guild}:{room}:...`` beside ``{namespace}:e{epoch}:{pNNN}:
running``, and each write is as atomic as on one server. ``running_rooms`` reads the
``PARTS`` indexes, one pipeline per node. ``{namespace}:binding`` (a hash: identity, epoch)
says which database the state belongs to. Clearing another database's state cannot be one
transaction across slots, so ``bind`` moves to a new epoch instead, in one write of the
binding: the old epoch's keys are never read again, and are deleted afterwards (a process
killed while deleting leaves keys the next clearing deletes). The cluster layout is new with
cluster support, so there was no earlier cluster state to read; the single-server layout
is unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import re
import zlib
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import RedisClusterException, RedisError, WatchError

from storage.redis_client import AnyRedis, connect, discover_nodes, parse_redis_url
from storage.session.base import HEARTBEAT_FORGOTTEN_MS, Binding, BindOutcome, RoomKey, Run
from storage.session.codec import run_from_json, run_to_json
from storage.session.slots import RoomSlots
from storage.urls import redact_url

MGET_CHUNK = 1000
DELETE_CHUNK = 500
# what follows "{namespace}:room:" in a key of this store (and in no other namespace's)
_ROOM_KEY_TAIL = re.compile(r"\d+:\d+:(run|claims|disruns|members|msgs|dis:\d+)")
# on a cluster: what follows "{namespace}:e" in a key of this store, with the key's epoch
_CLUSTER_KEY_TAIL = re.compile(
    r"(\d+):\{p\d{3}\}:(running|room:\d+:\d+:(run|claims|disruns|members|msgs|dis:\d+))"
)
# the parts a cluster's rooms are spread over: each is one hash slot, so enough for the
# slots to spread evenly over the nodes, few enough that start-up reads every index at once
PARTS = 256


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


MAX_CONNECTIONS = 32
SOCKET_CONNECT_TIMEOUT_S = 2.0
SOCKET_TIMEOUT_S = 2.5

_S = TypeVar("_S", bound="RedisSessionStore")
_P = ParamSpec("_P")
_T = TypeVar("_T")


def _queued(
    method: Callable[Concatenate[_S, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[_S, _P], Coroutine[Any, Any, _T]]:
    """At most ``MAX_CONNECTIONS`` calls at once: a burst of wake-ups (every alarm missed
    while the bot was down) queues here for a connection. A cluster client fails past its
    limit of connections per node instead of waiting, and each call uses at most one
    connection per node at a time."""

    @functools.wraps(method)
    async def queued(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        async with self._calls:
            if self._client is not None:
                await discover_nodes(self._client, self._discovering)
            return await method(self, *args, **kwargs)

    return queued


def _part(key: RoomKey) -> str:
    """The hash tag of the room's part, on a cluster. It names stored keys: never change it."""
    room = f"{key.guild_id}:{key.room_id}".encode()
    return f"{{p{zlib.crc32(room) % PARTS:03d}}}"


# Every write that touches several keys is one script: atomic, one round trip, and on a
# cluster sent to the node of its keys' slot (each script's keys are of one room, which
# shares its slot with its index). KEYS hold every key a script touches, as a cluster needs.

# store the run and list the room as running
_PUT_RUN = """
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
"""

# store the run if the stored one is still the one read
_REPLACE_RUN = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""

# claim a token and, if this call claimed it, store the run as it is after the claim
_CLAIM_AND_PUT = """
local won = redis.call('HSETNX', KEYS[1], ARGV[1], '1')
if won == 1 then
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('SADD', KEYS[3], ARGV[3])
end
return won
"""

# record a dismissal (the first one wins) and the run id that has dismissals
_ADD_DISMISSAL = """
redis.call('SADD', KEYS[1], ARGV[1])
return redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3])
"""

# delete the room's keys KEYS[2..] and unlist it from KEYS[1], if the run ids with dismissals
# (the set KEYS[2]) are still those the caller read, ARGV[2..], whose hashes are among the
# keys; 0 when a dismissal came meanwhile (read again and retry)
_FORGET = """
if redis.call('SCARD', KEYS[2]) ~= #ARGV - 1 then return 0 end
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 then return 0 end
end
redis.call('DEL', unpack(KEYS, 2))
redis.call('SREM', KEYS[1], ARGV[1])
return 1
"""

# on a cluster, bind to ARGV[1]: {outcome, epoch}. Moving to a new epoch needs the rooms of
# the epoch held counted first: "count" asks for that when ARGV[2] is not the epoch held.
_BIND_CLUSTER = """
local held = redis.call('HGET', KEYS[1], 'identity')
local epoch = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0')
if held == ARGV[1] then return {'same', epoch} end
if not held then
  redis.call('HSET', KEYS[1], 'identity', ARGV[1], 'epoch', epoch)
  return {'adopted', epoch}
end
if epoch ~= tonumber(ARGV[2]) then return {'count', epoch} end
redis.call('HSET', KEYS[1], 'identity', ARGV[1], 'epoch', epoch + 1)
return {'replaced', epoch + 1}
"""


# a process's beat, and every beat that ran out more than ARGV[3] ms before it forgotten
_BEAT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local floor = tonumber(ARGV[2]) - tonumber(ARGV[3])
local beats = redis.call('HGETALL', KEYS[1])
for i = 1, #beats, 2 do
  if tonumber(beats[i + 1]) < floor then redis.call('HDEL', KEYS[1], beats[i]) end
end
"""


@dataclass(frozen=True, slots=True)
class _Scripts:
    put_run: AsyncScript
    replace_run: AsyncScript
    claim_and_put: AsyncScript
    add_dismissal: AsyncScript
    forget: AsyncScript
    bind_cluster: AsyncScript
    beat: AsyncScript

    @classmethod
    def of(cls, client: AnyRedis) -> _Scripts:
        """EVALSHA each, loading the script when a server does not have it."""
        return cls(
            client.register_script(_PUT_RUN),
            client.register_script(_REPLACE_RUN),
            client.register_script(_CLAIM_AND_PUT),
            client.register_script(_ADD_DISMISSAL),
            client.register_script(_FORGET),
            client.register_script(_BIND_CLUSTER),
            client.register_script(_BEAT),
        )


class SessionStoreUnavailable(ConnectionError):
    """The session store's server could not be reached."""


class RedisSessionStore(RoomSlots):
    """:class:`~storage.session.base.SessionStore` on Redis (redis.asyncio), one server or a
    cluster, as the URL says (``storage.redis_client``)."""

    def __init__(self, url: str, namespace: str = "studyon") -> None:
        if not namespace or any(c in namespace for c in "*?[]{} \t\n"):
            raise ValueError(f"bad session namespace {namespace!r}")
        self._url = url
        self._target = parse_redis_url(url)
        self._ns = namespace
        self._client: AnyRedis | None = None
        self._scripts: _Scripts | None = None
        self._calls = asyncio.Semaphore(MAX_CONNECTIONS)
        self._discovering = asyncio.Lock()
        self._epoch = 0  # on a cluster: the epoch of the bound database's keys

    # -- keys ----------------------------------------------------------------------------

    @property
    def namespace(self) -> str:
        return self._ns

    @property
    def on_cluster(self) -> bool:
        return self._target.cluster

    @property
    def _running(self) -> str:
        return f"{self._ns}:running"

    @property
    def _identity(self) -> str:
        return f"{self._ns}:identity"

    @property
    def _binding(self) -> str:
        return f"{self._ns}:binding"

    @property
    def _heartbeats(self) -> str:
        return f"{self._ns}:heartbeats"

    def _room(self, key: RoomKey) -> str:
        if self.on_cluster:
            return f"{self._ns}:e{self._epoch}:{_part(key)}:room:{key.guild_id}:{key.room_id}"
        return f"{self._ns}:room:{key.guild_id}:{key.room_id}"

    def _index(self, key: RoomKey) -> str:
        """The index of running rooms that lists ``key`` (in the room's slot, on a cluster)."""
        if self.on_cluster:
            return f"{self._ns}:e{self._epoch}:{_part(key)}:running"
        return self._running

    def _indexes(self, epoch: int) -> list[str]:
        if not self.on_cluster:
            return [self._running]
        return [f"{self._ns}:e{epoch}:{{p{i:03d}}}:running" for i in range(PARTS)]

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
        options: dict[str, Any] = {
            "decode_responses": True,
            # a server that is gone fails a command within Discord's 3-second window
            "socket_connect_timeout": SOCKET_CONNECT_TIMEOUT_S,
            "socket_timeout": SOCKET_TIMEOUT_S,
            "max_connections": MAX_CONNECTIONS,
        }
        client: AnyRedis
        if self.on_cluster:
            client = connect(self._target, **options)
        else:
            # a blocking pool: a burst of wake-ups (every alarm missed while the bot was
            # down) waits for a free connection instead of failing with "too many connections"
            pool = aioredis.BlockingConnectionPool.from_url(self._url, timeout=30, **options)
            client = aioredis.Redis.from_pool(pool)  # closes the pool with it
        try:
            await client.ping()
            if isinstance(client, RedisCluster):
                held: bytes | str | None = await client.hget(self._binding, "epoch")
                self._epoch = int(held or 0)
        except (RedisError, RedisClusterException, OSError) as exc:
            await client.aclose()
            raise SessionStoreUnavailable(
                f"cannot reach the session store at {redact_url(self._url)}: {exc}"
            ) from None
        self._client = client
        self._scripts = _Scripts.of(client)

    async def close(self) -> None:
        client, self._client, self._scripts = self._client, None, None
        if client is not None:
            await client.aclose()

    @_queued
    async def bind(self, identity: str) -> BindOutcome:
        if isinstance(self._r, RedisCluster):
            return await self._bind_cluster(self._r, identity)
        return await self._bind_single(self._r, identity)

    async def _bind_single(self, client: aioredis.Redis, identity: str) -> BindOutcome:
        """Optimistic and atomic: the identity and the index of running rooms are watched,
        so the check, the clearing and the new identity commit together or are retried (two
        processes starting at once: one clears, the other then finds its own identity)."""
        prefix = f"{self._ns}:room:"
        pattern = prefix.replace("\\", "\\\\") + "*"
        async with client.pipeline(transaction=True) as pipe:
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

    async def _bind_cluster(self, client: RedisCluster, identity: str) -> BindOutcome:
        """The binding is one key, checked and moved by one script: of processes starting at
        once, one moves to a new epoch and counts what it dropped, and the others find their
        own identity. The old epoch's keys are deleted after the move; nothing reads them."""
        counted_epoch, dropped = -1, 0
        while True:
            reply = await self._run_script.bind_cluster(
                keys=[self._binding], args=[identity, counted_epoch]
            )
            outcome, epoch = _text(reply[0]), int(reply[1])
            if outcome != "count":
                break
            counted_epoch, dropped = epoch, await self._count_running(client, epoch)
        self._epoch = epoch
        if outcome == "same":
            return BindOutcome(Binding.SAME)
        if outcome == "adopted":
            return BindOutcome(Binding.ADOPTED)
        await self._delete_other_epochs(client)
        return BindOutcome(Binding.REPLACED, dropped)

    async def _count_running(self, client: RedisCluster, epoch: int) -> int:
        async with client.pipeline() as pipe:
            for index in self._indexes(epoch):
                pipe.scard(index)
            counts: list[int] = await pipe.execute()
        return sum(counts)

    async def _delete_other_epochs(self, client: RedisCluster) -> None:
        """Every key of this store's namespace of an epoch other than the current one, on
        every primary node."""
        prefix = f"{self._ns}:e"
        pattern = prefix.replace("\\", "\\\\") + "*"
        doomed: list[str] = []
        async for k in client.scan_iter(match=pattern, count=1000):
            tail = _CLUSTER_KEY_TAIL.fullmatch(_text(k).removeprefix(prefix))
            if tail is not None and int(tail[1]) != self._epoch:
                doomed.append(_text(k))
        for i in range(0, len(doomed), DELETE_CHUNK):
            await client.delete(*doomed[i : i + DELETE_CHUNK])  # one DEL per slot

    @property
    def _r(self) -> AnyRedis:
        if self._client is None:
            raise RuntimeError("the session store is not open")
        return self._client

    @property
    def _run_script(self) -> _Scripts:
        if self._scripts is None:
            raise RuntimeError("the session store is not open")
        return self._scripts

    # -- the running timer ---------------------------------------------------------------

    @_queued
    async def put_run(self, key: RoomKey, run: Run) -> None:
        keys = [self._run_key(key), self._index(key)]
        await self._run_script.put_run(keys=keys, args=[run_to_json(run), str(key)])

    @_queued
    async def replace_run(self, key: RoomKey, expected: Run, run: Run) -> bool:
        name, new = self._run_key(key), run_to_json(run)
        script = self._run_script.replace_run
        if await script(keys=[name], args=[run_to_json(expected), new]):
            return True
        # stored in an older format, it reads as ``expected`` but is not written as it:
        # the set is made over the very value read, so a change meanwhile still wins
        raw: bytes | str | None = await self._r.get(name)
        if raw is None or run_from_json(raw) != expected:
            return False
        return bool(await script(keys=[name], args=[raw, new]))

    @_queued
    async def get_run(self, key: RoomKey) -> Run | None:
        raw: bytes | str | None = await self._r.get(self._run_key(key))
        return None if raw is None else run_from_json(raw)

    @_queued
    async def get_runs(self, keys: Iterable[RoomKey]) -> dict[RoomKey, Run]:
        wanted = list(dict.fromkeys(keys))
        out: dict[RoomKey, Run] = {}
        client = self._r
        for i in range(0, len(wanted), MGET_CHUNK):
            chunk = wanted[i : i + MGET_CHUNK]
            names = [self._run_key(k) for k in chunk]
            values: list[bytes | str | None]
            if isinstance(client, RedisCluster):
                values = await client.mget_nonatomic(names)  # one MGET per slot, pipelined
            else:
                values = await client.mget(names)
            for k, raw in zip(chunk, values, strict=True):
                if raw is not None:
                    out[k] = run_from_json(raw)
        return out

    async def delete_run(self, key: RoomKey) -> None:
        await self._forget(key, whole_room=False)

    @_queued
    async def running_rooms(self) -> list[RoomKey]:
        client = self._r
        if isinstance(client, RedisCluster):
            async with client.pipeline() as pipe:  # one round trip per node
                for index in self._indexes(self._epoch):
                    pipe.smembers(index)
                parts: list[set[str]] = await pipe.execute()
            members: set[bytes | str] = set().union(*parts)
        else:
            members = await client.smembers(self._running)
        return sorted(RoomKey.parse(_text(m)) for m in members)

    # -- exactly-once --------------------------------------------------------------------

    @_queued
    async def claim(self, key: RoomKey, token: str) -> bool:
        added: int = await self._r.hsetnx(self._claims_key(key), token, "1")
        return bool(added)

    @_queued
    async def claim_and_put_run(self, key: RoomKey, token: str, won: Run) -> bool:
        keys = [self._claims_key(key), self._run_key(key), self._index(key)]
        args = [token, run_to_json(won), str(key)]
        claimed: int = await self._run_script.claim_and_put(keys=keys, args=args)
        return bool(claimed)

    # -- dismissals ----------------------------------------------------------------------

    @_queued
    async def add_dismissal(
        self, key: RoomKey, run_id: int, boundary: int, user_id: int, at_ms: int
    ) -> bool:
        keys = [self._disruns_key(key), self._dis_key(key, run_id)]
        args = [str(run_id), f"{boundary}:{user_id}", str(at_ms)]
        added: int = await self._run_script.add_dismissal(keys=keys, args=args)
        return bool(added)

    @_queued
    async def get_dismissals(self, key: RoomKey, run_id: int) -> dict[tuple[int, int], int]:
        raw: dict[bytes | str, bytes | str] = await self._r.hgetall(self._dis_key(key, run_id))
        out: dict[tuple[int, int], int] = {}
        for field_, value in raw.items():
            boundary, user = _text(field_).split(":")
            out[(int(boundary), int(user))] = int(value)
        return out

    # -- members present -----------------------------------------------------------------

    @_queued
    async def add_member(self, key: RoomKey, user_id: int, joined_ms: int) -> None:
        await self._r.hset(self._members_key(key), str(user_id), str(joined_ms))

    @_queued
    async def remove_member(self, key: RoomKey, user_id: int) -> None:
        await self._r.hdel(self._members_key(key), str(user_id))

    @_queued
    async def get_members(self, key: RoomKey) -> dict[int, int]:
        raw: dict[bytes | str, bytes | str] = await self._r.hgetall(self._members_key(key))
        return {int(u): int(ms) for u, ms in raw.items()}

    # -- the room's small live values (named in storage.session.slots) ----------------

    @_queued
    async def _put_slots(self, key: RoomKey, values: Mapping[str, int]) -> None:
        await self._r.hset(
            self._msgs_key(key), mapping={name: str(value) for name, value in values.items()}
        )

    @_queued
    async def _slot(self, key: RoomKey, name: str) -> int | None:
        raw: bytes | str | None = await self._r.hget(self._msgs_key(key), name)
        return None if raw is None else int(raw)

    @_queued
    async def _slots(self, key: RoomKey) -> dict[str, int]:
        raw: dict[bytes | str, bytes | str] = await self._r.hgetall(self._msgs_key(key))
        return {_text(name): int(value) for name, value in raw.items()}

    async def drop_room(self, key: RoomKey) -> None:
        await self._forget(key, whole_room=True)

    # -- which bot processes are alive ---------------------------------------------------

    @_queued
    async def beat(self, process: str, alive_until_ms: int) -> None:
        args = [process, str(alive_until_ms), str(HEARTBEAT_FORGOTTEN_MS)]
        await self._run_script.beat(keys=[self._heartbeats], args=args)

    @_queued
    async def heartbeats(self) -> dict[str, int]:
        raw: dict[bytes | str, bytes | str] = await self._r.hgetall(self._heartbeats)
        return {_text(process): int(until) for process, until in raw.items()}

    @_queued
    async def end_heartbeat(self, process: str) -> None:
        await self._r.hdel(self._heartbeats, process)

    # -- internals -----------------------------------------------------------------------

    @_queued
    async def _forget(self, key: RoomKey, *, whole_room: bool) -> None:
        """Delete the run, its claims, every dismissal hash and the index entry (and, for the
        whole room, members and messages) in one script. The script checks the run ids with
        dismissals are still those read before it, so a dismissal added meanwhile makes it
        retry rather than leave a hash behind."""
        disruns = self._disruns_key(key)
        while True:
            run_ids = sorted(_text(r) for r in await self._r.smembers(disruns))
            keys = [
                self._index(key),
                disruns,
                self._run_key(key),
                self._claims_key(key),
                *(self._dis_key(key, int(r)) for r in run_ids),
            ]
            if whole_room:
                keys += [self._members_key(key), self._msgs_key(key)]
            if await self._run_script.forget(keys=keys, args=[str(key), *run_ids]):
                return

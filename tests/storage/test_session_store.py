"""One contract suite for every session store: Redis (a real server, and a local three-node
Redis Cluster the suite starts), the embedded file, and the in-memory store the service tests
use (``tests.support.memory_store``)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from bot.domain.run import Owed
from bot.domain.timer import EventKind, Pattern, Timer, TimerEvent
from storage.redis_client import AnyRedis, connect
from storage.session import (
    HEARTBEAT_FORGOTTEN_MS,
    AlarmRef,
    Binding,
    BindOutcome,
    EmbeddedSessionStore,
    RedisSessionStore,
    RoomKey,
    Run,
    SessionStore,
    SessionStoreUnavailable,
    create_session_store,
)
from storage.urls import redact_url
from tests.support.cluster import LocalCluster
from tests.support.memory_store import MemoryData, MemorySessionStore

REDIS_URL = "redis://127.0.0.1:6379/0"
START = 1_700_000_000_000
MIN = 60_000

A = RoomKey(111, 1)
B = RoomKey(111, 2)  # same guild, another room
C = RoomKey(222, 1)  # another guild, same room id


# -- fixtures ---------------------------------------------------------------------------------


@dataclass
class Backend:
    name: str
    make: Callable[[], SessionStore]  # a new, unopened store over the same data


async def _redis_or_skip() -> aioredis.Redis:
    client: aioredis.Redis = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        reason = f"Redis is not reachable at {REDIS_URL} ({exc})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so Redis tests must run")
        pytest.skip(f"{reason}; start redis-server to run the Redis session-store tests")
    return client


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _delete_namespace(client: AnyRedis, namespace: str) -> None:
    doomed = [k async for k in client.scan_iter(match=f"{namespace}:*", count=1000)]
    for i in range(0, len(doomed), 500):
        await client.delete(*doomed[i : i + 500])  # on a cluster, one DEL per slot


@pytest.fixture(
    params=[
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis_cluster", marks=pytest.mark.redis_cluster),
        pytest.param("embedded"),
        pytest.param("memory"),
    ]
)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param in ("redis", "redis_cluster"):
        client: AnyRedis
        if request.param == "redis":
            url, client = REDIS_URL, await _redis_or_skip()
        else:
            url = request.getfixturevalue("redis_cluster").url
            client = connect(url)
        namespace = f"studyon-test-{uuid.uuid4().hex}"
        try:
            yield Backend(request.param, lambda: RedisSessionStore(url, namespace))
        finally:
            await _delete_namespace(client, namespace)
            await client.aclose()
    elif request.param == "embedded":
        path = tmp_path / "session" / "live.sqlite3"
        yield Backend("embedded", lambda: EmbeddedSessionStore(path))
    else:
        data = MemoryData()
        yield Backend("memory", lambda: MemorySessionStore(data))


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[SessionStore]:
    s = backend.make()
    await s.open()
    try:
        yield s
    finally:
        await s.close()


def sample_state(
    run_id: int = 7,
    *,
    fired_through: int = 0,
    finished: bool = False,
    vote_until_ms: int | None = None,
) -> Run:
    """A run whose timer went through a pause, a resume and a skip."""
    timer = (
        Timer(Pattern.from_minutes(25, 5, 4), START)
        .pause(START + 3 * MIN)
        .resume(START + 5 * MIN)
        .skip(START + 10 * MIN)
    )
    return Run(run_id, timer, fired_through, finished, vote_until_ms)


# -- the running timer ------------------------------------------------------------------------


async def test_run_round_trip_keeps_the_timer_and_its_events(store: SessionStore) -> None:
    state = (
        sample_state(fired_through=1)
        .claim_alarm(2, "p1", START + 11 * MIN)
        .alarm_delivered(1, START + 10 * MIN + 300)
    )
    assert await store.get_run(A) is None

    await store.put_run(A, state)
    got = await store.get_run(A)

    assert got == state
    assert got is not None
    assert [e.kind for e in got.timer.events] == [
        EventKind.PAUSE,
        EventKind.RESUME,
        EventKind.SKIP,
    ]
    assert got.timer.boundaries() == state.timer.boundaries()
    assert got.timer.state_at(START + 12 * MIN) == state.timer.state_at(START + 12 * MIN)
    assert got.owed_alarms == {2: Owed(1, "p1", START + 11 * MIN)}
    assert got.reached == {1: START + 10 * MIN + 300}


async def test_put_run_replaces_the_stored_run(store: SessionStore) -> None:
    first = sample_state(run_id=1)
    await store.put_run(A, first)
    paused = first.timer.pause(START + 11 * MIN)
    second = Run(2, paused, fired_through=1, finished=True, vote_until_ms=START + 20 * MIN)

    await store.put_run(A, second)

    assert await store.get_run(A) == second
    assert (await store.get_run(A)) != first
    assert await store.running_rooms() == [A]


async def test_replace_run_stores_only_over_the_run_that_was_read(store: SessionStore) -> None:
    """Compare-and-set: a process counting an attempt at what a run owes as made never
    overwrites the progress another process made since it read the run."""
    read = sample_state(fired_through=1).claim_alarm(2, "p1", START + 11 * MIN)
    await store.put_run(A, read)
    adopted = read.attempt_taken(2, START + 12 * MIN)
    assert await store.replace_run(A, read, adopted)
    assert await store.get_run(A) == adopted
    delivered = adopted.alarm_delivered(2, START + 11 * MIN + 200)
    await store.put_run(A, delivered)  # another process delivered it meanwhile
    assert not await store.replace_run(A, read, read.attempt_taken(2, START + 13 * MIN))
    assert await store.get_run(A) == delivered
    assert not await store.replace_run(B, read, adopted)  # no run stored: nothing replaced
    assert await store.get_run(B) is None


async def plant_run_text(store: SessionStore, key: RoomKey, text: str) -> None:
    """Store ``text`` as the room's run as it lies in the store (as an earlier version wrote
    it), behind the store's back."""
    if isinstance(store, RedisSessionStore):
        await store._r.set(store._run_key(key), text)
    elif isinstance(store, EmbeddedSessionStore):
        await store._write(
            "INSERT INTO runs (guild, room, json) VALUES (?, ?, ?) "
            "ON CONFLICT (guild, room) DO UPDATE SET json = excluded.json",
            (key.guild_id, key.room_id, text),
        )
    else:
        assert isinstance(store, MemorySessionStore)
        store._data.runs[key] = text


EARLIER_FORMAT = json.dumps(
    {
        "run_id": 7,
        "pattern": [25 * MIN, 5 * MIN, 4],
        "started_at_ms": START,
        "events": [],
        "fired_through": 2,
        "finished": False,
        "extra": {"owed": {"b:2": {"n": 1, "by": "p1", "at": START + 25 * MIN}}},
    }
)


async def test_replace_run_takes_a_run_stored_in_an_earlier_format_as_the_one_read(
    store: SessionStore,
) -> None:
    """A run an earlier version stored reads as ``read`` but is not written as it: it is
    replaced all the same, and still never over a change another process made."""
    await plant_run_text(store, A, EARLIER_FORMAT)
    read = await store.get_run(A)
    assert read is not None and read.owed_alarms == {2: Owed(1, "p1", START + 25 * MIN)}
    adopted = read.attempt_taken(2, START + 26 * MIN)
    assert await store.replace_run(A, read, adopted)
    assert await store.get_run(A) == adopted
    await plant_run_text(store, A, EARLIER_FORMAT)
    delivered = read.alarm_delivered(2, START + 25 * MIN + 200)
    await store.put_run(A, delivered)  # another process delivered it meanwhile
    assert not await store.replace_run(A, read, adopted)
    assert await store.get_run(A) == delivered


async def test_get_runs_returns_stored_rooms_and_leaves_out_missing(store: SessionStore) -> None:
    await store.put_run(A, sample_state(1))
    await store.put_run(C, sample_state(3))

    got = await store.get_runs([A, B, C, RoomKey(999, 9), A])

    assert got == {A: sample_state(1), C: sample_state(3)}
    assert await store.get_runs([]) == {}


async def test_get_runs_over_many_rooms_crosses_batch_limits(store: SessionStore) -> None:
    keys = [RoomKey(5, i) for i in range(1, 1206)]
    timer = Timer(Pattern.from_minutes(50, 10, 2), START)
    for k in keys:
        await store.put_run(k, Run(k.room_id, timer))

    got = await store.get_runs([*keys, RoomKey(5, 5000)])

    assert set(got) == set(keys)
    assert all(got[k].run_id == k.room_id for k in keys)
    assert sorted(await store.running_rooms()) == keys


async def test_running_rooms_lists_exactly_the_stored_rooms(store: SessionStore) -> None:
    assert await store.running_rooms() == []
    await store.put_run(C, sample_state())
    await store.put_run(A, sample_state())
    await store.put_run(A, sample_state(8))  # replacing does not list twice
    await store.add_member(B, 5, START)  # a room without a run is not running

    assert sorted(await store.running_rooms()) == [A, C]


async def test_delete_run_unlists_and_drops_claims_and_dismissals(store: SessionStore) -> None:
    await store.put_run(A, sample_state(7))
    await store.put_run(B, sample_state(9))
    assert await store.claim(A, "boundary:1")
    assert await store.claim(B, "boundary:1")
    assert await store.add_dismissal(A, 7, 1, 100, START + 1)
    assert await store.add_dismissal(A, 6, 1, 100, START + 2)  # an earlier run's
    await store.add_member(A, 100, START)
    await store.put_card_digest(A, 555)
    await store.put_alarm_message(A, 7, 1, 9001)

    await store.delete_run(A)

    assert await store.get_run(A) is None
    assert await store.running_rooms() == [B]
    assert await store.get_dismissals(A, 7) == {}
    assert await store.get_dismissals(A, 6) == {}
    assert await store.claim(A, "boundary:1")  # claimable again for the next run
    # the room itself stays: members and message ids are not part of the run
    assert await store.get_members(A) == {100: START}
    assert await store.card_digest(A) == 555
    assert await store.alarm_of_message(A, 9001) == AlarmRef(7, 1)
    # other rooms untouched
    assert await store.get_run(B) == sample_state(9)
    assert not await store.claim(B, "boundary:1")

    await store.delete_run(RoomKey(404, 404))  # deleting nothing is fine


# -- exactly-once -----------------------------------------------------------------------------


async def test_claim_is_true_once_then_false(store: SessionStore) -> None:
    assert await store.claim(A, "b1")
    assert not await store.claim(A, "b1")
    assert not await store.claim(A, "b1")
    assert await store.claim(A, "b2")
    assert await store.claim(B, "b1")
    assert await store.claim(C, "b1")


async def test_claim_and_put_run_stores_only_the_run_of_whoever_claimed(
    store: SessionStore,
) -> None:
    won, stale = sample_state(fired_through=1), sample_state(fired_through=0)
    assert await store.claim_and_put_run(A, "b:1:1", won)
    assert await store.get_run(A) == won and A in await store.running_rooms()
    # a process that read the run before the claim loses, and writes nothing over the
    # winner's run (which records the debt the claim made)
    assert not await store.claim_and_put_run(A, "b:1:1", stale)
    assert await store.get_run(A) == won
    assert not await store.claim(A, "b:1:1")  # the same claim as ``claim``
    assert await store.claim(C, "b:1:3")
    assert not await store.claim_and_put_run(C, "b:1:3", won)  # claimed by plain ``claim``
    assert await store.get_run(C) is None and C not in await store.running_rooms()
    results = await asyncio.gather(*(store.claim_and_put_run(B, "b:1:2", won) for _ in range(20)))
    assert results.count(True) == 1


async def test_claim_under_concurrency_has_exactly_one_winner(store: SessionStore) -> None:
    results = await asyncio.gather(*(store.claim(A, "finish:7") for _ in range(50)))
    assert results.count(True) == 1


async def test_claim_from_two_instances_has_exactly_one_winner(backend: Backend) -> None:
    first, second = backend.make(), backend.make()
    await first.open()
    try:
        if backend.name != "embedded":
            await second.open()
        else:
            second = first  # one process owns the embedded file
        calls = [s.claim(A, "b3") for s in (first, second) for _ in range(25)]
        assert (await asyncio.gather(*calls)).count(True) == 1
    finally:
        await first.close()
        await second.close()


# -- dismissals -------------------------------------------------------------------------------


async def test_add_dismissal_first_wins(store: SessionStore) -> None:
    assert await store.add_dismissal(A, 7, 1, 100, START + 10)
    assert not await store.add_dismissal(A, 7, 1, 100, START + 99)
    assert await store.add_dismissal(A, 7, 1, 200, START + 20)
    assert await store.add_dismissal(A, 7, 3, 100, START + 30)

    assert await store.get_dismissals(A, 7) == {
        (1, 100): START + 10,
        (1, 200): START + 20,
        (3, 100): START + 30,
    }


async def test_add_dismissal_under_concurrency_keeps_the_winner(store: SessionStore) -> None:
    stamps = [START + i for i in range(50)]
    random.shuffle(stamps)
    results = await asyncio.gather(*(store.add_dismissal(A, 7, 2, 100, at) for at in stamps))

    assert results.count(True) == 1
    winner = stamps[results.index(True)]
    assert await store.get_dismissals(A, 7) == {(2, 100): winner}


async def test_dismissals_are_kept_per_run(store: SessionStore) -> None:
    assert await store.add_dismissal(A, 1, 1, 100, START + 1)
    assert await store.add_dismissal(A, 2, 1, 100, START + 2)  # same boundary, next run

    assert await store.get_dismissals(A, 1) == {(1, 100): START + 1}
    assert await store.get_dismissals(A, 2) == {(1, 100): START + 2}
    assert await store.get_dismissals(A, 3) == {}


# -- members and messages ---------------------------------------------------------------------


async def test_members_add_remove_get(store: SessionStore) -> None:
    assert await store.get_members(A) == {}
    await store.add_member(A, 100, START)
    await store.add_member(A, 200, START + 5)
    await store.add_member(A, 300, START + 9)
    await store.remove_member(A, 200)
    await store.remove_member(A, 999)  # absent: nothing happens

    assert await store.get_members(A) == {100: START, 300: START + 9}

    await store.add_member(A, 100, START + 50)  # joining again records the new instant
    assert await store.get_members(A) == {100: START + 50, 300: START + 9}


async def test_alarm_messages_resolve_both_ways(store: SessionStore) -> None:
    big = 1_234_567_890_123_456_789  # snowflakes need 64 bits
    assert await store.alarm_message(A, 7, 3) is None
    assert await store.alarm_of_message(A, big) is None
    await store.put_alarm_message(A, 7, 3, big)
    await store.put_alarm_message(A, 8, 1, big + 1)
    assert await store.alarm_message(A, 7, 3) == big
    assert await store.alarm_of_message(A, big) == AlarmRef(7, 3)
    assert await store.alarm_of_message(A, big + 1) == AlarmRef(8, 1)
    assert await store.alarm_of_message(B, big) is None  # another room's message
    with pytest.raises(ValueError):
        await store.put_alarm_message(A, 7, 1 << 16, big + 2)

    assert await store.results_message(A, 7) is None
    await store.put_results_message(A, 7, big + 3)
    assert await store.results_message(A, 7) == big + 3
    assert await store.alarm_of_message(A, big + 3) is None  # the results are no alarm


async def test_card_digest_voice_sessions_and_liveness(store: SessionStore) -> None:
    assert await store.card_digest(A) is None
    await store.put_card_digest(A, 42)
    await store.put_card_digest(A, 43)
    assert await store.card_digest(A) == 43

    assert await store.open_voice_sessions(A) == {}
    await store.put_voice_sessions(A, {100: START, 200: START + 5})
    await store.put_voice_sessions(A, {100: START + 60_000})  # counted up to here
    assert await store.open_voice_sessions(A) == {100: START + 60_000, 200: START + 5}
    await store.close_voice_sessions(A, [200])
    assert await store.open_voice_sessions(A) == {100: START + 60_000}
    await store.put_voice_sessions(A, {200: START + 9})  # back in voice
    assert await store.open_voice_sessions(A) == {100: START + 60_000, 200: START + 9}
    await store.put_voice_sessions(A, {})
    await store.close_voice_sessions(A, [])
    assert await store.open_voice_sessions(B) == {}

    assert await store.alive_at(A) is None
    await store.put_alive(A, START + 7)
    assert await store.alive_at(A) == START + 7
    assert await store.card_digest(A) == 43  # each value keeps its own name


# -- which bot processes are alive ------------------------------------------------------------


async def test_each_process_has_one_heartbeat_and_one_read_returns_all(
    store: SessionStore,
) -> None:
    assert await store.heartbeats() == {}
    await store.beat("p1", START + 3_000)
    await store.beat("p2", START + 3_500)
    await store.beat("p1", START + 4_000)  # a later beat replaces the last one
    assert await store.heartbeats() == {"p1": START + 4_000, "p2": START + 3_500}
    await store.end_heartbeat("p1")  # a clean exit
    await store.end_heartbeat("p3")  # a process that never beat: nothing to delete
    assert await store.heartbeats() == {"p2": START + 3_500}


async def test_a_beat_forgets_the_beats_that_ran_out_long_ago(store: SessionStore) -> None:
    await store.beat("long-dead", START)
    await store.beat("just-died", START + 10 * MIN)
    now = START + HEARTBEAT_FORGOTTEN_MS + 5 * MIN
    await store.beat("p1", now)
    assert await store.heartbeats() == {"just-died": START + 10 * MIN, "p1": now}


async def test_heartbeats_are_shared_by_every_instance_and_survive_a_room_drop(
    backend: Backend,
) -> None:
    first, second = backend.make(), backend.make()
    await first.open()
    await second.open()
    try:
        await first.put_run(A, sample_state())
        await first.beat("p1", START + 3_000)
        await second.beat("p2", START + 3_000)
        await second.drop_room(A)
        assert (
            await first.heartbeats()
            == await second.heartbeats()
            == {
                "p1": START + 3_000,
                "p2": START + 3_000,
            }
        )
    finally:
        await first.close()
        await second.close()


# -- whole rooms ------------------------------------------------------------------------------


async def _fill(store: SessionStore, key: RoomKey, seed: int) -> None:
    await store.put_run(key, sample_state(seed))
    await store.claim(key, f"b{seed}")
    await store.add_dismissal(key, seed, 1, seed * 10, START + seed)
    await store.add_member(key, seed * 10, START + seed)
    await store.put_card_digest(key, seed * 1000)
    await store.put_alarm_message(key, seed, 1, seed * 100)
    await store.put_voice_sessions(key, {seed * 10: START})


async def _assert_filled(store: SessionStore, key: RoomKey, seed: int) -> None:
    assert await store.get_run(key) == sample_state(seed)
    assert not await store.claim(key, f"b{seed}")
    assert await store.get_dismissals(key, seed) == {(1, seed * 10): START + seed}
    assert await store.get_members(key) == {seed * 10: START + seed}
    assert await store.card_digest(key) == seed * 1000
    assert await store.alarm_of_message(key, seed * 100) == AlarmRef(seed, 1)
    assert await store.open_voice_sessions(key) == {seed * 10: START}


async def _assert_empty(store: SessionStore, key: RoomKey, seed: int) -> None:
    assert await store.get_run(key) is None
    assert await store.get_dismissals(key, seed) == {}
    assert await store.get_members(key) == {}
    assert await store.card_digest(key) is None
    assert await store.alarm_of_message(key, seed * 100) is None
    assert await store.open_voice_sessions(key) == {}
    assert key not in await store.running_rooms()


async def test_drop_room_forgets_everything_about_the_room(store: SessionStore) -> None:
    await _fill(store, A, 1)
    await _fill(store, B, 2)

    await store.drop_room(A)

    await _assert_empty(store, A, 1)
    assert await store.claim(A, "b1")
    await _assert_filled(store, B, 2)
    assert await store.running_rooms() == [B]
    await store.drop_room(RoomKey(404, 404))  # dropping an unknown room is fine


async def test_rooms_and_guilds_never_see_each_others_state(store: SessionStore) -> None:
    await _fill(store, A, 1)
    await _fill(store, B, 2)
    await _fill(store, C, 3)

    await _assert_filled(store, A, 1)
    await _assert_filled(store, B, 2)
    await _assert_filled(store, C, 3)
    for key in (B, C):
        assert await store.get_dismissals(key, 1) == {}
    assert await store.claim(B, "b1")
    assert await store.claim(C, "b1")
    assert sorted(await store.running_rooms()) == [A, B, C]

    await store.delete_run(C)
    await store.drop_room(B)
    await _assert_filled(store, A, 1)


async def test_state_survives_closing_and_a_new_instance(backend: Backend) -> None:
    first = backend.make()
    await first.open()
    await _fill(first, A, 1)
    await _fill(first, C, 3)
    await first.put_run(B, sample_state(2))
    await first.delete_run(B)
    await first.close()

    second = backend.make()  # a restarted process
    await second.open()
    try:
        await _assert_filled(second, A, 1)
        await _assert_filled(second, C, 3)
        assert sorted(await second.running_rooms()) == [A, C]
        assert await second.get_run(B) is None
    finally:
        await second.close()


async def test_a_closed_store_refuses_calls(backend: Backend) -> None:
    s = backend.make()
    with pytest.raises(RuntimeError):
        await s.get_run(A)
    await s.open()
    await s.open()  # opening twice is harmless
    await s.close()
    await s.close()  # so is closing twice
    with pytest.raises(RuntimeError):
        await s.put_run(A, sample_state())


# -- the database the live state belongs to ---------------------------------------------------

OURS, THEIRS = "a" * 32, "b" * 32


async def test_bind_adopts_a_store_that_records_no_database(store: SessionStore) -> None:
    await _fill(store, A, 1)  # written before the store recorded a database

    assert await store.bind(OURS) == BindOutcome(Binding.ADOPTED)
    await _assert_filled(store, A, 1)
    assert await store.bind(OURS) == BindOutcome(Binding.SAME)
    await _assert_filled(store, A, 1)


async def test_bind_to_another_database_clears_all_its_live_state(store: SessionStore) -> None:
    assert await store.bind(THEIRS) == BindOutcome(Binding.ADOPTED)
    await _fill(store, A, 1)
    await _fill(store, C, 3)
    await store.add_dismissal(A, 2, 1, 10, START)  # another run's dismissals
    await store.add_member(B, 20, START)  # a room without a run: members and messages only
    await store.put_card_digest(B, 2000)

    outcome = await store.bind(OURS)

    assert outcome == BindOutcome(Binding.REPLACED, dropped_rooms=2)
    assert outcome.cleared
    assert await store.running_rooms() == []
    await _assert_empty(store, A, 1)
    await _assert_empty(store, C, 3)
    await _assert_empty(store, B, 2)
    assert await store.get_dismissals(A, 2) == {}
    assert await store.claim(A, "b1")  # claims were forgotten too
    assert await store.claim(C, "b3")
    # the store now belongs to this database and works as before
    assert await store.bind(OURS) == BindOutcome(Binding.SAME)
    await store.put_run(A, sample_state(5))
    assert await store.running_rooms() == [A]
    assert not (await store.bind(OURS)).cleared


async def test_the_bound_database_survives_a_new_instance(backend: Backend) -> None:
    first = backend.make()
    await first.open()
    await first.bind(OURS)
    await _fill(first, A, 1)
    await first.close()

    second = backend.make()
    await second.open()
    try:
        assert await second.bind(OURS) == BindOutcome(Binding.SAME)
        await _assert_filled(second, A, 1)
        assert await second.bind(THEIRS) == BindOutcome(Binding.REPLACED, dropped_rooms=1)
        await _assert_empty(second, A, 1)
    finally:
        await second.close()


async def test_binding_at_once_from_two_instances_clears_once(backend: Backend) -> None:
    first, second = backend.make(), backend.make()
    await first.open()
    try:
        if backend.name != "embedded":
            await second.open()
        else:
            second = first  # one process owns the embedded file
        await first.bind(THEIRS)
        for i in range(1, 21):
            await _fill(first, RoomKey(7, i), i)

        outcomes = await asyncio.gather(*(s.bind(OURS) for s in (first, second) for _ in range(5)))

        assert sorted(o.binding.value for o in outcomes) == ["replaced"] + ["same"] * 9
        assert [o.dropped_rooms for o in outcomes if o.cleared] == [20]
        assert await first.running_rooms() == []
    finally:
        await first.close()
        await second.close()


@pytest.mark.redis
async def test_redis_bind_clears_only_this_namespaces_keys() -> None:
    client = await _redis_or_skip()
    namespace = f"studyon-test-{uuid.uuid4().hex}"
    # namespaces that begin like this one, and a key that is not the store's
    neighbours = [f"{namespace}-x", f"{namespace}:x", f"{namespace}:room:5"]
    stranger = f"{namespace}:room:notes"
    store = RedisSessionStore(REDIS_URL, namespace)
    others = [RedisSessionStore(REDIS_URL, n) for n in neighbours]
    await store.open()
    try:
        await store.bind(THEIRS)
        await _fill(store, A, 1)
        for other in others:
            await other.open()
            await other.bind(THEIRS)
            await _fill(other, A, 1)
        await client.set(stranger, "kept")

        assert (await store.bind(OURS)).cleared

        ours = {k.decode() async for k in client.scan_iter(match=f"{namespace}:*", count=1000)}
        theirs = {k for k in ours if any(k.startswith(f"{n}:") for n in neighbours)}
        assert ours - theirs == {f"{namespace}:identity", stranger}
        assert await client.get(f"{namespace}:identity") == OURS.encode()
        for other in others:
            await _assert_filled(other, A, 1)
            assert await other.running_rooms() == [A]
            assert await other.bind(THEIRS) == BindOutcome(Binding.SAME)
    finally:
        await store.close()
        for other in others:
            await other.close()
        for n in (namespace, *neighbours):
            await _delete_namespace(client, n)
        await client.aclose()


async def test_an_embedded_file_from_before_bind_is_adopted_with_its_state(
    tmp_path: Path,
) -> None:
    path = tmp_path / "live.sqlite3"
    old = EmbeddedSessionStore(path)
    await old.open()
    await _fill(old, A, 1)
    await old.close()
    with sqlite3.connect(path) as db:  # as the file was before the store recorded a database
        db.execute("DROP TABLE bound_to")
        db.execute("PRAGMA user_version = 1")
    db.close()

    store = EmbeddedSessionStore(path)
    await store.open()
    try:
        assert await store.bind(OURS) == BindOutcome(Binding.ADOPTED)
        await _assert_filled(store, A, 1)
        assert await store.bind(THEIRS) == BindOutcome(Binding.REPLACED, dropped_rooms=1)
    finally:
        await store.close()


# -- backend specifics ------------------------------------------------------------------------


@pytest.mark.redis
async def test_redis_keys_are_namespaced_by_guild_and_room() -> None:
    client = await _redis_or_skip()
    namespace = f"studyon-test-{uuid.uuid4().hex}"
    guild, room = random.randrange(10**17, 10**18), random.randrange(10**17, 10**18)
    key = RoomKey(guild, room)
    store = RedisSessionStore(REDIS_URL, namespace)
    await store.open()
    try:
        await _fill(store, key, 4)
        await store.add_dismissal(key, 5, 2, 40, START)  # a second run's dismissals

        found = [k.decode() async for k in client.scan_iter(match=f"*{guild}*", count=1000)]
        assert found, "the store wrote no keys"
        for k in found:
            assert k.startswith(f"{namespace}:room:{guild}:{room}:"), k
        index = f"{namespace}:running"
        assert await client.sismember(index, f"{guild}:{room}")
        ours = {k.decode() async for k in client.scan_iter(match=f"{namespace}:*", count=1000)}
        assert ours == {*found, index}

        await store.drop_room(key)
        left = [k async for k in client.scan_iter(match=f"*{guild}*", count=1000)]
        assert left == []
        assert not await client.sismember(index, f"{guild}:{room}")
    finally:
        await store.close()
        await _delete_namespace(client, namespace)
        await client.aclose()


@pytest.mark.redis_cluster
async def test_redis_cluster_keeps_each_room_in_one_slot_with_its_index(
    redis_cluster: LocalCluster,
) -> None:
    client = connect(redis_cluster.url)
    assert isinstance(client, RedisCluster)
    namespace = f"studyon-test-{uuid.uuid4().hex}"
    store = RedisSessionStore(redis_cluster.url, namespace)
    await store.open()
    try:
        rooms = [RoomKey(random.randrange(10**17, 10**18), i) for i in range(1, 41)]
        for i, key in enumerate(rooms, start=1):
            await _fill(store, key, i)
            await store.add_dismissal(key, i + 100, 2, 40, START)  # a second run's dismissals

        ours = [_text(k) async for k in client.scan_iter(match=f"{namespace}:*", count=1000)]
        indexes = {k for k in ours if k.endswith(":running")}
        for key in rooms:
            tail = f":room:{key.guild_id}:{key.room_id}:"
            found = [k for k in ours if tail in k]
            assert len(found) == 7, found  # run, claims, members, msgs, disruns, 2 dis
            part = found[0].removeprefix(f"{namespace}:e0:").split(":")[0]
            assert re.fullmatch(r"\{p\d{3}\}", part), found[0]
            index = f"{namespace}:e0:{part}:running"
            assert index in indexes and await client.sismember(index, str(key))
            slots = {await client.cluster_keyslot(k) for k in [*found, index]}
            assert len(slots) == 1, (key, found)
        # the rooms are spread over the cluster's nodes, not piled on one
        nodes = {client.get_node_from_key(k) for k in ours}
        assert len(nodes) == 3 and None not in nodes
        assert sorted(await store.running_rooms()) == sorted(rooms)

        await store.drop_room(rooms[0])
        tail = f":room:{rooms[0].guild_id}:{rooms[0].room_id}:"
        assert not [k async for k in client.scan_iter(match=f"*{tail}*", count=1000)]
    finally:
        await store.close()
        await _delete_namespace(client, namespace)
        await client.aclose()


@pytest.mark.redis_cluster
async def test_redis_cluster_bind_moves_to_a_new_epoch_and_deletes_the_old_one(
    redis_cluster: LocalCluster,
) -> None:
    """Clearing is a move to a new epoch in one write; the old epoch's keys are deleted
    afterwards, and keys a clearing killed midway left behind go with the next one."""
    client = connect(redis_cluster.url)
    namespace = f"studyon-test-{uuid.uuid4().hex}"
    neighbour = RedisSessionStore(redis_cluster.url, f"{namespace}:e0")  # begins like ours
    stranger = f"{namespace}:e0:{{p001}}:notes"  # not a key of the store
    store = RedisSessionStore(redis_cluster.url, namespace)
    await store.open()
    await neighbour.open()
    try:
        await store.bind(THEIRS)
        await _fill(store, A, 1)
        await neighbour.bind(THEIRS)
        await _fill(neighbour, A, 1)
        await client.set(stranger, "kept")
        left_behind = [
            _text(k) async for k in client.scan_iter(match=f"{namespace}:e0:{{p*:run", count=1000)
        ]

        assert await store.bind(OURS) == BindOutcome(Binding.REPLACED, dropped_rooms=1)

        def ours_only(keys: set[str]) -> set[str]:  # the neighbour's keys left out
            return {k for k in keys if not k.startswith(f"{namespace}:e0:e")} - {
                f"{namespace}:e0:binding"
            }

        keys = {_text(k) async for k in client.scan_iter(match=f"{namespace}:*", count=1000)}
        assert ours_only(keys) == {f"{namespace}:binding", stranger}
        assert await client.hgetall(f"{namespace}:binding") == {
            b"identity": OURS.encode(),
            b"epoch": b"1",
        }
        await _assert_filled(neighbour, A, 1)
        await store.put_run(B, sample_state(2))
        assert await store.running_rooms() == [B]

        # as if a clearing had been killed before deleting this key of epoch 0
        await client.set(left_behind[0], "stale")
        assert (await store.bind(THEIRS)).cleared
        keys = {_text(k) async for k in client.scan_iter(match=f"{namespace}:*", count=1000)}
        assert ours_only(keys) == {f"{namespace}:binding", stranger}
        assert await store.running_rooms() == []
    finally:
        await store.close()
        await neighbour.close()
        for n in (namespace, f"{namespace}:e0"):
            await _delete_namespace(client, n)
        await client.aclose()


def test_a_malformed_cluster_url_is_refused_without_its_password() -> None:
    for url, problem in [
        ("redis+cluster://", "at least one node"),
        ("redis+cluster://:s3cret@", "at least one node"),
        ("redis+cluster://:s3cret@h1:7000,,h2:7001", "bad cluster node ''"),
        ("redis+cluster://:s3cret@h1:70000", "bad port"),
        ("redis+cluster://:s3cret@h1:x", "bad port"),
        ("redis+cluster://:s3cret@::1:7000", "IPv6"),
        ("redis+cluster://:s3cret@h1:7000/3", "database '/3'"),
    ]:
        with pytest.raises(ValueError, match=re.escape(problem)) as info:
            RedisSessionStore(url)
        assert "s3cret" not in str(info.value)
    store = RedisSessionStore("rediss+cluster://u:pw@h1:7000,[::1]:7001,h3/0?ssl_cert_reqs=none")
    assert store.on_cluster
    assert not RedisSessionStore(REDIS_URL).on_cluster
    assert (
        redact_url("redis+cluster://u:pw@h1:7000,h2:7001/?x=1")
        == "redis+cluster://u:***@h1:7000,h2:7001/?x=1"
    )


@pytest.mark.redis_cluster
async def test_a_cluster_url_starts_while_a_node_it_names_is_down(
    redis_cluster: LocalCluster,
) -> None:
    url = redis_cluster.url.replace("redis+cluster://", "redis+cluster://127.0.0.1:1,")
    store = RedisSessionStore(url, f"studyon-test-{uuid.uuid4().hex}")
    await store.open()
    try:
        assert await store.claim(A, "b1")
        await store.drop_room(A)
    finally:
        await store.close()


async def test_an_unreachable_cluster_names_the_url_without_its_password() -> None:
    store = RedisSessionStore("redis+cluster://studyon:s3cret@127.0.0.1:1,127.0.0.1:2")
    with pytest.raises(SessionStoreUnavailable) as info:
        await store.open()
    message = str(info.value)
    assert "127.0.0.1:1,127.0.0.1:2" in message
    assert "s3cret" not in message


async def test_redis_unreachable_names_the_url_without_its_password() -> None:
    store = RedisSessionStore("redis://studyon:s3cret@127.0.0.1:1/0")
    with pytest.raises(SessionStoreUnavailable) as info:
        await store.open()
    message = str(info.value)
    assert "127.0.0.1:1" in message
    assert "s3cret" not in message
    assert redact_url("redis://:pw@[::1]:6380/2") == "redis://:***@[::1]:6380/2"
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


async def test_embedded_store_is_its_own_wal_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "live.sqlite3"
    store = EmbeddedSessionStore(path)
    await store.open()
    await store.put_run(A, sample_state())
    await store.close()

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    assert {"runs", "claims", "dismissals", "members", "messages"} <= tables


async def test_embedded_store_in_memory() -> None:
    store = EmbeddedSessionStore(":memory:")
    await store.open()
    try:
        await _fill(store, A, 1)
        await _assert_filled(store, A, 1)
    finally:
        await store.close()


def test_factory_picks_redis_only_when_a_url_is_given(tmp_path: Path) -> None:
    assert isinstance(create_session_store("", tmp_path / "s.db"), EmbeddedSessionStore)
    assert isinstance(create_session_store("  ", tmp_path / "s.db"), EmbeddedSessionStore)
    assert isinstance(create_session_store(REDIS_URL, tmp_path / "s.db"), RedisSessionStore)
    on_cluster = create_session_store("redis+cluster://127.0.0.1:7000", tmp_path / "s.db")
    assert isinstance(on_cluster, RedisSessionStore) and on_cluster.on_cluster


def test_timer_events_in_the_sample_are_what_the_suite_claims() -> None:
    events = sample_state().timer.events
    assert events == (
        TimerEvent(EventKind.PAUSE, START + 3 * MIN),
        TimerEvent(EventKind.RESUME, START + 5 * MIN),
        TimerEvent(EventKind.SKIP, START + 10 * MIN),
    )


async def test_a_burst_of_calls_waits_for_connections(backend: Backend) -> None:
    """After a restart every missed alarm wakes at once: hundreds of concurrent calls must
    queue for a connection, not fail with "too many connections"."""
    store = backend.make()
    await store.open()
    try:
        keys = [RoomKey(1, i) for i in range(400)]
        results = await asyncio.gather(*(store.claim(k, "burst") for k in keys))
        assert all(results)
        assert not any(await asyncio.gather(*(store.claim(k, "burst") for k in keys)))
    finally:
        await store.close()

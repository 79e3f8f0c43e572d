"""The bot on a Redis Cluster (``session.redis_url = "redis+cluster://..."``, the local
cluster the tests start): a room's timer runs, its live state is on the cluster, and a
restart resumes it from there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Config
from bot.domain.timer import MINUTE_MS
from storage.redis_client import connect
from storage.session import RedisSessionStore
from tests.support.cluster import LocalCluster
from tests.support.studio import Studio, make_config
from tests.support.timer import MINUTE, at, open_room

pytestmark = pytest.mark.redis_cluster


@pytest.fixture
async def studyon_config(tmp_path: Path, redis_cluster: LocalCluster) -> AsyncIterator[Config]:
    yield make_config(tmp_path, session={"redis_url": redis_cluster.url})
    client = connect(redis_cluster.url)  # the store's namespace, "studyon", on this cluster
    try:
        doomed = [k async for k in client.scan_iter(match="studyon:*", count=1000)]
        if doomed:
            await client.delete(*doomed)
    finally:
        await client.aclose()


async def test_a_room_runs_its_timer_on_a_redis_cluster(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, study=50, brk=10, terms=2)
    await alice.slash(room.channel, "timer start")
    t0 = studio.now_ms()
    store = studio.bot.services.store
    assert isinstance(store, RedisSessionStore) and store.on_cluster
    assert await store.running_rooms() == [room.key]

    await studio.advance(50 * MINUTE)
    [first] = room.alarms()
    assert first.created_at == at(t0 + 50 * MINUTE_MS)
    await studio.restart()  # resumed from the cluster
    await studio.advance(10 * MINUTE)

    assert [a.created_at for a in room.alarms()] == [at(t0 + m * MINUTE_MS) for m in (50, 60)]
    store = studio.bot.services.store
    assert isinstance(store, RedisSessionStore) and store.on_cluster
    run = await store.get_run(room.key)
    assert run is not None and run.fired_through == 2

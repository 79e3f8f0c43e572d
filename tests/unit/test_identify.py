"""IDENTIFY turns shared by every process of the bot through Redis.

Real bots (``create_bot``) ask their ``before_identify_hook`` as discord.py's gateway does
(``ConnectionState.call_hooks("before_identify", shard_id, initial=...)``), against the
Discord REST stand-in (``GET /gateway/bot`` says the application's ``max_concurrency``) and
the real Redis; no gateway connection is needed for the turn itself. Discord's 5-second
window is shortened to 0.2 s, so the tests wait a second or so of real time.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.standin import DiscordStandIn, Fault, pointed_at
from bot.app import StudyOnBot, create_bot, studyon_teardown
from bot.domain.identify import IDENTIFY_INTERVAL_MS, IdentifyLimit, identify_bucket
from bot.identify import RedisTurns, identify_key
from tests.support.cluster import LocalCluster
from tests.support.outages import RedisServer
from tests.support.servers import require_redis
from tests.support.studio import make_config

INTERVAL_MS = 200
INTERVAL_S = INTERVAL_MS / 1000
# the loop's clock and the Redis server's differ by the time an answer takes to arrive
SLACK_S = 0.03

GATEWAY_BOT = "/gateway/bot"


@dataclass
class Grant:
    shard_id: int
    process: int
    at: float  # the event loop's clock when the hook returned


@dataclass
class Cluster:
    """Bots of one application, as separate processes would run them (each its own HTTP
    client, Redis client and IDENTIFY gate)."""

    stand_in: DiscordStandIn
    tmp_path: Path
    application_id: int = field(default_factory=lambda: random.getrandbits(48))
    bots: list[StudyOnBot] = field(default_factory=list)

    async def bot(
        self, shard_ids: Sequence[int], shard_count: int, redis_url: str = ""
    ) -> StudyOnBot:
        discord = {"shard_ids": list(shard_ids), "shard_count": shard_count}
        session = {"redis_url": redis_url}
        bot = create_bot(make_config(self.tmp_path, discord=discord, session=session))
        bot.identify_interval_ms = INTERVAL_MS
        await bot.http.static_login("stand-in")  # what login does, without the gateway
        bot._connection.application_id = self.application_id  # as login learns it
        self.bots.append(bot)
        return bot

    def gateway_asks(self) -> int:
        return sum(1 for r in self.stand_in.records if r.route == GATEWAY_BOT)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with DiscordStandIn(max_concurrency=2) as stand_in:
        with pointed_at(stand_in):
            state = Cluster(stand_in, tmp_path)
            try:
                yield state
            finally:
                for bot in state.bots:
                    await studyon_teardown(bot)
                    await bot.http.close()


async def identify(bot: StudyOnBot, shard_id: int, *, initial: bool) -> None:
    """What discord.py's gateway does right before it sends IDENTIFY."""
    await bot._connection.call_hooks("before_identify", shard_id, initial=initial)


async def start_shards(bot: StudyOnBot, process: int, grants: list[Grant]) -> None:
    """The shards of one process, one after the other as ``launch_shards`` starts them."""
    loop = asyncio.get_running_loop()
    shard_ids = bot.shard_ids or [0]
    for shard_id in shard_ids:
        await identify(bot, shard_id, initial=shard_id == shard_ids[0])
        grants.append(Grant(shard_id, process, loop.time()))


def closest_in_a_bucket(grants: Sequence[Grant], max_concurrency: int) -> dict[int, float]:
    """Per bucket, the shortest time between two of its IDENTIFYs."""
    by_bucket: dict[int, list[float]] = defaultdict(list)
    for grant in grants:
        by_bucket[identify_bucket(grant.shard_id, max_concurrency)].append(grant.at)
    return {
        bucket: min((b - a for a, b in zip(sorted(ats), sorted(ats)[1:], strict=False)))
        for bucket, ats in by_bucket.items()
        if len(ats) > 1
    }


async def timed(call: Callable[[], Awaitable[None]]) -> float:
    loop = asyncio.get_running_loop()
    began = loop.time()
    await call()
    return loop.time() - began


# --------------------------------------------------------------------------------------------


def test_the_bot_waits_discords_five_seconds_unless_told_otherwise(tmp_path: Path) -> None:
    assert create_bot(make_config(tmp_path)).identify_interval_ms == IDENTIFY_INTERVAL_MS


@pytest.mark.redis
async def test_three_processes_identify_once_per_bucket_per_window_together(
    cluster: Cluster,
) -> None:
    url = await require_redis()
    # 6 shards over 3 processes, max_concurrency 2: buckets {0, 2, 4} and {1, 3, 5}; each
    # process starts with a shard of another bucket than its second
    shard_ids = [(0, 1), (3, 2), (4, 5)]
    bots = [await cluster.bot(ids, 6, url) for ids in shard_ids]
    grants: list[Grant] = []
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.wait_for(
        asyncio.gather(*(start_shards(bot, n, grants) for n, bot in enumerate(bots))), 5
    )
    took = loop.time() - began

    assert sorted(g.shard_id for g in grants) == [0, 1, 2, 3, 4, 5]
    closest = closest_in_a_bucket(grants, 2)
    print(
        f"6 shards, 3 processes, 2 buckets, window {INTERVAL_S} s: all started in {took:.3f} s;"
        f" closest IDENTIFYs of a bucket {min(closest.values()):.3f} s apart"
    )
    # one IDENTIFY per bucket per window, whichever process sent it
    assert closest.keys() == {0, 1}
    assert min(closest.values()) >= INTERVAL_S - SLACK_S
    # the two buckets go side by side: each starts at once, not after the other's window
    first = {
        bucket: min(g.at for g in grants if identify_bucket(g.shard_id, 2) == bucket) - began
        for bucket in (0, 1)
    }
    assert max(first.values()) < INTERVAL_S / 2
    # three per bucket take two windows; one turn for all six would take five
    assert took < 3.5 * INTERVAL_S
    # each process asked Discord its limit once, before its first IDENTIFY
    assert cluster.gateway_asks() == 3


@pytest.mark.redis
async def test_a_first_identify_waits_for_another_process_that_just_took_its_bucket(
    cluster: Cluster,
) -> None:
    url = await require_redis()
    first = await cluster.bot([0], 4, url)
    second = await cluster.bot([2], 4, url)  # bucket 0 as well, under max_concurrency 2
    await identify(first, 0, initial=True)
    # this process's first IDENTIFY, within the window the other process's opened
    waited = await timed(lambda: identify(second, 2, initial=True))
    assert waited >= INTERVAL_S - SLACK_S
    # a shard of the other bucket, in the same window, does not wait
    third = await cluster.bot([1], 4, url)
    assert await timed(lambda: identify(third, 1, initial=True)) < INTERVAL_S / 2


@pytest.mark.redis
async def test_while_discord_does_not_say_its_limit_every_shard_is_one_bucket(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    url = await require_redis()
    cluster.stand_in.script("GET /gateway/bot", Fault(status=403), Fault(status=403))
    bots = [await cluster.bot([0], 4, url), await cluster.bot([1], 4, url)]
    grants: list[Grant] = []
    await asyncio.wait_for(
        asyncio.gather(*(start_shards(bot, n, grants) for n, bot in enumerate(bots))), 5
    )
    # shards 0 and 1 are of two buckets, but nobody knew: one turn for both
    assert closest_in_a_bucket(grants, 1)[0] >= INTERVAL_S - SLACK_S
    assert "did not say how many shards may start together" in caplog.text
    # the next IDENTIFY asks again, and Discord answers: bucket 1 no longer waits for 0
    await identify(bots[0], 0, initial=False)
    assert await timed(lambda: identify(bots[1], 1, initial=False)) < INTERVAL_S / 2
    assert cluster.gateway_asks() == 4


async def test_without_redis_a_process_keeps_discord_pys_own_pace(cluster: Cluster) -> None:
    bot = await cluster.bot([0, 1], 2)
    assert await timed(lambda: identify(bot, 0, initial=True)) < INTERVAL_S / 2
    assert await timed(lambda: identify(bot, 1, initial=False)) >= INTERVAL_S
    # nothing asked of Discord: one process needs no limit but its own pace
    assert cluster.gateway_asks() == 0


async def test_a_redis_that_is_down_never_holds_a_start_and_is_said_once_per_outage(
    cluster: Cluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    redis = RedisServer(tmp_path)
    bot = await cluster.bot([0, 1], 2, redis.url)
    try:
        # down from the start: discord.py's pace, said once however many shards start
        assert await timed(lambda: identify(bot, 0, initial=True)) < 1.5
        assert await timed(lambda: identify(bot, 1, initial=False)) >= INTERVAL_S
        await identify(bot, 0, initial=False)
        caplog.set_level(logging.INFO, logger="bot.identify")
        said = [r for r in caplog.records if "cannot be reached" in r.getMessage()]
        assert len(said) == 1 and said[0].levelno == logging.WARNING
        # back: turns are taken in Redis again, and the log says so
        redis.start()
        await identify(bot, 0, initial=False)
        assert "answer again" in caplog.text
        assert bot._identify is not None and isinstance(bot._identify.turns, RedisTurns)
        assert bot._identify.turns.key == identify_key(cluster.application_id, None)
        # down again: a new outage, said again
        redis.kill()
        await identify(bot, 1, initial=True)
        said = [r for r in caplog.records if "cannot be reached" in r.getMessage()]
        assert len(said) == 2
    finally:
        redis.stop()


def test_without_an_application_id_the_keys_are_a_hash_of_the_token() -> None:
    key = identify_key(None, "MTIz.secret-token")
    assert key.startswith("studyon:identify:token-") and "secret" not in key
    assert key == identify_key(None, "MTIz.secret-token")
    assert identify_key(42, "MTIz.secret-token") == "studyon:identify:42"


@pytest.mark.redis_cluster
async def test_turns_on_a_redis_cluster_keep_one_identify_per_bucket_per_interval(
    redis_cluster: LocalCluster,
) -> None:
    """The same script on a cluster: two callers of one bucket are a whole interval apart,
    and the other bucket's key (on whichever node) does not wait for them."""
    key = f"studyon:identify:test-{random.getrandbits(48)}"
    first, second = RedisTurns(redis_cluster.url, key), RedisTurns(redis_cluster.url, key)
    limit = IdentifyLimit(2, interval_ms=200)
    loop = asyncio.get_running_loop()
    try:
        t0 = loop.time()
        await first.take(0, limit)
        await first.take(1, limit)  # another bucket: at once
        other_bucket = loop.time() - t0
        await second.take(2, limit)  # bucket 0 again: after the interval
        same_bucket = loop.time() - t0
    finally:
        await first.close()
        await second.close()
    assert other_bucket < 0.15
    assert same_bucket >= 0.19

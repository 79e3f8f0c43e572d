"""When a shard may IDENTIFY: turns shared by every process of the bot through Redis.

discord.py asks ``before_identify_hook`` before each IDENTIFY; its own answer waits 5 s
before every IDENTIFY but a process's first, which keeps one process within Discord's limit
and nothing more: three processes started together IDENTIFY together, and one bucket's
second IDENTIFY within 5 s is refused (the shard starts over). So a bot that uses Redis
takes its turn there: one key per bucket (``studyon:identify:<application id>:<bucket>``),
set with ``NX`` and an expiry of the interval, by a script that reads the Redis server's
own clock, so the turn is atomic and every process reads one clock whatever its own says.
A refused shard waits until the bucket's window ends (``bot.domain.identify``) and asks
again; different buckets never wait for each other.

``max_concurrency`` comes from ``GET /gateway/bot``, asked once before the first IDENTIFY
(discord.py asks it only when the shard count is left to Discord, and drops the answer);
while Discord cannot say, every shard counts as one bucket, which is always within the
limit. Without Redis (one process) and while Redis cannot be reached, the turn is
discord.py's own: the first IDENTIFY at once, every other after the interval (said once per
outage in the log), so a broken Redis never holds a shard's start.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Final

import aiohttp
import discord
from discord.shard import SessionStartLimits
from redis.exceptions import RedisError

from bot.domain.identify import IDENTIFY_INTERVAL_MS, IdentifyLimit
from storage.redis_client import AnyRedis, connect, discover_nodes

__all__ = ["KEY_PREFIX", "IdentifyGate", "RedisTurns", "identify_key"]

log = logging.getLogger(__name__)

KEY_PREFIX: Final = "studyon:identify:"

# KEYS[1] the bucket's key, ARGV[1] the interval (ms). Sets the key to the server's time
# when the bucket is free, expiring after the interval: {1, now, now}; else {0, last, now}.
_TAKE_TURN: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('SET', KEYS[1], now, 'NX', 'PX', ARGV[1]) then
  return {1, now, now}
end
return {0, tonumber(redis.call('GET', KEYS[1])) or now, now}
"""


def identify_key(application_id: int | None, token: str | None) -> str:
    """The prefix of the bucket keys every process of one bot shares: by its application
    id, or a hash of its token when the id is not known (never the token itself)."""
    if application_id is not None:
        return f"{KEY_PREFIX}{application_id}"
    digest = hashlib.sha256((token or "").encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}token-{digest}"


class RedisTurns:
    """IDENTIFY turns in Redis under ``key``: ``take`` returns when the shard's bucket is
    this caller's for the interval. Raises ``RedisError``/``OSError`` when Redis fails."""

    def __init__(self, url: str, key: str, *, client: AnyRedis | None = None) -> None:
        self.key = key
        self._owns_client = client is None
        # one server or a cluster (``redis+cluster://``): the script touches one key, and
        # reads the clock of that key's node
        self._redis: AnyRedis = client or connect(
            url, socket_timeout=1.0, socket_connect_timeout=1.0
        )
        self._take_turn = self._redis.register_script(_TAKE_TURN)
        self._discovering = asyncio.Lock()

    async def take(self, shard_id: int, limit: IdentifyLimit) -> None:
        await discover_nodes(self._redis, self._discovering)
        bucket_key = f"{self.key}:{limit.bucket(shard_id)}"
        while True:
            granted, last_ms, now_ms = await self._take_turn(
                keys=[bucket_key], args=[limit.interval_ms]
            )
            if granted:
                return
            # Redis keeps the key up to and including its expiry millisecond: ask after it
            wait_ms = max(limit.wait_ms(int(last_ms), int(now_ms)), 1)
            await asyncio.sleep(wait_ms / 1000)

    async def close(self) -> None:
        if self._owns_client:
            await self._redis.aclose()


# what a failed GET /gateway/bot raises: an answer that is not 2xx, or no answer at all
_GATEWAY_FAILURES: Final = (discord.DiscordException, aiohttp.ClientError, TimeoutError)


class IdentifyGate:
    """What the bot's ``before_identify_hook`` waits on. ``turns`` None: one process, with
    discord.py's own pace. ``session_start_limits`` asks Discord (``GET /gateway/bot``)."""

    def __init__(
        self,
        turns: RedisTurns | None,
        session_start_limits: Callable[[], Awaitable[SessionStartLimits]],
        *,
        interval_ms: int = IDENTIFY_INTERVAL_MS,
    ) -> None:
        self.turns = turns
        self.interval_ms = interval_ms
        self._session_start_limits = session_start_limits
        self._limit: IdentifyLimit | None = None
        self._redis_failing = False

    async def wait(self, shard_id: int, *, initial: bool) -> None:
        """Return when ``shard_id`` may IDENTIFY; ``initial``: this process's first."""
        if self.turns is None:
            await self._alone(initial)
            return
        limit = await self.limit()
        try:
            await self.turns.take(shard_id, limit)
        except (RedisError, OSError) as exc:
            if not self._redis_failing:
                self._redis_failing = True
                log.warning(
                    "the shared IDENTIFY turns in Redis cannot be reached (%s: %s); shards "
                    "of this process start at discord.py's own pace until it answers, and "
                    "may collide with other processes' starts",
                    type(exc).__name__,
                    exc,
                )
            await self._alone(initial)
            return
        if self._redis_failing:
            self._redis_failing = False
            log.info("the shared IDENTIFY turns in Redis answer again")

    async def _alone(self, initial: bool) -> None:
        # discord.py's default: a process's first IDENTIFY at once, then one per interval
        if not initial:
            await asyncio.sleep(self.interval_ms / 1000)

    async def limit(self) -> IdentifyLimit:
        """The application's limit, asked of Discord once; every shard in one bucket while
        Discord cannot say (asked again at the next IDENTIFY)."""
        if self._limit is not None:
            return self._limit
        try:
            limits = await self._session_start_limits()
        except _GATEWAY_FAILURES as exc:
            log.warning(
                "Discord did not say how many shards may start together (GET /gateway/bot: "
                "%s: %s); starting one shard at a time",
                type(exc).__name__,
                exc,
            )
            return IdentifyLimit(1, self.interval_ms)
        self._limit = IdentifyLimit(max(limits.max_concurrency, 1), self.interval_ms)
        log.info(
            "IDENTIFY: %d shard(s) may start together per %.0f s; session starts left today: "
            "%d of %d",
            self._limit.max_concurrency,
            self.interval_ms / 1000,
            limits.remaining,
            limits.total,
        )
        return self._limit

    async def close(self) -> None:
        if self.turns is not None:
            await self.turns.close()

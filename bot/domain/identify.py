"""Discord's limit on starting gateway sessions: which shards may IDENTIFY together, and when.

Discord lets one application IDENTIFY ``max_concurrency`` shards per 5 seconds (its
``/gateway/bot`` says how many; 1 unless the bot is large). The shards are split into that
many rate-limit buckets by ``shard_id % max_concurrency``: at most one IDENTIFY per bucket
in any 5 seconds, whichever process of the application sends it, while different buckets
never wait for each other. An IDENTIFY over the limit is refused and the shard has to start
again, so every process must keep to it together.

Instants are milliseconds of one clock that every process reads alike (the Redis server's,
for the shared turns); nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Discord's window: one IDENTIFY per bucket in any 5 seconds
IDENTIFY_INTERVAL_MS: Final = 5000


def identify_bucket(shard_id: int, max_concurrency: int) -> int:
    """The rate-limit bucket the shard's IDENTIFY counts against."""
    if shard_id < 0:
        raise ValueError(f"a shard id is ≥ 0, got {shard_id}")
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency is ≥ 1, got {max_concurrency}")
    return shard_id % max_concurrency


@dataclass(frozen=True, slots=True)
class IdentifyLimit:
    """The application's IDENTIFY limit: ``max_concurrency`` buckets, one IDENTIFY per
    bucket per ``interval_ms``."""

    max_concurrency: int = 1
    interval_ms: int = IDENTIFY_INTERVAL_MS

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency is ≥ 1, got {self.max_concurrency}")
        if self.interval_ms < 1:
            raise ValueError(f"the interval is ≥ 1 ms, got {self.interval_ms}")

    def bucket(self, shard_id: int) -> int:
        return identify_bucket(shard_id, self.max_concurrency)

    def next_identify_at(self, last_identify_ms: int | None, now_ms: int) -> int:
        """The soonest instant, ``now_ms`` or later, at which the bucket whose last IDENTIFY
        went at ``last_identify_ms`` (None: none within the window) may IDENTIFY again."""
        if last_identify_ms is None:
            return now_ms
        return max(now_ms, last_identify_ms + self.interval_ms)

    def wait_ms(self, last_identify_ms: int | None, now_ms: int) -> int:
        """How long, from ``now_ms``, until the bucket may IDENTIFY again (0: at once)."""
        return self.next_identify_at(last_identify_ms, now_ms) - now_ms

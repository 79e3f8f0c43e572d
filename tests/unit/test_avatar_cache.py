"""The profile card's avatar cache: one fetch per avatar while kept, a bounded size, and no
avatar (rather than an error) when the CDN fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import discord

from cogs._avatars import AVATAR_SIZE, AvatarCache


@dataclass
class FakeHttp:
    fetched: list[str] = field(default_factory=list)
    failing: bool = False

    async def get_from_cdn(self, url: str) -> bytes:
        self.fetched.append(url)
        if self.failing:
            raise discord.DiscordException("CDN down")
        return url.encode()


@dataclass
class FakeState:
    http: FakeHttp


@dataclass
class FakeUser:
    id: int
    avatar: discord.Asset | None


def user(state: FakeState, user_id: int, avatar_hash: str | None) -> Any:
    avatar = (
        discord.Asset._from_avatar(state, user_id, avatar_hash)  # type: ignore[arg-type]
        if avatar_hash
        else None
    )
    return FakeUser(user_id, avatar)


async def test_an_avatar_is_fetched_once_small_and_a_new_hash_afresh() -> None:
    http = FakeHttp()
    state = FakeState(http)
    cache = AvatarCache()
    alice = user(state, 1, "abc")
    first = await cache.image(alice)
    assert first is not None and await cache.image(alice) == first
    assert http.fetched == [f"https://cdn.discordapp.com/avatars/1/abc.png?size={AVATAR_SIZE}"]
    animated = await cache.image(user(state, 1, "a_def"))  # a new avatar: a new hash
    assert animated is not None and b"/a_def.png?" in animated  # its still frame
    assert len(http.fetched) == 2
    assert await cache.image(user(state, 2, None)) is None  # Discord's default avatar
    assert len(http.fetched) == 2


async def test_the_cache_keeps_the_most_recently_used_avatars() -> None:
    http = FakeHttp()
    state = FakeState(http)
    cache = AvatarCache(entries=2)
    a, b, c = (user(state, n, f"h{n}") for n in (1, 2, 3))
    await cache.image(a)
    await cache.image(b)
    await cache.image(a)  # a used last: b goes first
    await cache.image(c)
    assert len(cache) == 2 and len(http.fetched) == 3
    await cache.image(a)
    assert len(http.fetched) == 3
    await cache.image(b)
    assert len(http.fetched) == 4


async def test_a_failed_fetch_is_no_avatar_and_is_not_kept() -> None:
    http = FakeHttp(failing=True)
    cache = AvatarCache()
    alice = user(FakeState(http), 1, "abc")
    assert await cache.image(alice) is None
    assert len(cache) == 0
    http.failing = False
    assert await cache.image(alice) is not None
    assert len(http.fetched) == 2

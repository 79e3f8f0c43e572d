"""Members' avatars for the profile card: fetched once from Discord's CDN, small, and kept.

The card draws the avatar at 72 px, so the CDN is asked for a 128 px PNG (an animated avatar's
still frame). The bytes are kept in memory, most recently used first, keyed by the avatar's
URL (which holds the user, the avatar's hash and the size): a second ``/profile`` of the same
avatar costs no fetch, and a changed avatar (a new hash) is fetched afresh. A member with no
avatar of their own, or whose avatar could not be fetched, gets ``None``: the card draws
their initial instead. A failure is not kept, so the next ``/profile`` tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

import discord

log = logging.getLogger(__name__)

AVATAR_SIZE = 128  # pixels asked of the CDN; the card draws 72
CACHE_ENTRIES = 256  # avatars kept, at a few kilobytes each
FETCH_TIMEOUT_S = 3.0  # the reply is deferred, but a member should not wait long for it
MAX_BYTES = 1 << 20  # a 128 px PNG is far smaller; anything bigger is not kept


def avatar_asset(user: discord.abc.User) -> discord.Asset | None:
    """The member's own avatar (their server avatar first) at the card's size, or None when
    they use Discord's default avatar."""
    asset = user.guild_avatar if isinstance(user, discord.Member) else None
    asset = asset or user.avatar
    if asset is None:
        return None
    return asset.with_format("png").with_size(AVATAR_SIZE)


class AvatarCache:
    """A bounded, in-memory cache of avatar images, by URL."""

    def __init__(self, entries: int = CACHE_ENTRIES) -> None:
        self._entries = entries
        self._images: OrderedDict[str, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._images)

    async def image(self, user: discord.abc.User) -> bytes | None:
        """The user's avatar image bytes, fetched at most once while kept; None for no avatar
        or a failed fetch."""
        asset = avatar_asset(user)
        if asset is None:
            return None
        url = asset.url
        kept = self._images.get(url)
        if kept is not None:
            self._images.move_to_end(url)
            return kept
        try:
            data = await asyncio.wait_for(asset.read(), FETCH_TIMEOUT_S)
        except (discord.DiscordException, TimeoutError, OSError) as error:
            log.info("avatar of user %s not fetched: %r", user.id, error)
            return None
        if not data or len(data) > MAX_BYTES:
            return None
        self._images[url] = data
        while len(self._images) > self._entries:
            self._images.popitem(last=False)
        return data

"""Interfaces the use cases need from the outside that are not storage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.domain.rooms import RoomView
from bot.domain.run import RoomKey


class WakeScheduler(Protocol):
    """Wakes a room at an instant (``bot.scheduler.TimerScheduler`` in production)."""

    def schedule(self, key: RoomKey, at_ms: int) -> None: ...
    def cancel(self, key: RoomKey) -> None: ...


class CallScheduler(Protocol):
    """Runs a named call at an instant, at most one pending per name (the same scheduler)."""

    def schedule_call(
        self,
        name: str,
        at_ms: int,
        call: Callable[[], Awaitable[None]],
        *,
        background: bool = False,
    ) -> None: ...
    def cancel_call(self, name: str) -> None: ...


class ChannelFinder(Protocol):
    """Finds channels Discord made for a room whose ids were never recorded (a process died
    between Discord making one and the room recording it), so undoing the room deletes them
    too (the Discord adapter implements it)."""

    async def unrecorded_channels(
        self, guild_id: int, title: str, since_ms: int, until_ms: int
    ) -> list[int]:
        """The ids of the guild's study-room channels named for ``title`` and made between
        ``since_ms`` and ``until_ms``."""
        ...


class ChannelCleaner(Protocol):
    """The Discord side of owed cleanups (the Discord adapter implements it). Each call
    returns once the work is done, or was already done (the channel, or the member's
    overwrite, is gone); any other outcome raises, and the work stays owed."""

    async def delete_channel(self, channel_id: int) -> None: ...
    async def remove_member_access(self, channel_id: int, user_id: int) -> None: ...
    async def restore_member_access(self, channel_id: int, user_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class PostedCard:
    """A room card as posted: its message, and the digest of what it shows (so the first
    refresh need not edit it)."""

    message_id: int
    digest: int


class RoomChannels(Protocol):
    """The Discord side of making a room and letting members in (the Discord adapter
    implements it, for one guild and one member's request). A refusal the member can act on
    is raised as a ``StudyOnError`` (``MissingPermission``, ``NoChannels``); anything else
    is raised as it came, and the service undoes what was done."""

    async def create_text(self, title: str) -> int: ...
    async def create_voice(self, title: str) -> int: ...
    async def post_card(self, text_channel_id: int, room: RoomView) -> PostedCard: ...
    async def grant_access(self, channel_ids: Sequence[int], user_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class BoardPost:
    """An owed board line where it goes: the room's server and text channel, the member it
    tells of, its message ``key`` and ``params`` (the member-typed words, escaped when
    rendered)."""

    guild_id: int
    channel_id: int
    user_id: int
    key: str
    params: Mapping[str, str]


class BoardPoster(Protocol):
    """The Discord side of owed board lines (the Discord adapter implements it): each line
    is rendered the same way every time, in the room's text channel."""

    async def post_line(self, line: BoardPost, nonce: str) -> int | None:
        """Post the line; its message id, or None when the channel is gone. Anything else
        raises, and the line stays owed."""
        ...

    async def find_line(self, line: BoardPost, since_ms: int, taken: set[int]) -> int | None:
        """The bot's message showing this line, posted since ``since_ms`` and not among
        ``taken`` (an earlier attempt posted it and died before recording it), if any."""
        ...

"""Interfaces the use cases need from the outside that are not storage."""

from __future__ import annotations

from typing import Protocol

from storage.session.base import RoomKey


class WakeScheduler(Protocol):
    """Wakes a room at an instant (``bot.scheduler.TimerScheduler`` in production)."""

    def schedule(self, key: RoomKey, at_ms: int) -> None: ...
    def cancel(self, key: RoomKey) -> None: ...

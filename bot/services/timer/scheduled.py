"""Scheduled starts: ``/timer start at:…`` keeps the instant on the room (SQL) and a named
call in the scheduler; at the instant the run starts through the same path as ``/timer
start``. Nothing is asked of Discord while it waits.

The call is a cache, like a room's wake-up: the truth is the room's ``scheduled_start_ms``.
At start-up ``restore`` schedules every open room's start again; one that fell while the bot
was down runs at once. The run's time is counted from the moment it really starts (then,
not the instant it was scheduled for), so the members get whole phases and no alarm is owed
for a time the bot was not there to ring it.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.session.base import RoomKey


def start_call(key: RoomKey) -> str:
    """The scheduler's name for the room's scheduled start (one pending per room)."""
    return f"start:{key.guild_id}:{key.room_id}"


@dataclass(frozen=True, slots=True)
class ScheduledStart:
    """A start the owner scheduled, or cancelled."""

    key: RoomKey
    starts_at_ms: int
    zone: str  # the time zone it was read in (the owner's)

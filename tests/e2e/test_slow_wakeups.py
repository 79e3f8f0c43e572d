"""A wake-up or a member's command that is busy for longer than one settle window (a loaded
machine, a slow disk) is waited for, not taken for a stuck bot: the run ends and is announced
as usual, and the command is answered."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.domain.run import Run
from bot.services.posted import PostedMessages
from storage.session.base import RoomKey
from storage.session.embedded import EmbeddedSessionStore
from tests.support.studio import Studio
from tests.support.timer import MINUTE, open_room

# the short window the fault tests use, so a slow wake-up outlasts it
pytestmark = pytest.mark.simcord(settle_timeout=0.9)


async def test_a_wake_up_slower_than_one_settle_window_is_waited_for(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, study=5, brk=5, terms=1)
    await alice.slash(room.channel, "timer start")
    record_results = PostedMessages.record_results
    slow: list[float] = []

    async def slowly(self: PostedMessages, key: RoomKey, run_id: int, message_id: int) -> None:
        started = time.perf_counter()
        await asyncio.to_thread(time.sleep, 1.5)  # a slow disk, past the 0.9 s window
        slow.append(time.perf_counter() - started)
        await record_results(self, key, run_id, message_id)

    monkeypatch.setattr(PostedMessages, "record_results", slowly)
    await studio.advance(6 * MINUTE)
    assert slow and slow[0] >= 1.5
    assert len(room.end_messages()) == 1


async def test_a_command_slower_than_one_settle_window_is_answered(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/timer start`` whose live-state write takes 1.5 s (a slow disk) is waited for, and
    the owner sees the timer started."""
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, study=5, brk=5, terms=1)
    put_run = EmbeddedSessionStore.put_run
    slow: list[float] = []

    async def slowly(self: EmbeddedSessionStore, key: RoomKey, run: Run) -> None:
        started = time.perf_counter()
        await asyncio.to_thread(time.sleep, 1.5)  # past the 0.9 s window
        slow.append(time.perf_counter() - started)
        await put_run(self, key, run)

    monkeypatch.setattr(EmbeddedSessionStore, "put_run", slowly)
    started = await alice.slash(room.channel, "timer start")
    assert slow and slow[0] >= 1.5
    assert started.response is not None
    assert "started the timer" in started.response.content
    monkeypatch.undo()
    await studio.advance(5 * MINUTE)
    assert len(room.alarms()) == 1

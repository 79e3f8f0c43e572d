"""A room whose making failed part way is undone, whatever failed and whenever: a channel
Discord made is deleted even when recording it failed, a room whose undo failed is undone by
the same process once it is old enough (no restart needed, and again if that sweep fails), and
a channel never recorded is found by its name and age, within what the clocks may differ."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from simcord.builders import ChannelHandle

from bot.domain.rooms import RoomStatus
from bot.services.rooms import CLOCK_MARGIN_MS, CREATE_ABANDONED_MS, SWEEP_RECHECK_MS, RoomService
from tests.support.faults import Died, fail_once
from tests.support.studio import Studio, Town
from tests.support.timer import MINUTE, balance

# under the bot's 5-second retry pause, so a retry due soon is not waited for in real time
pytestmark = pytest.mark.simcord(settle_timeout=0.9)


DISCORD_EPOCH_MS = 1_420_070_400_000
# the bot imports its cogs afresh each time it starts: patched by name, when it runs
CHANNELS = "cogs.rooms.channels.DiscordRoomChannels"


def named(town: Town, name: str) -> list[ChannelHandle]:
    return [c for c in town.guild.channels.values() if c.name == name]


async def status_of(studio: Studio, room_id: int) -> RoomStatus:
    async with studio.bot.services.uow() as uow:
        room = await uow.rooms.get(room_id)
        assert room is not None
        return RoomStatus(room.status)


async def the_half_made_room(studio: Studio) -> int:
    async with studio.bot.services.uow() as uow:
        [half] = await uow.rooms.unfinished_creates(studio.now_ms() + 1)
        return half.id


async def test_a_channel_whose_recording_failed_is_deleted_at_once(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    town = studio.guild("alice")
    [alice] = town.members
    fail_once(monkeypatch, RoomService, "_record_channel")
    created = await alice.slash(town.general, "room create", title="Half", study=5, terms=1)
    assert created.response is not None and "could not" in created.response.content.lower()
    await studio.env.settle()
    assert named(town, "half") == []  # Discord made it; the undo knew it and deleted it
    assert await balance(alice, town) == "Balance: **1000** points"


async def test_a_channel_made_after_its_room_was_taken_for_abandoned_is_deleted(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discord made the text channel so late that the sweep had undone the room meanwhile:
    recording it is refused, and the create deletes the channel it made."""
    town = studio.guild("alice")
    [alice] = town.members
    rooms = studio.bot.services.rooms
    original = importlib.import_module("cogs.rooms.channels").DiscordRoomChannels.create_text

    async def late(self: Any, title: str) -> int:
        made: int = await original(self, title)
        assert await rooms.undo_create(await the_half_made_room(studio)) is False
        return made

    monkeypatch.setattr(f"{CHANNELS}.create_text", late)
    await alice.slash(town.general, "room create", title="Half", study=5, terms=1)
    await studio.env.settle()
    assert named(town, "half") == []
    assert await balance(alice, town) == "Balance: **1000** points"  # returned once


async def half_made(studio: Studio, town: Town, monkeypatch: pytest.MonkeyPatch) -> int:
    """``/room create`` whose voice channel fails and whose undo fails too: the room is left
    being made, its text channel recorded. Its id."""
    alice = town.members[0]

    async def refused(*_: object) -> int:
        raise Died("create_voice")

    with monkeypatch.context() as patch:
        patch.setattr(f"{CHANNELS}.create_voice", refused)
        fail_once(patch, RoomService, "undo_create")
        await alice.slash(town.general, "room create", title="Half", study=5, terms=1)
    room_id = await the_half_made_room(studio)
    assert named(town, "half") and await balance(alice, town) == "Balance: **900** points"
    return room_id


async def test_a_room_whose_undo_failed_is_undone_once_old_enough_without_a_restart(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    town = studio.guild("alice")
    room_id = await half_made(studio, town, monkeypatch)
    await studio.advance(CREATE_ABANDONED_MS / 1000 - 60)
    assert await status_of(studio, room_id) is RoomStatus.CREATING  # too young still
    await studio.advance(2 * MINUTE)
    assert await status_of(studio, room_id) is RoomStatus.CLOSED
    assert named(town, "half") == []
    assert await balance(town.members[0], town) == "Balance: **1000** points"


async def test_a_sweep_that_fails_looks_again_shortly(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    town = studio.guild("alice")
    room_id = await half_made(studio, town, monkeypatch)
    calls = fail_once(monkeypatch, RoomService, "undo_abandoned_creates")
    await studio.advance(CREATE_ABANDONED_MS / 1000 + 1)
    assert calls == [1] and await status_of(studio, room_id) is RoomStatus.CREATING
    await studio.advance(SWEEP_RECHECK_MS / 1000)
    assert len(calls) == 2 and await status_of(studio, room_id) is RoomStatus.CLOSED
    assert named(town, "half") == []


@pytest.mark.parametrize("discord_clock", ["behind ours", "ahead of ours"])
async def test_an_unrecorded_channel_is_found_within_what_the_clocks_may_differ(
    studio: Studio, monkeypatch: pytest.MonkeyPatch, discord_clock: str
) -> None:
    """The process died after Discord made the text channel and before the room recorded
    it. Discord's clock and this one differ a little: the channel is found all the same,
    whether it seems a little older than its room (Discord's clock behind) or made a little
    after the room came of age (ahead). A channel of the same name made well before is
    another's, and kept."""
    town = studio.guild("alice")
    [alice] = town.members
    category = town.guild.create_category("Study Rooms")
    before = town.guild.create_text_channel("half", category=category)
    await studio.advance(60)

    async def died(*_: object, **__: object) -> None:
        raise Died("the process died")

    with monkeypatch.context() as patch:
        patch.setattr(RoomService, "_record_channel", died)
        patch.setattr(RoomService, "undo_create", died)
        await alice.slash(town.general, "room create", title="Half", study=5, terms=1)
    [leaked] = [c for c in named(town, "half") if c.id != before.id]
    made_ms = (leaked.id >> 22) + DISCORD_EPOCH_MS  # by Discord's clock
    skew = CLOCK_MARGIN_MS * 3 // 4
    if discord_clock == "behind ours":
        created_ms, kept = made_ms + skew, [before.id]
    else:  # made at the last moment before the room came of age, by this clock
        created_ms, kept = made_ms - CREATE_ABANDONED_MS - skew, []  # ``before`` is in the window
    async with studio.bot.services.uow() as uow:
        row = await uow.rooms.get_for_update(await the_half_made_room(studio))
        assert row is not None
        row.created_ms = created_ms
        await uow.commit()
    await studio.advance(10)  # this clock passes the room's creation, as it had
    await studio.restart()
    await studio.advance(CREATE_ABANDONED_MS / 1000 + MINUTE)
    assert await balance(alice, town) == "Balance: **1000** points"
    assert [c.id for c in named(town, "half")] == kept

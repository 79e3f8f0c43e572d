"""Discord failing once while the bot cleans up after a room: a channel it could not delete,
or a member's access it could not remove, stays owed and is done a few seconds later, also
across a restart; and the member is told the truth meanwhile.

Each test injects a single 503 (Discord's "Service Unavailable", which discord.py does not
retry by itself) on the delete the bot makes. A short settle timeout leaves the retry pauses
to virtual time, which ``Studio.advance`` moves.
"""

from __future__ import annotations

import pytest

from tests.support.rooms import (
    CATEGORY,
    answered,
    balance,
    can_see,
    channel_ids,
    create,
    exists,
    make_room,
    open_rooms,
)
from tests.support.studio import Studio
from tests.support.timer import MINUTE, finished

# under the shortest retry pause (1 s), with room for a loaded machine to settle in
pytestmark = pytest.mark.simcord(settle_timeout=0.9)

CHANNEL = "/channels/*"
OVERWRITE = "/channels/*/permissions/*"
FIRST_RETRY = 5  # seconds after a failed delete until it is tried again


async def owed(studio: Studio) -> int:
    """How many pieces of Discord cleanup the bot still owes."""
    async with studio.bot.services.uow() as uow:
        return await uow.cleanups.count()


async def tries(studio: Studio) -> list[tuple[int, int]]:
    """Each owed piece's failed tries so far and when it is tried next."""
    async with studio.bot.services.uow() as uow:
        return [(c.attempts, c.next_try_ms) for c in await uow.cleanups.upcoming()]


async def later(studio: Studio, restart: bool) -> None:
    """Let the first retry fall due, restarting the bot first when ``restart``."""
    if restart:
        await studio.restart()
    await studio.advance(FIRST_RETRY)


@pytest.mark.parametrize("restart", [False, True], ids=["running", "restarted"])
async def test_a_channel_that_fails_to_delete_after_close_goes_later(
    studio: Studio, restart: bool
) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    made = await make_room(studio, town, alice)
    asked = await alice.slash(town.general, "room close")
    assert asked.response is not None
    studio.env.inject_error("DELETE", CHANNEL, status=503, times=1)

    confirmed = await alice.click(asked.response, label="Confirm")

    assert confirmed.acknowledged
    assert asked.response.content == (
        "**Math grind** is closed; its channels will be removed shortly."
    )
    assert exists(studio, made.text.id)  # the failed delete
    assert not exists(studio, made.voice.id)
    assert await owed(studio) == 1
    await later(studio, restart)
    assert not exists(studio, made.text.id)
    assert await owed(studio) == 0
    view = await studio.bot.services.rooms.get(made.room_id)
    assert view.room.status == "closed"


async def test_close_says_closed_plainly_when_the_channels_went(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    made = await make_room(studio, town, alice)
    asked = await alice.slash(town.general, "room close")
    assert asked.response is not None

    await alice.click(asked.response, label="Confirm")

    assert asked.response.content == "**Math grind** is closed."
    assert not exists(studio, made.text.id) and not exists(studio, made.voice.id)
    assert await owed(studio) == 0


@pytest.mark.parametrize("restart", [False, True], ids=["running", "restarted"])
async def test_a_room_nobody_extends_loses_its_channels_even_when_a_delete_fails(
    studio: Studio, restart: bool
) -> None:
    room = await finished(studio, "alice", "bob")
    voice_id = (await studio.bot.services.rooms.get(room.room_id)).room.voice_channel_id
    assert voice_id is not None
    studio.env.inject_error("DELETE", CHANNEL, status=503, times=1)

    await studio.advance(5 * MINUTE)  # the vote ends without an extension

    view = await studio.bot.services.rooms.get(room.room_id)
    assert view.room.status == "closed"
    assert room.exists()  # the text channel's delete failed
    assert not exists(studio, voice_id)
    await later(studio, restart)
    assert not room.exists()
    assert await owed(studio) == 0


@pytest.mark.parametrize("restart", [False, True], ids=["running", "restarted"])
async def test_a_failed_create_removes_the_channels_it_made_later(
    studio: Studio, restart: bool
) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    town.guild.create_category(CATEGORY)
    before_channels = channel_ids(town)
    studio.env.inject_error("POST", "/channels/*/messages", status=503, times=1)  # the card
    studio.env.inject_error("DELETE", CHANNEL, status=503, times=1)

    result = await create(alice, town.general)

    assert answered(result) == (
        "I could not finish making your room, so it was not created; the points it cost were "
        "returned. Please try again in a moment.\n"
        "The channels already made for it will be removed shortly."
    )
    assert len(channel_ids(town) - before_channels) == 1  # one delete failed
    assert await open_rooms(studio, town) == []
    assert await balance(studio, town, alice) == 1000  # paid, and returned
    await later(studio, restart)
    assert channel_ids(town) == before_channels
    assert await owed(studio) == 0
    again = await create(alice, town.general)  # and a room can be made afterwards
    assert "is ready" in answered(again)


async def test_a_failed_create_whose_channels_went_says_nothing_of_them(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    town.guild.create_category(CATEGORY)
    before_channels = channel_ids(town)
    studio.env.inject_error("POST", "/channels/*/messages", status=503, times=1)

    result = await create(alice, town.general)

    assert answered(result) == (
        "I could not finish making your room, so it was not created; the points it cost were "
        "returned. Please try again in a moment."
    )
    assert channel_ids(town) == before_channels
    assert await owed(studio) == 0


@pytest.mark.parametrize("restart", [False, True], ids=["running", "restarted"])
async def test_a_member_who_left_loses_access_even_when_a_removal_fails(
    studio: Studio, restart: bool
) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    await bob.slash(town.general, "room join", room=str(made.room_id))
    studio.env.inject_error("DELETE", OVERWRITE, status=503, times=1)

    result = await bob.slash(town.general, "room leave", room=str(made.room_id))

    assert answered(result) == (
        "You left **Math grind**. Your access to its channels will be removed shortly."
    )
    assert can_see(studio, town, bob, made.text)  # the failed removal
    assert not can_see(studio, town, bob, made.voice)
    await later(studio, restart)
    assert not can_see(studio, town, bob, made.text)
    assert not can_see(studio, town, bob, made.voice)
    assert can_see(studio, town, alice, made.text)
    assert await owed(studio) == 0


async def test_a_member_who_rejoins_before_the_retry_keeps_access(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    await bob.slash(town.general, "room join", room=str(made.room_id))
    studio.env.inject_error("DELETE", OVERWRITE, status=503, times=1)
    await bob.slash(town.general, "room leave", room=str(made.room_id))

    rejoined = await bob.slash(town.general, "room join", room=str(made.room_id))
    assert "You joined" in answered(rejoined)
    await studio.advance(FIRST_RETRY)

    assert can_see(studio, town, bob, made.text) and can_see(studio, town, bob, made.voice)
    assert await owed(studio) == 0


@pytest.mark.parametrize("restart", [False, True], ids=["running", "restarted"])
async def test_the_last_member_out_is_told_the_channels_go_shortly(
    studio: Studio, restart: bool
) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    made = await make_room(studio, town, alice)
    studio.env.inject_error("DELETE", CHANNEL, status=503, times=1)

    result = await alice.slash(town.general, "room leave")

    assert answered(result) == (
        "You left **Math grind**. You were the last member, so the room is closed. "
        "Its channels will be removed shortly."
    )
    assert exists(studio, made.text.id)
    await later(studio, restart)
    assert not exists(studio, made.text.id) and not exists(studio, made.voice.id)


async def test_retries_wait_longer_each_time(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    made = await make_room(studio, town, alice)
    asked = await alice.slash(town.general, "room close")
    assert asked.response is not None
    # both deletes fail, and both fail again at the first retry
    studio.env.inject_error("DELETE", CHANNEL, status=503, times=4)
    closed_at = studio.now_ms()
    await alice.click(asked.response, label="Confirm")
    assert await tries(studio) == [(1, closed_at + 5_000)] * 2

    await studio.advance(5)
    assert exists(studio, made.text.id) and exists(studio, made.voice.id)
    assert await tries(studio) == [(2, closed_at + 15_000)] * 2
    await studio.advance(9)
    assert exists(studio, made.text.id) and exists(studio, made.voice.id)
    await studio.advance(1)
    assert not exists(studio, made.text.id) and not exists(studio, made.voice.id)
    assert await owed(studio) == 0

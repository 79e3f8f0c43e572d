"""A join is all or nothing, whatever Discord answers: the deferral refused (the 3-second
deadline passed, or Discord keeps failing), the channel grant failing, or access lost after
paying. What the member is told is true."""

from __future__ import annotations

import pytest

from tests.support.rooms import answered, balance, board, can_see, make_room
from tests.support.studio import Studio

# under the shortest retry pause (1 s), with room for a loaded machine to settle in
pytestmark = pytest.mark.simcord(settle_timeout=0.9)

CALLBACK = "/interactions/*/callback"
OVERWRITE = "/channels/*/permissions/*"


async def members_of(studio: Studio, room_id: int) -> list[int]:
    view = await studio.bot.services.rooms.get(room_id)
    return [m.user_id for m in view.members]


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [(404, 10062, "Unknown interaction"), (503, 0, "Service Unavailable")],
)
async def test_a_refused_deferral_charges_nothing_and_a_retry_joins_once(
    studio: Studio, status: int, code: int, message: str
) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    lines = len(board(made.text))
    studio.env.inject_error("POST", CALLBACK, status=status, code=code, message=message, times=None)

    await bob.slash(town.general, "room join", room=str(made.room_id))

    studio.env.backend.faults.clear()
    assert await balance(studio, town, bob) == 1000
    assert await members_of(studio, made.room_id) == [alice.id]
    assert not can_see(studio, town, bob, made.text)
    assert len(board(made.text)) == lines

    again = await bob.slash(town.general, "room join", room=str(made.room_id))

    assert answered(again).startswith("You joined **Math grind**")
    assert await balance(studio, town, bob) == 950
    assert await members_of(studio, made.room_id) == [alice.id, bob.id]
    assert can_see(studio, town, bob, made.text)


async def test_a_grant_that_keeps_failing_returns_the_payment_and_says_so(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    studio.env.inject_error("PUT", OVERWRITE, status=503, message="Service Unavailable", times=None)

    result = await bob.slash(town.general, "room join", room=str(made.room_id))

    studio.env.backend.faults.clear()
    assert answered(result) == (
        "Discord did not open the room's channels for you, so you did not join; the 50 points "
        "you paid were returned. Please try again in a moment."
    )
    assert await balance(studio, town, bob) == 1000
    assert await members_of(studio, made.room_id) == [alice.id]
    assert not can_see(studio, town, bob, made.text)
    assert not can_see(studio, town, bob, made.voice)

    again = await bob.slash(town.general, "room join", room=str(made.room_id))

    assert answered(again).startswith("You joined **Math grind**")
    assert await balance(studio, town, bob) == 950


async def test_a_member_whose_access_went_missing_gets_it_back_by_joining_again(
    studio: Studio,
) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    await bob.slash(town.general, "room join", room=str(made.room_id))
    # access lost after paying (say the process died between the payment and the grant)
    for channel in (made.text, made.voice):
        await studio.bot.http.delete_channel_permissions(channel.id, bob.id)
    assert not can_see(studio, town, bob, made.text)

    again = await bob.slash(town.general, "room join", room=str(made.room_id))

    assert answered(again) == "You are already in this room."
    assert can_see(studio, town, bob, made.text)
    assert can_see(studio, town, bob, made.voice)
    assert await balance(studio, town, bob) == 950  # charged once


async def test_a_half_granted_join_takes_back_the_access_it_gave(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    # the text channel opens to bob, the voice channel keeps failing
    studio.env.inject_error(
        "PUT", f"/channels/{made.voice.id}/permissions/*", status=503, times=None
    )

    result = await bob.slash(town.general, "room join", room=str(made.room_id))

    studio.env.backend.faults.clear()
    assert answered(result).startswith("Discord did not open the room's channels for you")
    assert not can_see(studio, town, bob, made.text)
    assert not can_see(studio, town, bob, made.voice)
    assert await balance(studio, town, bob) == 1000

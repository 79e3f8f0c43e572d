"""Joining and leaving: access to both channels follows membership, joins are charged once,
refusals change nothing, ownership passes on and the last member out closes the room."""

from __future__ import annotations

from bot.domain.points import Reason
from tests.support.rooms import (
    MANAGE_ROLES,
    answered,
    balance,
    board,
    can_connect,
    can_see,
    counts,
    exists,
    make_room,
    pings_nobody,
    take_from_bot,
)
from tests.support.studio import Studio


async def test_join_grants_both_channels_posts_and_charges(studio: Studio) -> None:
    town = studio.guild("alice", "bob", "carol")
    alice, bob, carol = town.members
    made = await make_room(studio, town, alice)

    result = await bob.slash(town.general, "room join", room=str(made.room_id))

    reply = answered(result)
    assert reply == f"You joined **Math grind**: {made.text.mention}. 50 points were charged."
    assert await balance(studio, town, bob) == 950
    for channel in (made.text, made.voice):
        assert can_see(studio, town, bob, channel)
        assert not can_see(studio, town, carol, channel)
    assert can_connect(studio, town, bob, made.voice)
    await bob.send(made.text, "hi all")  # a member can talk in the room
    lines = board(made.text)
    assert lines[-2].content == "**bob** joined"
    pings_nobody(studio, lines[-2])
    card = made.text.pinned_messages()[0].embeds[0]
    members = next(f for f in card.fields if (f.name or "").startswith("Members"))
    assert members.name == "Members (2/25)"
    assert members.value == f"{alice.mention} {bob.mention}"


async def test_join_refusals_change_nothing(studio: Studio) -> None:
    town = studio.guild("alice", "bob", "carol", "dave")
    alice, bob, carol, dave = town.members
    made = await make_room(studio, town, alice, capacity=2)
    await bob.slash(town.general, "room join", room=str(made.room_id))
    await studio.bot.services.points.spend(
        town.guild.id, dave.id, 980, Reason.ROOM_JOIN, "test", "test:dave"
    )
    lines_before, rows_before = len(board(made.text)), await counts(studio)

    full = await carol.slash(town.general, "room join", room=str(made.room_id))
    again = await bob.slash(town.general, "room join", room=str(made.room_id))
    owner = await alice.slash(town.general, "room join", room=str(made.room_id))

    assert answered(full) == "This room is full (2 members)."
    assert answered(again) == "You are already in this room."
    assert answered(owner) == "You are already in this room."
    assert await balance(studio, town, carol) == 1000
    assert await balance(studio, town, bob) == 950
    assert not can_see(studio, town, carol, made.text)
    assert can_see(studio, town, bob, made.text)  # a refused second join keeps access
    assert len(board(made.text)) == lines_before
    assert await counts(studio) == rows_before

    await bob.slash(town.general, "room leave", room=str(made.room_id))
    poor = await dave.slash(town.general, "room join", room=str(made.room_id))
    assert answered(poor) == "You need 50 points but have 20."
    assert not can_see(studio, town, dave, made.text)


async def test_join_a_closed_room_is_refused(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    await studio.bot.services.rooms.close(made.room_id, alice.id)

    result = await bob.slash(town.general, "room join", room=str(made.room_id))

    assert answered(result) == "This room is closed."
    assert await balance(studio, town, bob) == 1000


async def test_join_without_manage_roles_is_refused_before_paying(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    take_from_bot(studio, town, MANAGE_ROLES)
    await studio.env.settle()

    result = await bob.slash(town.general, "room join", room=str(made.room_id))

    assert "I need the **Manage Roles** permission" in answered(result)
    assert await balance(studio, town, bob) == 1000
    assert not can_see(studio, town, bob, made.text)


async def test_a_join_discord_refuses_is_taken_back_and_repaid(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    studio.env.inject_error(
        "PUT", "/channels/*/permissions/*", status=403, code=50013, message="Missing Permissions"
    )

    result = await bob.slash(town.general, "room join", room=str(made.room_id))

    assert "I need the **Manage Roles** permission" in answered(result)
    assert await balance(studio, town, bob) == 1000
    assert not can_see(studio, town, bob, made.text)
    view = await studio.bot.services.rooms.get(made.room_id)
    assert [m.user_id for m in view.members] == [alice.id]
    # a later join works, and is paid once
    again = await bob.slash(town.general, "room join", room=str(made.room_id))
    assert "You joined" in answered(again)
    assert await balance(studio, town, bob) == 950
    assert can_see(studio, town, bob, made.text)


async def test_leave_removes_access_and_says_so_on_the_board(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    await bob.slash(town.general, "room join", room=str(made.room_id))

    result = await bob.slash(town.general, "room leave", room=str(made.room_id))

    assert answered(result) == "You left **Math grind**."
    for channel in (made.text, made.voice):
        assert not can_see(studio, town, bob, channel)
        assert can_see(studio, town, alice, channel)
    assert board(made.text)[-1].content == "**bob** left"
    members = next(
        f
        for f in made.text.pinned_messages()[0].embeds[0].fields
        if (f.name or "").startswith("Members")
    )
    assert members.name == "Members (1/25)"
    assert await balance(studio, town, bob) == 950  # leaving refunds nothing


async def test_leave_without_a_room_option_uses_this_channel_or_the_only_room(
    studio: Studio,
) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    first = await make_room(studio, town, alice, "First")
    second = await make_room(studio, town, alice, "Second")
    await bob.slash(town.general, "room join", room=str(first.room_id))
    await bob.slash(town.general, "room join", room=str(second.room_id))

    pick = await bob.slash(town.general, "room leave")
    assert answered(pick) == "You are in more than one room: pick one with the `room` option."

    here = await bob.slash(second.text, "room leave")  # used in the room's own channel
    assert answered(here) == "You left **Second**."
    only = await bob.slash(town.general, "room leave")  # now in one room only
    assert answered(only) == "You left **First**."
    none = await bob.slash(town.general, "room leave")
    assert answered(none) == "You are not in any study room."


async def test_leaving_a_room_one_is_not_in_is_refused(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)

    result = await bob.slash(town.general, "room leave", room=str(made.room_id))

    assert answered(result) == "You are not a member of this room."
    assert can_see(studio, town, alice, made.text)


async def test_owner_leaving_passes_ownership_to_the_longest_present(studio: Studio) -> None:
    town = studio.guild("alice", "bob", "carol")
    alice, bob, carol = town.members
    made = await make_room(studio, town, alice)
    await bob.slash(town.general, "room join", room=str(made.room_id))
    await studio.advance(60)
    await carol.slash(town.general, "room join", room=str(made.room_id))

    result = await alice.slash(made.text, "room leave")

    assert answered(result) == "You left **Math grind**; **bob** is its owner now."
    assert [m.content for m in board(made.text)[-2:]] == [
        "**alice** left",
        "**bob** is now the owner",
    ]
    card = made.text.pinned_messages()[0].embeds[0]
    assert next(f.value for f in card.fields if f.name == "Owner") == bob.mention
    assert not can_see(studio, town, alice, made.text)

    # the new owner can use owner commands; the old one no longer can
    refused = await carol.slash(made.text, "room notice", text="mine now")
    assert answered(refused) == "Only the room owner can do that."
    notice = await bob.slash(made.text, "room notice", text="Focus time")
    assert answered(notice) == "The notice of **Math grind** is updated."
    close = await bob.slash(made.text, "room close")
    assert close.response is not None and "Close **Math grind**?" in close.response.content


async def test_the_last_member_leaving_closes_the_room_and_deletes_its_channels(
    studio: Studio,
) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    await bob.slash(town.general, "room join", room=str(made.room_id))
    await bob.slash(town.general, "room leave")

    result = await alice.slash(made.text, "room leave")  # in the channel about to go

    assert result.acknowledged
    assert not exists(studio, made.text.id) and not exists(studio, made.voice.id)
    view = await studio.bot.services.rooms.get(made.room_id)
    assert view.room.status == "closed" and view.members == ()
    listed = await bob.slash(town.general, "room list")
    assert "There are no open study rooms yet" in answered(listed)


async def test_the_last_member_leaving_from_elsewhere_is_told(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    made = await make_room(studio, town, alice)

    result = await alice.slash(town.general, "room leave")

    assert answered(result) == (
        "You left **Math grind**. You were the last member, so the room is closed."
    )
    assert not exists(studio, made.text.id) and not exists(studio, made.voice.id)

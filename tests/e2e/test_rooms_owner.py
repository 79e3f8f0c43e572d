"""Owner commands: ``/room notice`` and ``/room close`` (with its confirmation, which still
answers after a restart and says when it expired), and every way a room closes ending with
its channels deleted."""

from __future__ import annotations

from tests.support.rooms import (
    answered,
    board,
    can_see,
    exists,
    make_room,
    pings_nobody,
)
from tests.support.studio import Studio


async def test_the_owner_sets_the_notice_card_and_board_follow(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice, notice="old")
    await bob.slash(town.general, "room join", room=str(made.room_id))

    result = await alice.slash(made.text, "room notice", text="Cameras on, mics off")

    assert answered(result) == "The notice of **Math grind** is updated."
    assert made.text.pinned_messages()[0].embeds[0].description == "Cameras on, mics off"
    assert (
        board(made.text)[-1].content == "📌 **alice** updated the notice:\n> Cameras on, mics off"
    )


async def test_notice_is_owner_only_and_length_checked(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice, notice="keep me")
    await bob.slash(town.general, "room join", room=str(made.room_id))
    lines = len(board(made.text))

    by_member = await bob.slash(made.text, "room notice", text="mine")
    too_long = await alice.slash(made.text, "room notice", text="n" * 501)
    huge = await alice.slash(town.general, "room notice", text="@everyone " * 250)

    assert answered(by_member) == "Only the room owner can do that."
    assert answered(too_long) == "The notice is too long: 501 characters, at most 500."
    assert answered(huge) == "The notice is too long: 2499 characters, at most 500."
    assert huge.response is not None
    pings_nobody(studio, huge.response.message)
    assert made.text.pinned_messages()[0].embeds[0].description == "keep me"
    assert len(board(made.text)) == lines


async def test_a_notice_full_of_mentions_pings_nobody(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    role = town.guild.create_role("Students", mentionable=True)
    made = await make_room(studio, town, alice)
    await bob.slash(town.general, "room join", room=str(made.room_id))
    text = f"@everyone @here {role.mention} {bob.mention} read **ch. 4**"

    await alice.slash(made.text, "room notice", text=text)

    line = board(made.text)[-1]
    assert line.content.endswith(f"> {text}")  # shown as typed
    pings_nobody(studio, line)
    for message in made.text.history():
        pings_nobody(studio, message)


async def test_close_asks_first_and_cancel_changes_nothing(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    await bob.slash(town.general, "room join", room=str(made.room_id))

    asked = await alice.slash(town.general, "room close", room=str(made.room_id))

    assert asked.ephemeral and asked.response is not None
    assert asked.response.content == (
        "Close **Math grind**? Its channels are deleted for everyone and this cannot be undone."
    )
    cancelled = await alice.click(asked.response, label="Cancel")
    assert cancelled.acknowledged
    assert asked.response.content == "Nothing changed: **Math grind** stays open."
    assert asked.response.components == []
    assert exists(studio, made.text.id) and exists(studio, made.voice.id)
    assert can_see(studio, town, bob, made.text)
    view = await studio.bot.services.rooms.get(made.room_id)
    assert view.room.status == "open"


async def test_close_confirmed_deletes_the_channels(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    await bob.slash(town.general, "room join", room=str(made.room_id))

    asked = await alice.slash(town.general, "room close")
    assert asked.response is not None
    confirmed = await alice.click(asked.response, label="Confirm")

    assert confirmed.acknowledged
    assert asked.response.content == "**Math grind** is closed."
    assert not exists(studio, made.text.id) and not exists(studio, made.voice.id)
    view = await studio.bot.services.rooms.get(made.room_id)
    assert view.room.status == "closed"
    listed = await bob.slash(town.general, "room list")
    assert "There are no open study rooms yet" in answered(listed)


async def test_close_confirmed_inside_the_room_channel(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    made = await make_room(studio, town, alice)

    asked = await alice.slash(made.text, "room close")
    assert asked.response is not None
    confirmed = await alice.click(asked.response, label="Confirm")

    assert confirmed.acknowledged
    assert not exists(studio, made.text.id) and not exists(studio, made.voice.id)


async def test_close_left_unanswered_times_out_harmlessly(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    made = await make_room(studio, town, alice)

    asked = await alice.slash(town.general, "room close")
    await studio.env.advance_time(61)
    await studio.env.settle()

    assert asked.response is not None
    assert (
        asked.response.content == "No answer in time. Nothing changed: **Math grind** stays open."
    )
    assert asked.response.components == []
    assert exists(studio, made.text.id)
    view = await studio.bot.services.rooms.get(made.room_id)
    assert view.room.status == "open"


async def test_close_is_owner_only(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    await bob.slash(town.general, "room join", room=str(made.room_id))

    result = await bob.slash(made.text, "room close")

    assert answered(result) == "Only the room owner can do that."
    assert exists(studio, made.text.id)


async def test_confirming_after_ownership_moved_is_refused(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    await bob.slash(town.general, "room join", room=str(made.room_id))
    asked = await alice.slash(town.general, "room close", room=str(made.room_id))
    await alice.slash(town.general, "room leave", room=str(made.room_id))

    assert asked.response is not None
    await alice.click(asked.response, label="Confirm")

    assert asked.response.content == "Only the room owner can do that."
    assert exists(studio, made.text.id)
    view = await studio.bot.services.rooms.get(made.room_id)
    assert view.room.status == "open" and view.room.owner_id == bob.id


async def test_a_run_nobody_extends_closes_the_room_and_its_channels(studio: Studio) -> None:
    """The third way a room closes: its run finished and nobody pressed Extend in time."""
    town = studio.guild("alice")
    alice = town.members[0]
    made = await make_room(studio, town, alice, study=1, brk=1, terms=1)
    services = studio.bot.services

    started = await alice.slash(made.text, "timer start")
    assert started.acknowledged
    settings = services.settings
    await studio.advance(60 + settings.alarm_grace_seconds + settings.extend_vote_seconds + 60)

    view = await services.rooms.get(made.room_id)
    assert view.room.status == "closed"
    assert not exists(studio, made.text.id) and not exists(studio, made.voice.id)


async def test_after_a_restart_rooms_still_open_to_joiners_and_close_cleanly(
    studio: Studio,
) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)

    await studio.restart()

    joined = await bob.slash(town.general, "room join", room=str(made.room_id))
    assert "You joined" in answered(joined)
    assert can_see(studio, town, bob, made.voice)
    asked = await bob.slash(made.text, "room close")
    assert answered(asked) == "Only the room owner can do that."
    asked = await alice.slash(made.text, "room close")
    assert asked.response is not None
    await alice.click(asked.response, label="Confirm")
    assert not exists(studio, made.text.id) and not exists(studio, made.voice.id)


async def test_a_close_prompt_from_before_a_restart_still_closes(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice)
    await bob.slash(town.general, "room join", room=str(made.room_id))
    asked = await alice.slash(town.general, "room close")
    assert asked.response is not None

    await studio.restart()
    confirmed = await alice.click(asked.response, label="Confirm")

    assert confirmed.acknowledged
    assert asked.response.content == "**Math grind** is closed."
    assert asked.response.components == []
    assert not exists(studio, made.text.id) and not exists(studio, made.voice.id)
    view = await studio.bot.services.rooms.get(made.room_id)
    assert view.room.status == "closed"


async def test_cancel_on_a_prompt_from_before_a_restart_changes_nothing(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    made = await make_room(studio, town, alice)
    asked = await alice.slash(town.general, "room close")
    assert asked.response is not None

    await studio.restart()
    cancelled = await alice.click(asked.response, label="Cancel")

    assert cancelled.acknowledged
    assert asked.response.content == "Nothing changed: **Math grind** stays open."
    assert exists(studio, made.text.id)
    view = await studio.bot.services.rooms.get(made.room_id)
    assert view.room.status == "open"


async def test_an_expired_close_prompt_says_so_and_changes_nothing(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    made = await make_room(studio, town, alice)
    asked = await alice.slash(town.general, "room close")
    assert asked.response is not None

    await studio.restart()  # the prompt's buttons outlive the process that would expire them
    await studio.advance(61)
    late = await alice.click(asked.response, label="Confirm")

    assert late.acknowledged
    assert asked.response.content == "This prompt expired; run `/room close` again."
    assert asked.response.components == []
    assert exists(studio, made.text.id) and exists(studio, made.voice.id)
    view = await studio.bot.services.rooms.get(made.room_id)
    assert view.room.status == "open"
    again = await alice.slash(town.general, "room close")  # asking again works
    assert again.response is not None
    await alice.click(again.response, label="Confirm")
    assert again.response.content == "**Math grind** is closed."

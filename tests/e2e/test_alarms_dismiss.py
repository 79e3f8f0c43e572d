"""Dismissing an alarm, by its button or the ⏰ reaction, as members see it."""

from __future__ import annotations

import discord
from simcord.actors import MemberActor

from tests.support.studio import Studio
from tests.support.timer import (
    ALARM,
    FOLD_S,
    MINUTE,
    StudyRoom,
    bot_calls,
    confirmation,
    open_room,
    requests_since,
)


async def ringing(studio: Studio, *names: str) -> StudyRoom:
    """A room of ``names`` (the first owns it) whose alarm #1 just rang."""
    town = studio.guild(*names)
    owner, *others = town.members
    room = await open_room(studio, town, owner, *others)
    await owner.slash(room.channel, "timer start")
    await studio.advance(50 * MINUTE)
    assert len(room.alarms()) == 1
    return room


def dismissal_lines(room: StudyRoom) -> list[str]:
    """Dismissals posted as channel messages: there must never be any (the alarm shows them)."""
    return [line for line in room.lines() if "dismissed alarm" in line]


async def admin(room: StudyRoom, studio: Studio) -> MemberActor:
    """Someone who can see every channel without being in the room."""
    role = room.town.guild.create_role(
        "Admins", permissions=discord.Permissions(administrator=True)
    )
    return room.town.guild.add_member(studio.env.create_user("mod"), roles=[role])


async def test_dismiss_button_updates_the_alarm_and_confirms_privately(studio: Studio) -> None:
    room = await ringing(studio, "alice", "bob")
    bob = room.members[1]
    await studio.advance(10)
    mark = len(studio.env.http_requests)
    clicked = await bob.click(room.alarm(1), label="Dismiss")
    assert confirmation(clicked).content == "Alarm #1 dismissed, on time. ✅"
    assert room.dismissed(1) == ["**bob** dismissed alarm #1"]
    assert dismissal_lines(room) == []  # nothing posted in the channel
    # the click cost no call against the global limit: its response and followup only
    assert [c for c in bot_calls(requests_since(studio, mark)) if "/channels/" in c] == []
    # the alarm keeps its text and its button
    assert room.alarm(1).content.startswith("⏰ **Alarm #1**")
    assert room.alarm(1).components


async def test_second_click_says_already_and_changes_nothing(studio: Studio) -> None:
    room = await ringing(studio, "alice", "bob")
    bob = room.members[1]
    await bob.click(room.alarm(1), label="Dismiss")
    mark = len(room.lines())
    again = await bob.click(room.alarm(1), label="Dismiss")
    assert again.ephemeral and again.response is not None
    assert again.response.content == "You already dismissed alarm #1."
    assert len(room.lines()) == mark
    # a reaction after the click changes nothing either
    await bob.react(room.alarm(1), ALARM)
    await studio.advance(FOLD_S)
    assert room.dismissed(1) == ["**bob** dismissed alarm #1"]


async def test_a_full_room_clicking_in_one_second_is_all_shown(studio: Studio) -> None:
    names = ["alice", *(f"m{i:02d}" for i in range(1, 25))]
    room = await ringing(studio, *names)
    mark = len(studio.env.http_requests)
    for member in room.members:  # SimCord runs one click at a time, all in the same second
        clicked = await member.click(room.alarm(1), label="Dismiss")
        assert confirmation(clicked).content == "Alarm #1 dismissed, on time. ✅"
    assert room.dismissed(1) == [f"**{n}** dismissed alarm #1" for n in names]
    assert dismissal_lines(room) == []
    # 25 dismissals, no call against the global limit
    assert [c for c in bot_calls(requests_since(studio, mark)) if "/channels/" in c] == []


async def test_reaction_dismisses_once_and_reactions_fold_into_one_edit(studio: Studio) -> None:
    room = await ringing(studio, "alice", "bob", "carol")
    alice, bob, carol = room.members
    mark = len(studio.env.http_requests)
    await bob.react(room.alarm(1), ALARM)
    await carol.react(room.alarm(1), ALARM)
    assert room.dismissed(1) == []  # shown within a few seconds, in one edit
    await studio.advance(FOLD_S)
    assert room.dismissed(1) == ["**bob** dismissed alarm #1", "**carol** dismissed alarm #1"]
    alarm_edit = f"PATCH /channels/{room.channel.id}/messages/{room.alarm(1).id}"
    assert bot_calls(requests_since(studio, mark)).count(alarm_edit) == 1
    await bob.unreact(room.alarm(1), ALARM)
    await bob.react(room.alarm(1), ALARM)
    await studio.advance(FOLD_S)
    assert room.dismissed(1) == ["**bob** dismissed alarm #1", "**carol** dismissed alarm #1"]
    assert bot_calls(requests_since(studio, mark)).count(alarm_edit) == 1  # nothing new
    # the click after a reaction is "already"
    again = await bob.click(room.alarm(1), label="Dismiss")
    assert again.response is not None
    assert again.response.content == "You already dismissed alarm #1."
    # other emoji do nothing; the bot's own ⏰ counted for nobody
    await alice.react(room.alarm(1), "👍")
    await studio.advance(FOLD_S)
    assert len(room.dismissed(1)) == 2
    assert dismissal_lines(room) == []
    view = await studio.bot.services.timers.status_of(room.key)
    assert view is not None
    dismissals = await studio.bot.services.store.get_dismissals(room.key, view.run_id)
    assert set(dismissals) == {(1, bob.id), (1, carol.id)}


async def test_late_dismissal_is_marked(studio: Studio) -> None:
    room = await ringing(studio, "alice", "bob", "carol")
    _, bob, carol = room.members
    await studio.advance(61)
    late = await bob.click(room.alarm(1), label="Dismiss")
    assert confirmation(late).content == (
        "Alarm #1 dismissed, but after the 60-second window, so it does not count as on time."
    )
    await carol.react(room.alarm(1), ALARM)
    await studio.advance(FOLD_S)
    assert room.dismissed(1) == [
        "**bob** dismissed alarm #1 (late)",
        "**carol** dismissed alarm #1 (late)",
    ]


async def test_someone_outside_the_room_is_refused(studio: Studio) -> None:
    room = await ringing(studio, "alice", "bob")
    mod = await admin(room, studio)
    refused = await mod.click(room.alarm(1), label="Dismiss")
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content == "You are not a member of this room."
    await mod.react(room.alarm(1), ALARM)  # a reaction cannot be answered: it is ignored
    await studio.advance(FOLD_S)
    assert room.dismissed(1) == []


async def test_an_alarm_from_before_joining_is_not_theirs(studio: Studio) -> None:
    room = await ringing(studio, "alice", "bob")
    carol = room.town.guild.add_member(studio.env.create_user("carol"))
    await studio.advance(5)
    await carol.slash(room.town.general, "room join", room=str(room.room_id))
    late_comer = await carol.click(room.alarm(1), label="Dismiss")
    assert late_comer.ephemeral and late_comer.response is not None
    assert late_comer.response.content == "That alarm rang before you joined."
    assert room.dismissed(1) == []


async def test_buttons_of_an_old_run_say_so(studio: Studio) -> None:
    room = await ringing(studio, "alice", "bob")
    alice, bob = room.members
    old = room.alarm(1)
    await alice.slash(room.channel, "timer stop")
    over = await bob.click(old, label="Dismiss")
    assert over.ephemeral and over.response is not None
    assert over.response.content == "That run is over."
    await alice.slash(room.channel, "timer start")
    still_over = await bob.click(old, label="Dismiss")
    assert still_over.response is not None
    assert still_over.response.content == "That run is over."
    assert dismissal_lines(room) == []


async def test_names_are_escaped_and_ping_nobody(studio: Studio) -> None:
    town = studio.guild("alice", "**@everyone**")
    alice, prankster = town.members
    room = await open_room(studio, town, alice, prankster)
    await alice.slash(room.channel, "timer start")
    await studio.advance(50 * MINUTE)
    await prankster.click(room.alarm(1), label="Dismiss")
    assert room.dismissed(1) == ["**\\*\\*@everyone\\*\\*** dismissed alarm #1"]
    assert not room.alarm(1).mention_everyone

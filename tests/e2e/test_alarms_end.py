"""The end of a run: Today's Study King(s), the day's rating, Extend, and the room closing."""

from __future__ import annotations

from datetime import date

import discord

from tests.support.studio import Studio
from tests.support.timer import MINUTE, balance, clock, finished, relative


def button_labels(message: discord.Message) -> list[str | None]:
    """The labels of the message's buttons, row by row."""
    labels: list[str | None] = []
    for row in message.components:
        assert isinstance(row, discord.ActionRow)
        for child in row.children:
            assert isinstance(child, discord.Button)
            labels.append(child.label)
    return labels


async def test_kings_are_announced_with_their_refunds(studio: Studio) -> None:
    room = await finished(studio, "alice", "bob")
    end = room.end_message()
    closes = (studio.now_ms() + 5 * MINUTE * 1000) // 1000
    assert end.content.splitlines() == [
        "🏁 **The run is over!**",
        "👑 Today's Study Kings: **alice** (+100 points back), **bob** (+50 points back)",
        "How was today? Rate it from 1 to 5 below; it goes on your calendar.",
        "Press **Extend** to keep this room for another run with the same pattern. "
        f"Without an extension the room closes <t:{closes}:R>.",
    ]
    labels = button_labels(end)
    assert labels == ["1", "2", "3", "4", "5", "Extend"]
    assert await balance(room.members[0], room.town) == "Balance: **1000** points"
    assert await balance(room.members[1], room.town) == "Balance: **1000** points"


async def test_nobody_made_it(studio: Studio) -> None:
    room = await finished(studio, "alice", "bob", dismiss=False)
    assert (
        "Nobody dismissed every alarm on time, so there is no Study King today."
        in room.end_message().content
    )
    assert await balance(room.members[0], room.town) == "Balance: **900** points"


async def test_rating_buttons_record_todays_rating(studio: Studio) -> None:
    room = await finished(studio, "alice", "bob")
    alice, bob = room.members
    rated = await bob.click(room.end_message(), label="4")
    assert rated.ephemeral and rated.response is not None
    assert rated.response.content == (
        "Saved: you rated 2026-01-01 ★★★★☆ (4/5). See it with `/calendar`."
    )
    changed = await bob.click(room.end_message(), label="2")
    assert changed.response is not None and "(2/5)" in changed.response.content
    await alice.click(room.end_message(), label="5")
    async with studio.bot.services.uow() as uow:
        bob_rating = await uow.ratings.get(room.town.guild.id, bob.id, date(2026, 1, 1))
        alice_rating = await uow.ratings.get(room.town.guild.id, alice.id, date(2026, 1, 1))
    assert bob_rating is not None and bob_rating.score == 2
    assert alice_rating is not None and alice_rating.score == 5
    # nothing public was said about ratings
    assert not any("rated" in line for line in room.lines())


async def test_extend_starts_another_run(studio: Studio) -> None:
    room = await finished(studio, "alice", "bob")
    alice, bob = room.members
    await studio.advance(MINUTE)
    extended_at = studio.now_ms()
    extended = await bob.click(room.end_message(), label="Extend")
    assert not extended.ephemeral and extended.response is not None
    assert extended.response.content == (
        "🔁 **bob** extended the room: another run of 1 × 5 min of study with 10-minute breaks "
        f"starts now. Study period 1 of 1 ends <t:{(extended_at + 5 * MINUTE * 1000) // 1000}:R>."
    )
    ends = extended_at + 300_000
    assert room.timer_field() == (
        f"Runs {clock(extended_at)} → {clock(ends)}; last alarm {relative(ends)}."
    )
    assert room.schedule() == [
        f"📖 Study 1/1 · {clock(extended_at)} → {clock(ends)} ({relative(ends)})"
    ]
    # the vote is over: the room stays past the old deadline, and the new run rings
    await studio.advance(5 * MINUTE)
    assert room.exists()
    assert len(room.alarms()) == 2
    # the old run's buttons answer clearly
    again = await alice.click(room.end_messages()[0], label="Extend")
    assert again.ephemeral and again.response is not None
    assert again.response.content == "That run is over."
    # the new run pays refunds again only to who paid for this room: nobody paid twice
    await alice.click(room.alarms()[-1], label="Dismiss")  # the new run's alarm #1
    await studio.advance(MINUTE)
    assert len(room.end_messages()) == 2
    assert await balance(alice, room.town) == "Balance: **1000** points"


async def test_extend_is_for_members(studio: Studio) -> None:
    room = await finished(studio, "alice", "bob")
    role = room.town.guild.create_role(
        "Admins", permissions=discord.Permissions(administrator=True)
    )
    mod = room.town.guild.add_member(studio.env.create_user("mod"), roles=[role])
    refused = await mod.click(room.end_message(), label="Extend")
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content == "You are not a member of this room."
    assert (await studio.bot.services.timers.status_of(room.key)) is not None
    assert "Finished" in room.timer_field()


async def test_no_extension_closes_the_room(studio: Studio) -> None:
    room = await finished(studio, "alice", "bob")
    await studio.advance(5 * MINUTE - 1)
    assert room.exists()
    await studio.advance(1)
    assert not room.exists()
    assert await studio.bot.services.rooms.rooms_of(room.town.guild.id, room.owner.id) == []


async def test_starting_anew_during_the_vote_retires_the_extend_button(studio: Studio) -> None:
    room = await finished(studio, "alice", "bob")
    end = room.end_message()
    started = await room.owner.slash(room.channel, "timer start")
    assert started.response is not None and "started the timer" in started.response.content
    refused = await room.members[1].click(end, label="Extend")
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content == "That run is over."
    # the room is not closed when the old vote's deadline passes
    await studio.advance(5 * MINUTE)
    assert room.exists()


async def test_a_full_room_of_kings_still_gets_its_announcement(studio: Studio) -> None:
    # 25 members whose 32-character names are all markdown characters: escaped, every king's
    # entry is about 90 characters, more than Discord's 2000 in all
    names = [f"{i:02d}" + "_" * 30 for i in range(25)]
    room = await finished(studio, *names)
    end = room.end_message()
    assert len(end.content) <= 2000
    lines = end.content.splitlines()
    assert lines[0] == "🏁 **The run is over!**"
    assert lines[1].startswith("👑 Today's Study Kings: **00\\_")
    assert lines[-1].startswith("Press **Extend**")
    labels = button_labels(end)
    assert labels == ["1", "2", "3", "4", "5", "Extend"]

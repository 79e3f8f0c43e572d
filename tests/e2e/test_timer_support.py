"""The shared arrangement itself works: a room made by commands has its channel and members."""

from __future__ import annotations

from tests.support.studio import Studio
from tests.support.timer import open_room


async def test_a_room_made_by_commands_has_its_channel_and_members(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob)
    view = await studio.bot.services.rooms.get(room.room_id)
    assert {m.user_id for m in view.members} == {alice.id, bob.id}
    assert "Not started" in room.timer_field()

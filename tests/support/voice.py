"""Rooms for the voice and study-time end-to-end tests: made by ``/room create`` and
``/room join``, with the handles of their two channels."""

from __future__ import annotations

from dataclasses import dataclass

from simcord.actors import MemberActor
from simcord.builders import ChannelHandle

from tests.support.rooms import create
from tests.support.studio import Studio, Town

MINUTE = 60


@dataclass
class RoomHandles:
    room_id: int
    text: ChannelHandle
    voice: ChannelHandle


async def open_room(
    studio: Studio,
    town: Town,
    owner: MemberActor,
    *members: MemberActor,
    title: str = "Deep work",
    study: int = 50,
    brk: int = 10,
    terms: int = 2,
) -> RoomHandles:
    """``/room create`` by ``owner`` and ``/room join`` by each of ``members``."""
    created = await create(owner, town.general, title, study, brk, terms)
    assert created.ephemeral, created
    room = (await studio.bot.services.rooms.list_open(town.guild.id, query=title))[0].room
    for member in members:
        joined = await member.slash(town.general, "room join", room=str(room.id))
        assert joined.acknowledged
    channels = {c.id: c for c in town.guild.channels.values()}
    assert room.text_channel_id is not None and room.voice_channel_id is not None
    return RoomHandles(room.id, channels[room.text_channel_id], channels[room.voice_channel_id])


async def start_timer(owner: MemberActor, room: RoomHandles) -> None:
    started = await owner.slash(room.text, "timer start")
    assert started.acknowledged

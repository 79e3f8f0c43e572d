"""Study time from voice, as members live it: sitting in a room's voice channel while the
room's timer runs counts during study phases only, and a restart loses nothing."""

from __future__ import annotations

from dataclasses import dataclass

from simcord.actors import MemberActor
from simcord.builders import ChannelHandle

from bot.domain.timer import MINUTE_MS
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
    created = await owner.slash(
        town.general, "room create", title=title, study=study, terms=terms, **{"break": brk}
    )
    assert created.ephemeral, created
    async with studio.bot.services.uow() as uow:
        rooms = await uow.rooms.list_open(town.guild.id, query=title)
    room = rooms[0]
    for member in members:
        joined = await member.slash(town.general, "room join", room=str(room.id))
        assert joined.acknowledged
    channels = {c.id: c for c in town.guild.channels.values()}
    assert room.text_channel_id is not None and room.voice_channel_id is not None
    return RoomHandles(room.id, channels[room.text_channel_id], channels[room.voice_channel_id])


async def start_timer(owner: MemberActor, room: RoomHandles) -> None:
    started = await owner.slash(room.text, "timer start")
    assert started.acknowledged


async def studied_ms(studio: Studio, town: Town, member: MemberActor) -> int:
    """What is written for the member (rows in SQL), all time."""
    async with studio.bot.services.uow() as uow:
        return await uow.study.total_ms(town.guild.id, member.id, 0, 2**53)


async def test_time_in_voice_during_study_counts(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob)
    await start_timer(alice, room)
    await studio.advance(5 * MINUTE)
    await bob.join_voice(room.voice)
    await studio.advance(20 * MINUTE)
    await bob.leave_voice()
    assert await studied_ms(studio, town, bob) == 20 * MINUTE_MS
    assert await studied_ms(studio, town, alice) == 0  # never in voice


async def test_a_break_counts_nothing_until_study_starts(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, study=50, brk=10, terms=2)
    await start_timer(alice, room)
    await studio.advance(52 * MINUTE)  # study 1 ended at 50: the break
    await bob.join_voice(room.voice)
    await studio.advance(5 * MINUTE)
    assert await studied_ms(studio, town, bob) == 0
    await studio.advance(10 * MINUTE)  # study 2 started at 60; now 67
    assert await studied_ms(studio, town, bob) == 0  # still open, nothing written yet
    await bob.leave_voice()
    assert await studied_ms(studio, town, bob) == 7 * MINUTE_MS


async def test_voice_outside_rooms_and_idle_rooms_count_nothing(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    lounge = town.guild.create_voice_channel("lounge")
    room = await open_room(studio, town, alice, bob)
    await bob.join_voice(lounge)
    await studio.advance(10 * MINUTE)
    await bob.join_voice(room.voice)  # moves in; the timer is not running
    await studio.advance(10 * MINUTE)
    await start_timer(alice, room)
    await studio.advance(10 * MINUTE)
    await bob.join_voice(lounge)  # moves out of the room
    await studio.advance(10 * MINUTE)
    await bob.leave_voice()
    assert await studied_ms(studio, town, bob) == 10 * MINUTE_MS


async def test_the_boundary_writes_study_time_while_members_stay(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, study=25, brk=5, terms=2)
    await bob.join_voice(room.voice)
    await start_timer(alice, room)
    await studio.advance(40 * MINUTE)  # study 1 (25) written at its alarm; study 2 is on
    assert await studied_ms(studio, town, bob) == 25 * MINUTE_MS
    await studio.advance(30 * MINUTE)  # the run ended at 55
    assert await studied_ms(studio, town, bob) == 50 * MINUTE_MS
    await bob.leave_voice()
    assert await studied_ms(studio, town, bob) == 50 * MINUTE_MS


async def test_stopping_the_timer_stops_the_count(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob)
    await bob.join_voice(room.voice)
    await start_timer(alice, room)
    await studio.advance(12 * MINUTE)
    stopped = await alice.slash(room.text, "timer stop")
    assert stopped.acknowledged
    await studio.advance(20 * MINUTE)
    await bob.leave_voice()
    assert await studied_ms(studio, town, bob) == 12 * MINUTE_MS


async def test_a_restart_mid_session_loses_nothing(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob)
    await start_timer(alice, room)
    await bob.join_voice(room.voice)
    await alice.join_voice(room.voice)
    await studio.advance(10 * MINUTE)
    await studio.restart()
    await studio.advance(15 * MINUTE)
    await bob.leave_voice()
    await alice.leave_voice()
    assert await studied_ms(studio, town, bob) == 25 * MINUTE_MS
    assert await studied_ms(studio, town, alice) == 25 * MINUTE_MS

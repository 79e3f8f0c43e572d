"""Study time from voice, as members live it: sitting in a room's voice channel while the
room's timer runs counts during study phases only, and a restart loses nothing."""

from __future__ import annotations

from simcord.actors import MemberActor

from bot.domain.timer import MINUTE_MS
from tests.support.studio import Studio, Town
from tests.support.voice import MINUTE, open_room, start_timer


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

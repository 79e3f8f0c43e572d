"""Focus rooms as members live them: nobody can speak in the room's voice channel while the
room studies, and everyone can in breaks, while paused and between runs — set with one
overwrite on the voice channel for @everyone, so one call a boundary whatever the room's
size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord
from simcord.types import HttpLogEntry

from tests.support.rooms import answered, channel_ids, counts, create, make_room, take_from_bot
from tests.support.studio import Studio, Town, speak_korean
from tests.support.timer import MINUTE, StudyRoom, open_room, requests_since

SPEAK = discord.Permissions(speak=True).value


async def voice_of(studio: Studio, room: StudyRoom) -> int:
    voice = (await studio.bot.services.rooms.get(room.room_id)).room.voice_channel_id
    assert voice is not None
    return voice


def take_speak(studio: Studio, town: Town) -> None:
    """The bot loses Speak: from its role and from @everyone (which holds it by default)."""
    take_from_bot(studio, town, SPEAK)
    everyone = studio.env.backend.guilds[town.guild.id].roles[town.guild.id]
    studio.env.backend.edit_role(
        town.guild.id, town.guild.id, {"permissions": everyone.permissions & ~SPEAK}
    )


def can_speak(studio: Studio, town: Town, user_id: int, channel_id: int) -> bool:
    return bool(studio.env.backend.compute_permissions(town.guild.id, user_id, channel_id) & SPEAK)


def focus_calls(entries: list[HttpLogEntry], town: Town, voice_id: int) -> list[HttpLogEntry]:
    """The calls that set the voice channel's @everyone overwrite."""
    path = f"/channels/{voice_id}/permissions/{town.guild.id}"
    return [e for e in entries if e.method == "PUT" and e.path == path]


def everyone_speak(studio: Studio, town: Town, voice_id: int) -> str:
    """What the voice channel's @everyone overwrite says of Speak: allow, deny or neutral."""
    [everyone] = [
        o for o in studio.env.backend.channels[voice_id].overwrites if o.target_id == town.guild.id
    ]
    if everyone.deny & SPEAK:
        return "deny"
    return "allow" if everyone.allow & SPEAK else "neutral"


async def test_study_phases_mute_everyone_with_one_call_a_boundary(studio: Studio) -> None:
    town = studio.guild("alice", "bob", "carol", "dave")
    alice, *others = town.members
    room = await open_room(studio, town, alice, *others, study=25, brk=5, terms=2, focus=True)
    voice = await voice_of(studio, room)
    [channel] = [c for c in town.guild.channels.values() if c.id == voice]
    for member in room.members:
        await member.join_voice(channel)
    members = [m.id for m in room.members]
    assert all(can_speak(studio, town, m, voice) for m in members)  # not started: free

    mark = len(studio.env.http_requests)
    await alice.slash(room.channel, "timer start")
    await studio.env.settle()
    assert everyone_speak(studio, town, voice) == "deny"
    assert not any(can_speak(studio, town, m, voice) for m in members)
    assert len(focus_calls(requests_since(studio, mark), town, voice)) == 1

    mark = len(studio.env.http_requests)
    await studio.advance(26 * MINUTE)  # the break
    assert everyone_speak(studio, town, voice) == "allow"
    assert all(can_speak(studio, town, m, voice) for m in members)
    assert len(focus_calls(requests_since(studio, mark), town, voice)) == 1

    mark = len(studio.env.http_requests)
    await studio.advance(5 * MINUTE)  # study 2
    assert not any(can_speak(studio, town, m, voice) for m in members)
    assert len(focus_calls(requests_since(studio, mark), town, voice)) == 1

    mark = len(studio.env.http_requests)
    await studio.advance(26 * MINUTE)  # the run ended at 55, its results after the grace
    assert len(room.end_messages()) == 1
    assert everyone_speak(studio, town, voice) == "allow"
    assert all(can_speak(studio, town, m, voice) for m in members)
    assert len(focus_calls(requests_since(studio, mark), town, voice)) == 1
    # still hidden from everyone else
    [everyone] = [
        o for o in studio.env.backend.channels[voice].overwrites if o.target_id == town.guild.id
    ]
    assert everyone.deny & discord.Permissions(view_channel=True, connect=True).value


async def test_pause_and_stop_let_the_room_talk(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, study=25, brk=5, terms=2, focus=True)
    voice = await voice_of(studio, room)
    await alice.slash(room.channel, "timer start")
    await studio.advance(MINUTE)
    assert not can_speak(studio, town, bob.id, voice)
    await alice.slash(room.channel, "timer pause")
    await studio.env.settle()
    assert can_speak(studio, town, bob.id, voice)
    await alice.slash(room.channel, "timer resume")
    await studio.env.settle()
    assert not can_speak(studio, town, bob.id, voice)
    mark = len(studio.env.http_requests)
    await alice.slash(room.channel, "timer stop")
    await studio.env.settle()
    assert can_speak(studio, town, bob.id, voice)
    assert len(focus_calls(requests_since(studio, mark), town, voice)) == 1


async def test_a_room_without_focus_makes_no_such_call(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, study=25, brk=5, terms=2)
    voice = await voice_of(studio, room)
    mark = len(studio.env.http_requests)
    await alice.slash(room.channel, "timer start")
    await studio.advance(57 * MINUTE)
    assert len(room.end_messages()) == 1
    entries = requests_since(studio, mark)
    assert [e for e in entries if "/permissions/" in e.path] == []
    assert can_speak(studio, town, bob.id, voice)
    assert {f.name: f.value for f in room.card().fields}["Focus"] == "Off"


async def test_the_card_and_room_info_show_focus(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(studio, town, alice, "Quiet hours", focus=True)
    card = made.text.pinned_messages()[0].embeds[0]
    on = "On: no speaking in voice during study"
    assert {f.name: f.value for f in card.fields}["Focus"] == on
    shown = await bob.slash(town.general, "room info", room=str(made.room_id))
    assert shown.response is not None
    assert {f.name: f.value for f in shown.response.embeds[0].fields}["Focus"] == on
    room = (await studio.bot.services.rooms.get(made.room_id)).room
    assert room.focus is True


async def test_the_server_default_applies_when_the_option_is_left_out(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    await studio.bot.services.guild_settings.set(town.guild.id, "rooms.focus", "on", alice.id)
    on = await make_room(studio, town, alice, "Default on")
    off = await make_room(studio, town, alice, "Asked off", focus=False)
    rooms = studio.bot.services.rooms
    assert (await rooms.get(on.room_id)).room.focus is True
    assert (await rooms.get(off.room_id)).room.focus is False


async def test_no_speak_permission_is_named_and_nothing_is_made(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    take_speak(studio, town)
    await studio.env.settle()
    before_channels, before_rows = channel_ids(town), await counts(studio)

    result = await create(alice, town.general, focus=True)

    assert "I need the **Speak** permission" in answered(result)
    assert channel_ids(town) == before_channels
    assert await counts(studio) == before_rows


async def test_focus_in_korean(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    await speak_korean(studio, town, alice)
    made = await make_room(studio, town, bob, "조용한 방", focus=True)
    shown = await alice.slash(town.general, "room info", room=str(made.room_id))
    assert shown.response is not None
    fields = {f.name: f.value for f in shown.response.embeds[0].fields}
    assert fields["집중 모드"] == "켜짐: 공부 시간에는 음성 채널에서 말할 수 없어요"

    take_speak(studio, town)
    await studio.env.settle()
    refused = await create(alice, town.general, "또 다른 방", focus=True)
    assert "**말하기**" in answered(refused)


async def test_a_restart_during_study_keeps_the_room_quiet(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, study=25, brk=5, terms=2, focus=True)
    voice = await voice_of(studio, room)
    await alice.slash(room.channel, "timer start")
    await studio.advance(MINUTE)
    await studio.restart()
    assert not can_speak(studio, town, bob.id, voice)
    await studio.advance(25 * MINUTE)  # the break, after the restart
    assert can_speak(studio, town, bob.id, voice)


async def test_a_member_joining_during_study_cannot_speak_until_the_break(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, study=25, brk=5, terms=2, focus=True)
    voice = await voice_of(studio, room)
    await alice.slash(room.channel, "timer start")
    await studio.advance(MINUTE)
    joined = await bob.slash(town.general, "room join", room=str(room.room_id))
    assert joined.acknowledged
    await studio.env.settle()
    assert not can_speak(studio, town, bob.id, voice)  # his own overwrite leaves Speak alone
    await studio.advance(25 * MINUTE)
    assert can_speak(studio, town, bob.id, voice)


async def test_a_scheduled_start_mutes_the_room_when_it_starts(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, study=25, brk=5, terms=2, focus=True)
    voice = await voice_of(studio, room)
    start = datetime.fromtimestamp(studio.now_ms() / 1000, UTC) + timedelta(hours=1)
    await alice.slash(
        room.channel, "timer start", at=start.strftime("%H:%M"), date=start.date().isoformat()
    )
    assert everyone_speak(studio, town, voice) != "deny"  # scheduled, not started: free
    await studio.advance(3600)
    assert everyone_speak(studio, town, voice) == "deny"
    assert not can_speak(studio, town, bob.id, voice)

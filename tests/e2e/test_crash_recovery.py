"""What a process that died part way through a write left is finished, not lost or doubled
(``bench.crash_points`` kills the bot at every write of a run; these are the defects it
found, each on its own): an alarm or a results post whose message was never recorded is
found and adopted, not posted again; a member the live state lost can still dismiss; a half
made room is undone once it is old enough; an Extend whose run was never stored can be made
again; a room closed in SQL whose live state stayed behind stops waking."""

from __future__ import annotations

import pytest

from bot.domain.rooms import RoomStatus
from bot.domain.run import Run
from bot.domain.timer import MINUTE_MS
from bot.services.posted import PostedMessages
from bot.services.rooms import CREATE_ABANDONED_MS, RoomService
from storage.session.base import RoomKey
from tests.support.faults import Died, fail_once, seconds
from tests.support.studio import Studio
from tests.support.timer import MINUTE, StudyRoom, balance, confirmation, finished, open_room

# under the bot's 5-second retry pause, so a retry due soon is not waited for in real time
pytestmark = pytest.mark.simcord(settle_timeout=0.9)


async def running(studio: Studio, *names: str, study: int = 5, terms: int = 1) -> StudyRoom:
    town = studio.guild(*(names or ("alice", "bob")))
    owner, *joiners = town.members
    room = await open_room(studio, town, owner, *joiners, study=study, brk=5, terms=terms)
    await owner.slash(room.channel, "timer start")
    return room


async def test_an_alarm_posted_but_not_recorded_is_adopted_not_posted_again(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = await running(studio, study=5, terms=2)
    calls = fail_once(monkeypatch, PostedMessages, "record_alarm")
    await studio.advance(5 * MINUTE)  # alarm #1 is posted; recording its message fails
    await seconds(studio, 10)  # the retry finds the post among the channel's latest
    assert len(calls) == 2
    [alarm] = room.alarms()
    assert alarm.content.startswith("⏰ **Alarm #1**")
    clicked = await room.members[1].click(alarm, label="Dismiss")
    assert confirmation(clicked).content == "Alarm #1 dismissed, on time. ✅"


async def test_results_posted_but_not_recorded_are_adopted_not_posted_again(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = await running(studio)
    await studio.advance(5 * MINUTE)
    calls = fail_once(monkeypatch, PostedMessages, "record_results")
    await studio.advance(MINUTE)  # the end is posted; recording it fails
    await seconds(studio, 10)
    assert len(calls) == 2
    assert len(room.end_messages()) == 1


async def test_a_member_the_live_state_lost_can_still_dismiss(studio: Studio) -> None:
    """The join is in SQL but the process died before adding the member to the live state:
    their dismissal is judged from SQL, and they are king."""
    room = await running(studio)
    alice, bob = room.members
    await studio.bot.services.store.remove_member(room.key, bob.id)
    await studio.advance(5 * MINUTE)
    clicked = await bob.click(room.alarm(1), label="Dismiss")
    assert confirmation(clicked).content == "Alarm #1 dismissed, on time. ✅"
    await studio.advance(MINUTE)
    assert "**bob** (+50 points back)" in room.end_message().content
    assert await balance(bob, room.town) == "Balance: **1000** points"
    del alice


async def test_a_room_left_half_made_is_undone_once_old_enough(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process died after making the text channel: the next start undoes the room
    when it is old enough not to be another process's, returning the payment and deleting
    the channel."""
    town = studio.guild("alice")
    [alice] = town.members

    async def died(*_: object) -> int:
        raise Died("the process died")

    # the voice channel is never made, and the process is gone before it can undo anything
    monkeypatch.setattr("cogs.rooms.channels.DiscordRoomChannels.create_voice", died)
    monkeypatch.setattr(RoomService, "undo_create", died)
    await alice.slash(town.general, "room create", title="Half", study=5, terms=1)
    monkeypatch.undo()
    async with studio.bot.services.uow() as uow:
        [half] = await uow.rooms.unfinished_creates(studio.now_ms() + 1)
        text_id = half.text_channel_id
    assert text_id is not None
    await studio.restart()
    await studio.advance(CREATE_ABANDONED_MS / 1000 - 60)
    assert await balance(alice, town) == "Balance: **900** points"  # not yet: too young
    await studio.advance(2 * MINUTE)
    assert await balance(alice, town) == "Balance: **1000** points"
    assert all(c.id != text_id for c in town.guild.channels.values())
    async with studio.bot.services.uow() as uow:
        room = await uow.rooms.get(half.id)
        assert room is not None and room.status == RoomStatus.CLOSED


async def test_an_extend_whose_run_was_never_stored_can_be_made_again(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storing the extended run failed (the process died there): the finished run and its
    vote are still stored, so the member's second click extends the room."""
    room = await finished(studio, "alice", "bob")
    store = studio.bot.services.store
    put_run = store.put_run
    failed: list[Run] = []

    async def dies_storing_run_2(key: RoomKey, run: Run) -> None:
        if run.run_no == 2 and not failed:
            failed.append(run)
            raise Died("put_run")
        await put_run(key, run)

    monkeypatch.setattr(store, "put_run", dies_storing_run_2)
    await room.members[1].click(room.end_message(), label="Extend")
    assert failed
    again = await room.members[1].click(room.end_message(), label="Extend")
    assert again.response is not None
    assert again.response.content.startswith("🔁 **bob** extended the room")
    await studio.advance(5 * MINUTE)
    assert len(room.alarms()) == 2 and room.exists()


async def test_a_room_closed_in_sql_with_its_live_state_left_stops_waking(
    studio: Studio,
) -> None:
    """The room was closed in SQL by a process that died before forgetting its live run:
    when the vote is over the live state is dropped, not woken for ever."""
    room = await finished(studio, "alice", "bob")
    services = studio.bot.services
    async with services.uow() as uow:
        row = await uow.rooms.get_for_update(room.room_id)
        assert row is not None
        await uow.rooms.close(row, studio.now_ms())
        await uow.commit()
    await studio.advance(10 * MINUTE_MS / 1000)
    assert await services.store.get_run(room.key) is None
    assert services.scheduler.scheduled_ms(room.key) is None


async def test_a_channel_made_but_never_recorded_goes_with_its_half_made_room(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process died after Discord made the text channel and before the room recorded
    it: undoing the room finds the channel by its category, name and age, and deletes it.
    A complete room of the same title, made meanwhile, keeps its channels."""
    town = studio.guild("alice", "bob")
    alice, bob = town.members

    async def died(*_: object, **__: object) -> None:
        raise Died("the process died")

    monkeypatch.setattr(RoomService, "_record_channel", died)
    monkeypatch.setattr(RoomService, "undo_create", died)
    await alice.slash(town.general, "room create", title="Half", study=5, terms=1)
    monkeypatch.undo()
    [leaked] = [c for c in town.guild.channels.values() if c.name == "half"]
    await studio.advance(MINUTE)
    kept = await open_room(studio, town, bob, title="Half", study=5, terms=1)
    await studio.restart()
    await studio.advance(CREATE_ABANDONED_MS / 1000 + MINUTE)
    assert await balance(alice, town) == "Balance: **1000** points"
    channels = {c.id for c in town.guild.channels.values()}
    assert leaked.id not in channels
    assert kept.channel_id in channels and kept.exists()

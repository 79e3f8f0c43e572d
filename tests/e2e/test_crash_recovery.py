"""What a process that died part way through a write left is finished, not lost or doubled
(``bench.crash_points`` kills the bot at every write of a run; these are the defects it
found, each on its own): an alarm or a results post whose message was never recorded is
found and adopted, not posted again; a member the live state lost can still dismiss; a half
made room is undone once it is old enough; an Extend whose run was never stored can be made
again, under the same run number; a room closed in SQL whose live state stayed behind stops
waking; a board line owed when the process died is posted after the restart, once."""

from __future__ import annotations

import pytest

from bot.domain.rooms import RoomStatus
from bot.domain.run import Run
from bot.domain.timer import MINUTE_MS
from bot.services.board import BoardLines
from bot.services.posted import PostedMessages
from bot.services.rooms import CREATE_ABANDONED_MS, RoomService
from cogs._board import DiscordBoardPoster
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
    await seconds(studio, 10)  # the retry repeats the post's nonce and gets that message back
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
    # the second click runs under the number the first one took: run 2, not 3
    assert room.alarms()[-1].content.startswith("⏰ **Run 2 · Alarm #1**")
    async with studio.bot.services.uow() as uow:
        assert await uow.runs.last_run_no(room.room_id) == 2


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


def said(room: StudyRoom, line: str) -> int:
    return room.lines().count(line)


async def test_the_lines_of_a_create_and_a_join_are_posted_after_a_crash_right_after_their_commits(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process died after the room opened in SQL, and again after bob's join was
    recorded, each time before the board line was posted: the next start posts both, once
    each, and nothing posts them again later."""
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    fail_once(monkeypatch, BoardLines, "deliver")
    await alice.slash(town.general, "room create", title="Owed", study=5, terms=1)
    monkeypatch.undo()
    [made] = await studio.bot.services.rooms.rooms_of(town.guild.id, alice.id)
    assert made.text_channel_id is not None
    room = StudyRoom(studio, town, made.id, made.text_channel_id, alice, [alice, bob])
    assert room.lines() == []
    fail_once(monkeypatch, BoardLines, "deliver")
    await bob.slash(town.general, "room join", room=str(made.id))
    monkeypatch.undo()
    assert room.lines() == []
    await studio.restart()
    await seconds(studio, 2)
    opened = "**alice** opened this room: **Owed**. Welcome!"
    assert room.lines() == [opened, "**bob** joined"]
    await studio.advance(5 * MINUTE)  # every retry has had its time
    assert said(room, opened) == 1 and said(room, "**bob** joined") == 1
    assert await studio.bot.services.board.owed_count() == 0


async def test_a_ticked_todos_line_is_posted_after_a_crash_right_after_the_tick(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    town = studio.guild("alice")
    [alice] = town.members
    room = await open_room(studio, town, alice, study=5, terms=1)
    await alice.slash(room.channel, "todo add", text="read ch. 4")
    fail_once(monkeypatch, BoardLines, "deliver")
    await alice.slash(room.channel, "todo done", item="read ch. 4")
    monkeypatch.undo()
    line = "**alice** completed *read ch. 4*"
    assert said(room, line) == 0
    await studio.restart()
    await seconds(studio, 2)
    assert said(room, line) == 1
    await studio.advance(5 * MINUTE)
    assert said(room, line) == 1


async def test_a_line_posted_but_not_recorded_is_adopted_not_posted_again(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discord made the join's line and the process died before recording it: the retry
    finds it among the channel's latest and takes it for the line's."""
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, study=5, terms=1)
    post = DiscordBoardPoster.post_line
    calls: list[int] = []

    async def posts_then_dies(self: DiscordBoardPoster, *args: object) -> int | None:
        made = await post(self, *args)  # type: ignore[arg-type]
        calls.append(1)
        if len(calls) == 1:
            raise Died("the process died")
        return made

    monkeypatch.setattr(DiscordBoardPoster, "post_line", posts_then_dies)
    await bob.slash(town.general, "room join", room=str(room.room_id))
    assert said(room, "**bob** joined") == 1
    await seconds(studio, 10)  # the retry, 5 s on
    await studio.advance(5 * MINUTE)
    assert said(room, "**bob** joined") == 1 and len(calls) == 1
    assert await studio.bot.services.board.owed_count() == 0


async def test_an_undone_join_drops_its_line(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discord would not open the channels to bob: the join is taken back, and the board
    never says he joined, neither now nor from a retry."""
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, study=5, terms=1)

    async def refused(*_: object) -> None:
        raise Died("Discord refused")

    monkeypatch.setattr("cogs.rooms.channels.DiscordRoomChannels.grant_access", refused)
    await bob.slash(town.general, "room join", room=str(room.room_id))
    monkeypatch.undo()
    await studio.restart()
    await studio.advance(5 * MINUTE)
    assert said(room, "**bob** joined") == 0
    assert await studio.bot.services.board.owed_count() == 0


async def test_a_line_whose_channel_is_gone_is_dropped(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discord failed the join's line; before the retry the room's channel was deleted:
    the retry drops the line instead of trying for ever."""
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, study=5, terms=1)
    board = studio.bot.services.board
    calls = fail_once(monkeypatch, DiscordBoardPoster, "post_line")
    await bob.slash(town.general, "room join", room=str(room.room_id))
    assert len(calls) == 1 and await board.owed_count() == 1
    await studio.bot.http.delete_channel(room.channel_id)
    await seconds(studio, 10)  # the retry, 5 s on
    assert len(calls) == 2 and await board.owed_count() == 0


async def test_the_lines_of_an_owner_leaving_are_posted_after_a_crash_right_after_the_commit(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, study=5, terms=1)
    fail_once(monkeypatch, BoardLines, "deliver")
    await alice.slash(room.channel, "room leave")
    monkeypatch.undo()
    assert said(room, "**alice** left") == 0
    await studio.restart()
    await seconds(studio, 2)
    await studio.advance(5 * MINUTE)
    owner = "**bob** is now the owner"
    assert said(room, "**alice** left") == 1 and said(room, owner) == 1
    assert room.lines().index("**alice** left") < room.lines().index(owner)

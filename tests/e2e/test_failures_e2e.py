"""Discord failing under the bot: 5xx and 429 answers when posting alarms and results.

Every alarm is still delivered exactly once, the run's results are announced once and paid
once, and every interaction is answered (deferred first when the work behind it is slow).

In production discord.py's request loop retries a 5xx or a short 429 first (tested against a
local HTTP stand-in in ``test_discord_retries``); SimCord answers below that loop, so what
reaches the bot here is a failure that outlasted it, and the timer service's outbox tries
the announcement again ``RETRY_MS`` later. SimCord's settle would wait in real time for
short timers; a short settle timeout leaves them to virtual time, which ``Studio.advance``
moves.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.timer import MINUTE_MS
from storage.session.base import RoomKey, Run
from tests.support.studio import Studio
from tests.support.timer import (
    ALARM,
    FOLD_S,
    MINUTE,
    StudyRoom,
    at,
    balance,
    bot_calls,
    confirmation,
    open_room,
    requests_since,
)

# under the shortest retry pause (1 s), with room for a loaded machine to settle in
pytestmark = pytest.mark.simcord(settle_timeout=0.9)

MESSAGES = "/channels/*/messages"


async def running(
    studio: Studio, *, study: int = 50, brk: int = 10, terms: int = 4
) -> tuple[StudyRoom, int]:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, study=study, brk=brk, terms=terms)
    await alice.slash(room.channel, "timer start")
    return room, studio.now_ms()


async def seconds(studio: Studio, n: int) -> None:
    """Let ``n`` seconds pass one by one (the bot's retries fall in between)."""
    for _ in range(n):
        await studio.advance(1)


def alarm_posts(studio: Studio, mark: int, channel_id: int) -> list[str]:
    return [
        c
        for c in bot_calls(requests_since(studio, mark))
        if c == f"POST /channels/{channel_id}/messages"
    ]


@pytest.mark.parametrize("status", [500, 502, 429])
async def test_a_failed_alarm_post_is_retried_and_posted_once(studio: Studio, status: int) -> None:
    room, t0 = await running(studio)
    await studio.advance_to(t0 + 50 * MINUTE_MS - 1000)
    mark = len(studio.env.http_requests)
    studio.env.inject_error("POST", MESSAGES, status=status, times=1)
    await studio.advance(1)
    assert room.alarms() == []  # the first attempt failed: the alarm is owed
    await seconds(studio, 3)
    assert room.alarms() == []
    await seconds(studio, 2)  # the outbox tries again a retry after the first attempt
    [alarm] = room.alarms()
    assert alarm.content.startswith("⏰ **Alarm #1**")
    assert "Posted late" not in alarm.content  # five seconds later is not late
    assert len(alarm_posts(studio, mark, room.channel_id)) == 2  # the failure and the retry
    assert alarm.reactions == []  # no ⏰ of the bot's own: members add theirs
    ack = await room.members[1].click(alarm, label="Dismiss")
    assert confirmation(ack).content == "Alarm #1 dismissed, on time. ✅"
    await studio.advance(10 * MINUTE)
    assert len(room.alarms()) == 2  # and the next one on time


async def test_an_alarm_stays_owed_through_repeated_failures_and_is_posted_once(
    studio: Studio,
) -> None:
    room, t0 = await running(studio)
    await studio.advance_to(t0 + 50 * MINUTE_MS - 1000)
    studio.env.inject_error("POST", MESSAGES, status=503, times=3)  # three attempts fail
    await studio.advance(1)
    await seconds(studio, 14)
    assert room.alarms() == []  # tried at +0, +5 and +10 s; still owed
    await seconds(studio, 2)
    [alarm] = room.alarms()
    assert alarm.content.startswith("⏰ **Alarm #1**")
    # it rang on time and says it was posted late; the grace window counts from the ring
    assert f"Posted late: this alarm rang <t:{(t0 + 50 * MINUTE_MS) // 1000}:R>" in alarm.content
    await seconds(studio, 30)
    assert len(room.alarms()) == 1  # never doubled
    ack = await room.members[1].click(alarm, label="Dismiss")
    assert ack.response is not None and "on time" in ack.response.content
    await studio.advance(10 * MINUTE)
    assert [a.content.split("**")[1] for a in room.alarms()] == ["Alarm #1", "Alarm #2"]


async def test_a_long_outage_delivers_every_alarm_once_in_order(studio: Studio) -> None:
    room, t0 = await running(studio, study=1, brk=1, terms=2)
    studio.env.inject_error("POST", MESSAGES, status=500, times=None)  # Discord is down
    await studio.advance_to(t0 + 2 * MINUTE_MS + 30_000)  # alarms #1 and #2 fall meanwhile
    assert room.alarms() == []
    studio.env.backend.faults.clear()  # Discord is back
    await seconds(studio, 10)
    assert [a.content.split("**")[1] for a in room.alarms()] == ["Alarm #1", "Alarm #2"]
    assert all("Posted late" in a.content for a in room.alarms())
    await studio.advance_to(t0 + 3 * MINUTE_MS)
    assert [a.content.split("**")[1] for a in room.alarms()] == ["Alarm #1", "Alarm #2", "Alarm #3"]
    assert room.alarm(3).created_at == at(t0 + 3 * MINUTE_MS)


async def test_the_results_survive_a_failed_post_and_pay_once(studio: Studio) -> None:
    room, t0 = await running(studio, study=5, terms=1)
    alice, bob = room.members
    await studio.advance(5 * MINUTE)
    for member in (alice, bob):
        await member.click(room.alarm(1), label="Dismiss")
    studio.env.inject_error("POST", MESSAGES, status=500, times=3)
    await studio.advance_to(t0 + 6 * MINUTE_MS)
    await seconds(studio, 12)
    assert room.end_messages() == []  # tried three times, a retry apart: still owed
    await seconds(studio, 5)
    end = room.end_message()
    assert "**alice** (+100 points back), **bob** (+50 points back)" in end.content
    assert await balance(alice, room.town) == "Balance: **1000** points"
    assert await balance(bob, room.town) == "Balance: **1000** points"
    rated = await bob.click(end, label="5")
    assert rated.response is not None and "(5/5)" in rated.response.content


async def test_a_failing_card_edit_does_not_repeat_the_alarm(studio: Studio) -> None:
    room, t0 = await running(studio)
    await studio.advance_to(t0 + 50 * MINUTE_MS - 1000)
    card = room.card().to_dict()
    studio.env.inject_error("PATCH", "/channels/*/messages/*", status=500, times=None)
    await studio.advance(1)
    await seconds(studio, 20)
    [alarm] = room.alarms()  # posted once; a boundary edits nothing, so nothing failed
    assert alarm.reactions == []  # members add ⏰ themselves
    await room.members[1].react(alarm, ALARM)
    assert [(str(r.emoji), r.count) for r in room.alarm(1).reactions] == [(ALARM, 1)]
    studio.env.backend.faults.clear()
    await studio.advance(10 * MINUTE)
    assert len(room.alarms()) == 2
    assert room.card().to_dict() == card  # the card shows the whole run: nothing to catch up


async def test_a_slow_skip_is_deferred_then_answered(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    room, _ = await running(studio)
    alice = room.owner
    await studio.advance(10 * MINUTE)
    store = studio.bot.services.store
    put_run = store.put_run

    async def slow_put_run(key: RoomKey, run: Run) -> None:
        await asyncio.sleep(3)  # the live store takes longer than Discord waits
        await put_run(key, run)

    monkeypatch.setattr(store, "put_run", slow_put_run)
    skipped = await alice.slash(room.channel, "timer skip")
    assert not skipped.acknowledged
    await seconds(studio, 2)
    assert skipped.acknowledged  # deferred before Discord's 3-second deadline
    assert skipped.ephemeral
    await seconds(studio, 8)
    assert skipped.response is not None and skipped.response.content == "Done."
    [alarm] = room.alarms()
    assert "The room owner ended this phase early." in alarm.content
    assert any(line.startswith("⏭ **alice** skipped ahead") for line in room.lines())


async def test_a_failed_edit_of_the_alarm_does_not_undo_a_reaction(studio: Studio) -> None:
    room, _ = await running(studio)
    bob = room.members[1]
    await studio.advance(50 * MINUTE)
    studio.env.inject_error("PATCH", "/channels/*/messages/*", status=500, times=None)
    await bob.react(room.alarm(1), ALARM)
    await seconds(studio, FOLD_S + 1)
    assert room.dismissed(1) == []  # Discord refused the edit
    studio.env.backend.faults.clear()
    await seconds(studio, 24)
    assert room.dismissed(1) == ["**bob** dismissed alarm #1"]  # shown when Discord is back
    again = await bob.click(room.alarm(1), label="Dismiss")
    assert again.response is not None
    assert again.response.content == "You already dismissed alarm #1."  # it counted
    view = await studio.bot.services.timers.status_of(room.key)
    assert view is not None
    assert (1, bob.id) in await studio.bot.services.store.get_dismissals(room.key, view.run_id)


async def test_a_join_while_discord_struggles_is_answered_in_time(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice)
    studio.env.inject_error("POST", MESSAGES, status=500, times=None)  # the board is down
    joined = await bob.slash(town.general, "room join", room=str(room.room_id))
    await seconds(studio, 2)
    assert joined.acknowledged  # not "The application did not respond"
    assert joined.ephemeral
    await seconds(studio, 30)  # discord.py's own retries of the board line give up
    assert joined.response is not None
    assert joined.response.content == (
        f"You joined **Morning grind**: <#{room.channel_id}>. 50 points were charged."
    )
    assert joined.followups == []  # no "something went wrong" for a join that happened
    assert await balance(bob, town) == "Balance: **950** points"


async def test_a_notice_set_while_discord_struggles_is_not_reported_as_failed(
    studio: Studio,
) -> None:
    room, _ = await running(studio)
    studio.env.inject_error("PATCH", "/channels/*/messages/*", status=500, times=None)  # card
    studio.env.inject_error("POST", MESSAGES, status=500, times=None)  # board
    noticed = await room.owner.slash(room.channel, "room notice", text="Quiet, please")
    await seconds(studio, 2)
    assert noticed.acknowledged
    await seconds(studio, 30)
    assert noticed.response is not None
    assert noticed.response.content == "The notice of **Morning grind** is updated."
    assert noticed.followups == []
    view = await studio.bot.services.rooms.get(room.room_id)
    assert view.room.notice == "Quiet, please"

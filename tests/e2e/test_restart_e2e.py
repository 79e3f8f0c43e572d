"""Restarting the bot mid-run: the timer keeps its schedule, old buttons keep working, what
fell due while it was down is posted once (marked late), nothing is posted or paid twice."""

from __future__ import annotations

from bot.domain.timer import MINUTE_MS
from tests.support.studio import Studio
from tests.support.timer import (
    ALARM,
    FOLD_S,
    MINUTE,
    StudyRoom,
    at,
    balance,
    confirmation,
    open_room,
)


async def running(
    studio: Studio, *, study: int = 50, brk: int = 10, terms: int = 4
) -> tuple[StudyRoom, int]:
    town = studio.guild("alice", "bob", "carol")
    alice, bob, carol = town.members
    room = await open_room(studio, town, alice, bob, carol, study=study, brk=brk, terms=terms)
    await alice.slash(room.channel, "timer start")
    return room, studio.now_ms()


async def down_for(studio: Studio, seconds: int) -> None:
    """The bot stops serving (nothing fires) while ``seconds`` pass, then starts again."""
    studio.bot.services.scheduler.shutdown()
    await studio.advance(seconds)
    await studio.restart()


async def test_the_timer_keeps_its_schedule_across_a_restart(studio: Studio) -> None:
    room, t0 = await running(studio)
    await studio.advance(20 * MINUTE)
    card_before = room.timer_field()
    lines_before = room.lines()
    await studio.restart()
    assert room.lines() == lines_before  # a restart posts nothing
    assert room.timer_field() == card_before
    await studio.advance(30 * MINUTE)
    [alarm] = room.alarms()
    assert alarm.created_at == at(t0 + 50 * MINUTE_MS)
    assert "Posted late" not in alarm.content
    status = await room.members[1].slash(room.channel, "timer status")
    assert status.response is not None and "Next alarm: #2 of 7." in status.response.content


async def test_old_alarm_buttons_and_reactions_work_after_a_restart(studio: Studio) -> None:
    room, _ = await running(studio)
    alice, bob, carol = room.members
    await studio.advance(50 * MINUTE)
    await alice.click(room.alarm(1), label="Dismiss")
    await studio.advance(10)
    await studio.restart()
    clicked = await bob.click(room.alarm(1), label="Dismiss")
    assert confirmation(clicked).content == "Alarm #1 dismissed, on time. ✅"
    again = await alice.click(room.alarm(1), label="Dismiss")
    assert again.response is not None
    assert again.response.content == "You already dismissed alarm #1."
    await carol.react(room.alarm(1), ALARM)
    await studio.advance(FOLD_S)
    assert room.dismissed(1) == [
        "**alice** dismissed alarm #1",
        "**bob** dismissed alarm #1",
        "**carol** dismissed alarm #1",
    ]


async def test_alarms_missed_while_down_are_posted_once_marked_late(studio: Studio) -> None:
    room, t0 = await running(studio)
    alice, bob, _ = room.members
    await studio.advance(45 * MINUTE)
    await down_for(studio, 20 * MINUTE)  # alarms #1 (50) and #2 (60) fall while down
    first, second = room.alarms()
    assert first.content.startswith("⏰ **Alarm #1**")
    assert second.content.startswith("⏰ **Alarm #2**")
    for alarm, minute in ((first, 50), (second, 60)):
        assert f"⚠️ Posted late: this alarm rang <t:{(t0 + minute * MINUTE_MS) // 1000}:R>" in (
            alarm.content
        )
    # the grace window counts from when an alarm appeared, not from when it should have rung
    ack = await bob.click(first, label="Dismiss")
    assert confirmation(ack).content == "Alarm #1 dismissed, on time. ✅"

    await studio.restart()  # and again: nothing is posted twice
    assert len(room.alarms()) == 2
    await studio.advance_to(t0 + 110 * MINUTE_MS)
    third = room.alarms()[-1]
    assert third.content.startswith("⏰ **Alarm #3**")
    assert third.created_at == at(t0 + 110 * MINUTE_MS) and "Posted late" not in third.content
    assert len(room.alarms()) == 3
    del alice


async def test_a_restart_after_the_end_pays_and_announces_once(studio: Studio) -> None:
    room, t0 = await running(studio, study=5, terms=1)
    alice, bob, carol = room.members
    await studio.advance(5 * MINUTE)
    for member in (alice, bob):
        await member.click(room.alarm(1), label="Dismiss")
    await studio.advance(MINUTE)
    assert "**alice** (+100 points back), **bob** (+50 points back)" in room.end_message().content
    await studio.restart()
    await studio.advance(MINUTE)
    await studio.restart()
    assert len(room.end_messages()) == 1
    assert [await balance(m, room.town) for m in (alice, bob, carol)] == [
        "Balance: **1000** points",
        "Balance: **1000** points",
        "Balance: **950** points",
    ]
    # the rating buttons and the vote survive the restart
    rated = await carol.click(room.end_message(), label="3")
    assert rated.response is not None and "(3/5)" in rated.response.content
    await studio.advance_to(t0 + 11 * MINUTE_MS - 1000)
    assert room.exists()
    await studio.advance(1)
    assert not room.exists()


async def test_extend_works_after_a_restart(studio: Studio) -> None:
    room, _ = await running(studio, study=5, terms=1)
    await studio.advance(6 * MINUTE)
    await studio.restart()
    extended = await room.members[2].click(room.end_message(), label="Extend")
    assert extended.response is not None
    assert extended.response.content.startswith("🔁 **carol** extended the room")
    await studio.advance(5 * MINUTE)
    assert len(room.alarms()) == 2 and room.exists()


async def test_a_run_ending_while_down_finishes_once(studio: Studio) -> None:
    room, t0 = await running(studio, study=5, terms=2, brk=5)
    alice, bob, carol = room.members
    await studio.advance(5 * MINUTE)
    await bob.click(room.alarm(1), label="Dismiss")
    await down_for(studio, 30 * MINUTE)  # alarms #2, #3 and the end fall while down
    assert [a.content.split("**")[1] for a in room.alarms()] == ["Alarm #1", "Alarm #2", "Alarm #3"]
    # the last alarm appeared just now: its grace window runs before the results
    assert room.end_messages() == []
    await studio.advance(MINUTE)
    end = room.end_message()
    assert "Nobody dismissed every alarm on time" in end.content  # nobody dismissed #2 and #3
    assert [await balance(m, room.town) for m in (alice, bob, carol)] == [
        "Balance: **900** points",
        "Balance: **950** points",
        "Balance: **950** points",
    ]
    await studio.restart()
    assert len(room.end_messages()) == 1 and len(room.alarms()) == 3
    del t0

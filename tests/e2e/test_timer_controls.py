"""``/timer`` as members see it: owner-only controls, where they work, what they change, and
``/timer status``."""

from __future__ import annotations

import discord

from bot.domain.timer import MINUTE_MS
from tests.support.studio import Studio
from tests.support.timer import MINUTE, StudyRoom, clock, confirmation, open_room, relative


def ts(ms: int) -> str:
    return f"<t:{ms // 1000}:R>"


async def started_room(studio: Studio) -> tuple[StudyRoom, int]:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob)
    await alice.slash(room.channel, "timer start")
    return room, studio.now_ms()


async def test_only_the_owner_controls_the_timer(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob)
    before = room.lines()

    refused = await bob.slash(room.channel, "timer start")
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content == "Only the room owner can do that."
    assert await studio.bot.services.timers.status_of(room.key) is None
    assert room.lines() == before  # nothing public happened
    assert "Not started" in room.timer_field()

    await alice.slash(room.channel, "timer start")
    view = await studio.bot.services.timers.status_of(room.key)
    assert view is not None
    for control in ("pause", "resume", "skip", "stop"):
        shown = await bob.slash(room.channel, f"timer {control}")
        assert shown.ephemeral and shown.response is not None
        assert shown.response.content == "Only the room owner can do that."
    after = await studio.bot.services.timers.status_of(room.key)
    assert after is not None and after.boundaries == view.boundaries  # unchanged
    assert [line for line in room.lines() if "bob" in line] == ["**bob** joined"]


async def test_controls_work_only_in_the_room_channel(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob)
    elsewhere = await alice.slash(town.general, "timer start")
    assert elsewhere.ephemeral and elsewhere.response is not None
    assert elsewhere.response.content == "Use this in your study room's text channel."
    assert await studio.bot.services.timers.status_of(room.key) is None


async def test_start_twice_is_refused(studio: Studio) -> None:
    room, _ = await started_room(studio)
    again = await room.owner.slash(room.channel, "timer start")
    assert again.ephemeral and again.response is not None
    assert again.response.content == "The timer is already running."


async def test_pause_and_resume_shift_the_alarm(studio: Studio) -> None:
    room, t0 = await started_room(studio)
    alice = room.owner
    await studio.advance(20 * MINUTE)

    paused = await alice.slash(room.channel, "timer pause")
    assert not paused.ephemeral and paused.response is not None
    assert paused.response.content == (
        "⏸ **alice** paused the timer: 30 min left in study period 1 of 4."
    )
    assert room.timer_field() == (
        "⏸ Paused in Study 1/4: 30 min left. The times after it are set when the owner resumes."
    )
    assert room.schedule() == [
        f"⏸ Study 1/4 · {clock(t0)} → paused, 30 min left",
        "☕ Break 1/3 · 10 min",
        "📖 Study 2/4 · 50 min",
        "☕ Break 2/3 · 10 min",
        "📖 Study 3/4 · 50 min",
        "☕ Break 3/3 · 10 min",
        "📖 Study 4/4 · 50 min",
    ]
    again = await alice.slash(room.channel, "timer pause")
    assert again.ephemeral and again.response is not None
    assert again.response.content == "The timer is already paused."

    await studio.advance(60 * MINUTE)  # paused through the original alarm instant
    assert room.alarms() == []

    resumed_at = studio.now_ms()
    resumed = await alice.slash(room.channel, "timer resume")
    assert resumed.response is not None and not resumed.ephemeral
    ends = resumed_at + 30 * MINUTE_MS
    assert resumed.response.content == (
        f"▶️ **alice** resumed the timer: study period 1 of 4 ends {ts(ends)}."
    )
    last = ends + 180 * MINUTE_MS
    assert room.timer_field() == f"Runs {clock(t0)} → {clock(last)}; last alarm {relative(last)}."
    assert room.schedule()[:2] == [
        f"📖 Study 1/4 · {clock(t0)} → {clock(ends)} ({relative(ends)})",
        f"☕ Break 1/3 · {clock(ends)} → {clock(ends + 10 * MINUTE_MS)} "
        f"({relative(ends + 10 * MINUTE_MS)})",
    ]
    await studio.advance(30 * MINUTE - 1)
    assert room.alarms() == []
    await studio.advance(1)
    [alarm] = room.alarms()
    assert alarm.created_at.timestamp() * 1000 == ends == t0 + 110 * MINUTE_MS  # 50 + 60 paused


async def test_skip_rings_the_alarm_now(studio: Studio) -> None:
    room, t0 = await started_room(studio)
    alice = room.owner
    await studio.advance(10 * MINUTE)
    skipped_at = studio.now_ms()
    skipped = await alice.slash(room.channel, "timer skip")
    assert skipped.response is not None and not skipped.ephemeral
    assert skipped.response.content == (
        "⏭ **alice** skipped ahead: the break after study period 1 of 4 ends "
        f"{ts(skipped_at + 10 * MINUTE_MS)}."
    )
    [alarm] = room.alarms()
    assert alarm.content.startswith("⏰ **Alarm #1**: study period 1 of 4 is over.")
    assert "The room owner ended this phase early." in alarm.content
    assert "After this break, study period 2 of 4 starts." in alarm.content
    brk = skipped_at + 10 * MINUTE_MS
    last = brk + 170 * MINUTE_MS
    assert room.timer_field() == f"Runs {clock(t0)} → {clock(last)}; last alarm {relative(last)}."
    assert room.schedule()[:2] == [
        f"📖 Study 1/4 · {clock(t0)} → {clock(skipped_at)} ({relative(skipped_at)}), ended early",
        f"☕ Break 1/3 · {clock(skipped_at)} → {clock(brk)} ({relative(brk)})",
    ]
    # the alarm can be dismissed like any other
    bob = room.members[1]
    ack = await bob.click(alarm, label="Dismiss")
    assert confirmation(ack).content == "Alarm #1 dismissed, on time. ✅"
    # the next one falls a full break later
    await studio.advance(10 * MINUTE)
    assert len(room.alarms()) == 2


async def test_skipping_the_last_phase_ends_the_run(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, terms=1)
    await alice.slash(room.channel, "timer start")
    await studio.advance(5 * MINUTE)
    skipped = await alice.slash(room.channel, "timer skip")
    assert skipped.response is not None
    assert skipped.response.content == "⏭ **alice** ended the last study period early."
    [alarm] = room.alarms()
    assert "and so is the run" in alarm.content
    await bob.click(alarm, label="Dismiss")
    await studio.advance(MINUTE)
    assert "👑 Today's Study King: **bob** (+50 points back)" in room.end_message().content


async def test_stop_ends_the_run_and_the_room_stays(studio: Studio) -> None:
    room, _ = await started_room(studio)
    alice = room.owner
    await studio.advance(50 * MINUTE)
    stopped = await alice.slash(room.channel, "timer stop")
    assert stopped.response is not None and not stopped.ephemeral
    assert stopped.response.content.startswith("⏹ **alice** stopped the timer.")
    assert "Not started" in room.timer_field()
    await studio.advance(5 * 60 * MINUTE)
    assert len(room.alarms()) == 1  # nothing more rings
    assert room.end_messages() == []  # no kings for a stopped run
    assert room.exists()
    status = await room.members[1].slash(room.channel, "timer status")
    assert status.response is not None and "not running" in status.response.content
    # a new run can start
    restarted = await alice.slash(room.channel, "timer start")
    assert restarted.response is not None and "started the timer" in restarted.response.content
    await studio.advance(50 * MINUTE)
    assert len(room.alarms()) == 2


async def test_stop_when_not_running_is_refused(studio: Studio) -> None:
    town = studio.guild("alice")
    [alice] = town.members
    room = await open_room(studio, town, alice)
    for control in ("pause", "resume", "skip", "stop"):
        shown = await alice.slash(room.channel, f"timer {control}")
        assert shown.ephemeral and shown.response is not None
        assert shown.response.content == "The timer is not running."


async def test_status_shows_phase_end_and_next_alarm(studio: Studio) -> None:
    room, t0 = await started_room(studio)
    alice, bob = room.members
    first = await bob.slash(room.channel, "timer status")
    assert first.ephemeral and first.response is not None
    shown = first.response.content
    assert shown.splitlines() == [
        "⏱ **Morning grind**",
        "Pomodoro: 4 × 50 min of study with 10-minute breaks.",
        f"Now: study period 1 of 4, ends {ts(t0 + 50 * MINUTE_MS)} "
        f"(at <t:{(t0 + 50 * MINUTE_MS) // 1000}:t>).",
        "Next alarm: #1 of 7.",
    ]

    await studio.advance(55 * MINUTE)
    in_break = await bob.slash(room.channel, "timer status")
    assert in_break.response is not None
    assert "Now: the break after study period 1 of 4" in in_break.response.content
    assert "Next alarm: #2 of 7." in in_break.response.content

    await alice.slash(room.channel, "timer pause")
    paused = await bob.slash(room.channel, "timer status")
    assert paused.response is not None
    assert "Paused in the break after study period 1 of 4: 5 min left." in paused.response.content

    # from another channel, a member of exactly one room sees that room's timer
    from_general = await bob.slash(room.town.general, "timer status")
    assert from_general.ephemeral and from_general.response is not None
    assert from_general.response.content == paused.response.content


async def test_status_is_for_members(studio: Studio) -> None:
    room, _ = await started_room(studio)
    admins = room.town.guild.create_role(
        "Admins", permissions=discord.Permissions(administrator=True)
    )
    mod = room.town.guild.add_member(studio.env.create_user("mod"), roles=[admins])
    refused = await mod.slash(room.channel, "timer status")
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content == "You are not a member of this room."
    elsewhere = await mod.slash(room.town.general, "timer status")
    assert elsewhere.response is not None
    assert elsewhere.response.content == "Use this in your study room's text channel."

"""Flowtime and count-up rooms, as members meet them: ``/room create mode:…``, the card, the
owner's ``/timer break`` and the card's Break button, check-ins, ``/timer stop`` ending a
count-up run with its results, Extend, a restart in the middle, and the refusals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import discord
import pytest
from simcord.builders import ChannelHandle

from bot.config import Config
from bot.domain.timer import MINUTE_MS
from tests.support.studio import Studio, make_config, response_of, speak_korean
from tests.support.timer import (
    ALARM,
    MINUTE,
    StudyRoom,
    balance,
    bot_calls,
    clock,
    confirmation,
    open_room,
    relative,
    requests_since,
)

SPEAK = discord.Permissions(speak=True).value

CREATE_COST = 100  # the default costs of creating and of joining a room
JOIN_COST = 50


async def mode_room(studio: Studio, mode: str, *names: str, **options: int | str) -> StudyRoom:
    town = studio.guild(*names)
    owner, *others = town.members
    pattern: dict[str, int | None] = {"study": None, "brk": None, "terms": None}
    for name in pattern:
        value = options.pop(name, None)
        pattern[name] = int(value) if value is not None else None
    return await open_room(studio, town, owner, *others, **pattern, mode=mode, **options)  # type: ignore[arg-type]


async def voice_channel(studio: Studio, room: StudyRoom) -> ChannelHandle:
    voice = (await studio.bot.services.rooms.get(room.room_id)).room.voice_channel_id
    [channel] = [c for c in room.town.guild.channels.values() if c.id == voice]
    return channel


async def listening_in_voice(
    studio: Studio, room: StudyRoom
) -> tuple[ChannelHandle, Callable[[], bool]]:
    """The room's second member joins its voice channel: the channel, and whether they may
    speak there now."""
    member = room.members[1]
    voice = await voice_channel(studio, room)
    await member.join_voice(voice)

    def speaks() -> bool:
        perms = studio.env.backend.compute_permissions(room.town.guild.id, member.id, voice.id)
        return bool(perms & SPEAK)

    return voice, speaks


def alarm_text(room: StudyRoom, title: str) -> str:
    [alarm] = [m.content for m in room.alarms() if m.content.startswith(f"{ALARM} **{title}**")]
    return alarm


def card_buttons(room: StudyRoom) -> list[str]:
    return [
        child.label or ""
        for row in room.card_message().components
        if isinstance(row, discord.ActionRow)
        for child in row.children
        if isinstance(child, discord.Button)
    ]


async def dismiss_all(room: StudyRoom, title: str) -> None:
    [alarm] = [m for m in room.alarms() if m.content.startswith(f"{ALARM} **{title}**")]
    for member in room.members:
        clicked = await member.click(alarm, label="Dismiss")
        assert confirmation(clicked).content.endswith("on time. ✅")


# -- flowtime ------------------------------------------------------------------------------


async def test_a_flowtime_run_goes_at_the_owners_pace(studio: Studio) -> None:
    room = await mode_room(studio, "flowtime", "alice", "bob", terms=2)
    alice, bob = room.members
    pattern = next(f.value for f in room.card().fields if f.name == "Pattern")
    assert pattern == (
        "Flowtime: 2 study periods, each until the owner calls the break (at most 120 min); "
        "each break lasts 1/5 of the study before it (1–30 min)."
    )
    assert card_buttons(room) == ["Break"]
    t0 = studio.now_ms()
    started = await alice.slash(room.channel, "timer start")
    assert started.response is not None
    assert started.response.content.startswith(
        "▶️ **alice** started the flowtime timer. Study period 1 runs until `/timer break` "
        f"(or the card's **Break** button), at the latest {relative(t0 + 120 * MINUTE_MS)}."
    )
    assert room.schedule() == [
        f"📖 Study 1/2 · {clock(t0)} → until the break is called, at the latest "
        f"{clock(t0 + 120 * MINUTE_MS)}",
        "…then 1 more study period(s), each after its break",
    ]
    await studio.advance(40 * MINUTE)
    assert room.alarms() == []  # no fixed end: forty minutes in, still studying
    status = await bob.slash(room.channel, "timer status")
    assert status.response is not None
    assert "Now: study period 1 of 2, since" in status.response.content
    assert "runs until the owner calls the break" in status.response.content

    called = await alice.slash(room.channel, "timer break")
    t1 = studio.now_ms()
    assert called.response is not None
    assert called.response.content == (
        f"☕ **alice** called the break: it ends {relative(t1 + 8 * MINUTE_MS)}."
    )
    assert alarm_text(room, "Alarm #1").startswith(
        f"{ALARM} **Alarm #1**: the owner called the break: study period 1 of 2 is over after "
        f"40m. Break: 8 min, until {clock(t1 + 8 * MINUTE_MS)}."
    )
    await dismiss_all(room, "Alarm #1")
    assert room.schedule()[:3] == [
        f"📖 Study 1/2 · {clock(t0)} → {clock(t1)} ({relative(t1)})",
        f"☕ Break 1/1 · {clock(t1)} → {clock(t1 + 8 * MINUTE_MS)} "
        f"({relative(t1 + 8 * MINUTE_MS)})",
        f"📖 Study 2/2 · {clock(t1 + 8 * MINUTE_MS)} → until the break is called, at the "
        f"latest {clock(t1 + 128 * MINUTE_MS)}",
    ]
    await studio.advance(8 * MINUTE)
    assert alarm_text(room, "Alarm #2").startswith(
        f"{ALARM} **Alarm #2**: the break is over. Study period 2 of 2 starts now and runs "
        f"until the break is called, at the latest {clock(t1 + 128 * MINUTE_MS)}."
    )
    await dismiss_all(room, "Alarm #2")
    await studio.advance(30 * MINUTE)
    # the owner ends the last study period with the card's button: the run is over
    pressed = await alice.click(room.card_message(), label="Break")
    assert pressed.response is not None
    assert pressed.response.content == "☕ **alice** ended the last study period: the run is over."
    assert alarm_text(room, "Alarm #3").startswith(
        f"{ALARM} **Alarm #3**: study period 2 of 2 is over, and so is the run."
    )
    await dismiss_all(room, "Alarm #3")
    await studio.advance(MINUTE)
    [end] = room.end_messages()
    assert "alice" in end.content and "bob" in end.content
    assert f"{CREATE_COST} points back" in end.content
    # the kings were paid back what they paid; study time is the study actually done
    assert "**1000** points" in await balance(alice, room.town)
    assert "**1000** points" in await balance(bob, room.town)


async def test_a_flowtime_run_at_its_longest_ends_rates_and_extends(studio: Studio) -> None:
    room = await mode_room(studio, "flowtime", "alice", "bob", study=10, terms=1)
    alice, bob = room.members
    await alice.slash(room.channel, "timer start")
    await studio.advance(10 * MINUTE)  # nobody calls the break: the one study period ends
    assert alarm_text(room, "Alarm #1").startswith(
        f"{ALARM} **Alarm #1**: study period 1 of 1 is over, and so is the run."
    )
    await dismiss_all(room, "Alarm #1")
    await studio.advance(MINUTE)
    end = room.end_message()
    assert "alice" in end.content and "bob" in end.content  # kings, paid back
    assert "**1000** points" in await balance(bob, room.town)
    rated = await bob.click(end, label="4")
    assert rated.response is not None
    assert rated.response.content.startswith("Saved: you rated 2026-01-01 ★★★★☆ (4/5).")
    extended = await alice.click(end, label="Extend")
    t1 = studio.now_ms()
    assert extended.response is not None
    assert extended.response.content.startswith(
        "🔁 **alice** extended the room: another flowtime run starts now. Study period 1 runs "
        f"until the break is called, at the latest {relative(t1 + 10 * MINUTE_MS)}."
    )
    await studio.advance(4 * MINUTE)
    await alice.slash(room.channel, "timer break")  # the last study period: the run is over
    assert alarm_text(room, "Run 2 · Alarm #1").startswith(
        f"{ALARM} **Run 2 · Alarm #1**: study period 1 of 1 is over, and so is the run."
    )
    await dismiss_all(room, "Run 2 · Alarm #1")
    await studio.advance(MINUTE)
    assert len(room.end_messages()) == 2
    # kings again, but what they paid came back once
    assert "**1000** points" in await balance(bob, room.town)
    assert "**1000** points" in await balance(alice, room.town)


async def test_flowtime_controls_answer_clearly_and_change_nothing(studio: Studio) -> None:
    room = await mode_room(studio, "flowtime", "alice", "bob", study=60, break_share=4)
    alice, bob = room.members
    await alice.slash(room.channel, "timer start")
    await studio.advance(10 * MINUTE)
    skipped = await alice.slash(room.channel, "timer skip")
    assert skipped.ephemeral and skipped.response is not None
    assert skipped.response.content == (
        "In a flowtime room a study period ends with `/timer break` (or the card's Break "
        "button), not a skip."
    )
    pressed = await bob.click(room.card_message(), label="Break")
    assert pressed.ephemeral and pressed.response is not None
    assert "owner" in pressed.response.content
    assert room.alarms() == []
    # nobody calls it: the study period ends at its longest, and its break is a quarter
    await studio.advance(50 * MINUTE)
    assert alarm_text(room, "Alarm #1").startswith(
        f"{ALARM} **Alarm #1**: study period 1 of 4 has reached its longest, 1h 00m. "
        "Break: 15 min, until"
    )
    again = await alice.slash(room.channel, "timer break")
    assert again.ephemeral and again.response is not None
    assert again.response.content == (
        "There is no study period to end right now: the break is already on."
    )
    # a break is cut short with a skip, like any phase
    await studio.advance(MINUTE)
    await alice.slash(room.channel, "timer skip")
    assert alarm_text(room, "Alarm #2").startswith(f"{ALARM} **Alarm #2**: the break is over.")
    # /timer break belongs to flowtime rooms
    other = await mode_room(studio, "pomodoro", "carol")
    await other.owner.slash(other.channel, "timer start")
    await studio.advance(MINUTE)
    refused = await other.owner.slash(other.channel, "timer break")
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content.startswith("`/timer break` is for flowtime rooms")
    assert card_buttons(other) == []


async def test_an_option_of_another_mode_is_refused_before_anything_is_made(
    studio: Studio,
) -> None:
    town = studio.guild("alice")
    [alice] = town.members
    before = await balance(alice, town)
    for options, field in (
        ({"mode": "flowtime", "break": 5}, "Break minutes"),
        ({"mode": "countup", "study": 50}, "Study minutes"),
        ({"break_share": 3}, "The break share"),
        ({"mode": "flowtime", "check_every": 20}, "The check-in interval"),
    ):
        refused = await alice.slash(town.general, "room create", title="Odd", **options)
        assert refused.ephemeral and refused.response is not None
        mode = {"flowtime": "flowtime", "countup": "count-up"}.get(
            str(options.get("mode", "")), "pomodoro"
        )
        assert refused.response.content == (
            f"{field} is not an option of the {mode} mode. Leave it out, or pick the mode "
            "it belongs to."
        )
    assert await studio.bot.services.rooms.rooms_of(town.guild.id, alice.id) == []
    assert await balance(alice, town) == before
    assert [c.name for c in town.guild.channels.values()] == ["general"]


async def test_a_flowtime_break_survives_a_restart(studio: Studio) -> None:
    room = await mode_room(studio, "flowtime", "alice", "bob", terms=2, break_share=2)
    alice = room.owner
    await alice.slash(room.channel, "timer start")
    await studio.advance(20 * MINUTE)
    await alice.slash(room.channel, "timer break")  # a 10-minute break
    await studio.restart()
    await studio.advance(9 * MINUTE)
    assert len(room.alarms()) == 1
    await studio.advance(MINUTE)
    assert len(room.alarms()) == 2
    assert alarm_text(room, "Alarm #2").startswith(f"{ALARM} **Alarm #2**: the break is over.")


async def test_a_study_period_at_its_longest_fixes_the_card_with_one_edit(
    studio: Studio,
) -> None:
    room = await mode_room(studio, "flowtime", "alice", "bob", "carol", study=30, terms=2)
    alice = room.owner
    t0 = studio.now_ms()
    await alice.slash(room.channel, "timer start")
    mark = len(studio.env.http_requests)
    await studio.advance(31 * MINUTE)  # nobody called the break: it came at 30
    assert alarm_text(room, "Alarm #1").startswith(
        f"{ALARM} **Alarm #1**: study period 1 of 2 has reached its longest, 30m. "
        f"Break: 6 min, until {clock(t0 + 36 * MINUTE_MS)}."
    )
    # the card no longer says study 1 lasts until the break is called
    assert room.schedule() == [
        f"📖 Study 1/2 · {clock(t0)} → {clock(t0 + 30 * MINUTE_MS)} "
        f"({relative(t0 + 30 * MINUTE_MS)})",
        f"☕ Break 1/1 · {clock(t0 + 30 * MINUTE_MS)} → {clock(t0 + 36 * MINUTE_MS)} "
        f"({relative(t0 + 36 * MINUTE_MS)})",
        f"📖 Study 2/2 · {clock(t0 + 36 * MINUTE_MS)} → until the break is called, at the "
        f"latest {clock(t0 + 66 * MINUTE_MS)}",
    ]
    await dismiss_all(room, "Alarm #1")  # three members: still the one edit of the boundary
    assert len(room.card_edits(requests_since(studio, mark))) == 1
    # the break's end changes nothing on the card: no edit
    mark = len(studio.env.http_requests)
    await studio.advance(6 * MINUTE)
    assert len(room.alarms()) == 2
    assert room.card_edits(requests_since(studio, mark)) == []


async def test_a_study_period_reaching_its_longest_after_a_restart_fixes_the_card(
    studio: Studio,
) -> None:
    room = await mode_room(studio, "flowtime", "alice", "bob", study=30, terms=2)
    t0 = studio.now_ms()
    await room.owner.slash(room.channel, "timer start")
    await studio.advance(20 * MINUTE)
    await studio.restart()
    await studio.advance(11 * MINUTE)
    assert len(room.alarms()) == 1
    assert room.schedule()[1] == (
        f"☕ Break 1/1 · {clock(t0 + 30 * MINUTE_MS)} → {clock(t0 + 36 * MINUTE_MS)} "
        f"({relative(t0 + 36 * MINUTE_MS)})"
    )


async def test_a_called_break_is_its_share_rounded_to_the_minute(studio: Studio) -> None:
    room = await mode_room(studio, "flowtime", "alice", "bob", terms=2)
    alice = room.owner
    await alice.slash(room.channel, "timer start")
    await studio.advance(38 * MINUTE)
    await alice.slash(room.channel, "timer break")
    t1 = studio.now_ms()
    # a fifth of 38 min is 7 min 36 s: "8 min", and it ends 7 min 36 s after the call
    assert alarm_text(room, "Alarm #1").startswith(
        f"{ALARM} **Alarm #1**: the owner called the break: study period 1 of 2 is over after "
        f"38m. Break: 8 min, until {clock(t1 + 456_000)}."
    )
    await studio.advance(7 * MINUTE + 35)
    assert len(room.alarms()) == 1
    await studio.advance(2)
    assert len(room.alarms()) == 2


async def test_flowtime_pause_resume_and_skip_quote_no_fixed_end(studio: Studio) -> None:
    room = await mode_room(studio, "flowtime", "alice", "bob", study=60, terms=2)
    alice, bob = room.members
    t0 = studio.now_ms()
    await alice.slash(room.channel, "timer start")
    await studio.advance(20 * MINUTE)
    paused = await alice.slash(room.channel, "timer pause")
    assert paused.response is not None
    assert paused.response.content == (
        "⏸ **alice** paused the timer in study period 1 of 2, after 20m of study. Time while "
        "paused does not count as study."
    )
    assert room.timer_field() == (
        "⏸ Paused in Study 1/2, after 20m of study. When the owner resumes it, it runs until "
        "the break is called; the times after it are set then."
    )
    assert room.schedule() == [
        f"⏸ Study 1/2 · {clock(t0)} → paused after 20m, at most 40 min more",
        "…then 1 more study period(s), each after its break",
    ]
    status = await bob.slash(room.channel, "timer status")
    assert status.response is not None
    assert (
        "Paused in study period 1 of 2, after 20m of study. Once resumed it runs until the "
        "break is called, at most 40 min more."
    ) in status.response.content
    await studio.advance(10 * MINUTE)
    resumed = await alice.slash(room.channel, "timer resume")
    t1 = studio.now_ms()
    assert resumed.response is not None
    assert resumed.response.content == (
        "▶️ **alice** resumed the timer: study period 1 of 2 goes on until the break is "
        f"called, at the latest {relative(t1 + 40 * MINUTE_MS)}."
    )
    await studio.advance(5 * MINUTE)
    await alice.slash(room.channel, "timer break")  # 25 min studied: a 5-minute break
    await studio.advance(MINUTE)
    # a break has a fixed length in flowtime too: a pause of it says what is left
    on_break = await alice.slash(room.channel, "timer pause")
    assert on_break.response is not None
    assert on_break.response.content == (
        "⏸ **alice** paused the timer: 4 min left in the break after study period 1 of 2."
    )
    await alice.slash(room.channel, "timer resume")
    skipped = await alice.slash(room.channel, "timer skip")
    t2 = studio.now_ms()
    assert skipped.response is not None
    assert skipped.response.content == (
        "⏭ **alice** ended the break early: study period 2 of 2 starts now and runs until "
        f"the break is called, at the latest {relative(t2 + 60 * MINUTE_MS)}."
    )
    assert len(room.alarms()) == 2


async def test_flowtime_study_time_is_credited_and_on_the_profile(studio: Studio) -> None:
    room = await mode_room(studio, "flowtime", "alice", "bob", terms=2)
    alice, bob = room.members
    voice = await voice_channel(studio, room)
    await alice.slash(room.channel, "timer start")
    await bob.join_voice(voice)
    await studio.advance(35 * MINUTE)
    await alice.slash(room.channel, "timer break")  # a 7-minute break: not study
    await studio.advance(7 * MINUTE)
    await studio.advance(10 * MINUTE)  # study 2, ten minutes in
    await bob.leave_voice()
    shown = await bob.slash(room.town.general, "profile")
    assert "studied 45m today" in response_of(shown).content
    mine = await alice.slash(room.town.general, "profile")
    assert "studied 0m today" in response_of(mine).content  # never in voice


async def test_room_info_and_list_show_the_mode(studio: Studio) -> None:
    room = await mode_room(studio, "flowtime", "alice", "bob", study=90, break_share=3)
    counting = await mode_room(studio, "countup", "carol", check_every=20, terms=6)
    info = await room.members[1].slash(room.town.general, "room info", room=str(room.room_id))
    assert info.response is not None
    fields = {f.name: f.value for f in info.response.embeds[0].fields}
    assert fields["Pattern"] == (
        "Flowtime: 4 study periods, each until the owner calls the break (at most 90 min); "
        "each break lasts 1/3 of the study before it (1–30 min)."
    )
    other = await counting.owner.slash(
        counting.town.general, "room info", room=str(counting.room_id)
    )
    assert other.response is not None
    fields = {f.name: f.value for f in other.response.embeds[0].fields}
    assert fields["Pattern"] == (
        "Count-up: study time counts up with a check-in every 20 min, 6 at most (2h 00m); "
        "`/timer stop` ends it with the results."
    )
    listed = await room.owner.slash(room.town.general, "room list")
    assert listed.response is not None
    [line] = [f.value for f in listed.response.embeds[0].fields]
    assert line == (
        "**Morning grind** · 2/25 members · flowtime × 4, study up to 90 min, breaks 1/3"
    )


async def test_focus_in_flowtime_mutes_study_and_frees_the_break(studio: Studio) -> None:
    room = await mode_room(studio, "flowtime", "alice", "bob", study=30, terms=3, focus=True)
    alice = room.owner
    voice, speaks = await listening_in_voice(studio, room)

    def focus_calls(mark: int) -> int:
        path = f"/channels/{voice.id}/permissions/{room.town.guild.id}"
        return sum(1 for e in requests_since(studio, mark) if e.method == "PUT" and e.path == path)

    assert speaks()
    mark = len(studio.env.http_requests)
    await alice.slash(room.channel, "timer start")
    await studio.env.settle()
    assert not speaks() and focus_calls(mark) == 1
    await studio.advance(12 * MINUTE)
    mark = len(studio.env.http_requests)
    await alice.slash(room.channel, "timer break")  # the owner calls it: free to talk
    await studio.env.settle()
    assert speaks() and focus_calls(mark) == 1
    mark = len(studio.env.http_requests)
    await studio.advance(3 * MINUTE)  # a fifth of 12: the break ends, study 2 mutes
    assert not speaks() and focus_calls(mark) == 1
    mark = len(studio.env.http_requests)
    await studio.advance(30 * MINUTE)  # study 2 runs to its longest: its break is free
    assert speaks() and focus_calls(mark) == 1


# -- count-up ------------------------------------------------------------------------------


async def test_a_countup_run_checks_in_and_the_owner_ends_it(studio: Studio) -> None:
    room = await mode_room(studio, "countup", "alice", "bob", check_every=10)
    alice, bob = room.members
    pattern = next(f.value for f in room.card().fields if f.name == "Pattern")
    assert pattern == (
        "Count-up: study time counts up with a check-in every 10 min, 12 at most (2h 00m); "
        "`/timer stop` ends it with the results."
    )
    t0 = studio.now_ms()
    started = await alice.slash(room.channel, "timer start")
    assert started.response is not None
    assert started.response.content.startswith(
        f"▶️ **alice** started counting up. The first check-in is {relative(t0 + 10 * MINUTE_MS)}."
    )
    assert room.schedule()[0] == (
        f"📖 Check-in 1/12 · {clock(t0)} → {clock(t0 + 10 * MINUTE_MS)} "
        f"({relative(t0 + 10 * MINUTE_MS)})"
    )
    await studio.advance(10 * MINUTE)
    assert alarm_text(room, "Alarm #1") == (
        f"{ALARM} **Alarm #1**: check-in 1 of 12. Still studying? 10m so far; the next "
        f"check-in is {relative(t0 + 20 * MINUTE_MS)}.\n"
        "Press **Dismiss** or react ⏰ within 60 seconds to count it as on time."
    )
    await dismiss_all(room, "Alarm #1")
    await studio.advance(10 * MINUTE)
    await alice.click(room.alarm(2), label="Dismiss")  # bob misses check-in 2
    await studio.advance(5 * MINUTE)
    status = await bob.slash(room.channel, "timer status")
    assert status.response is not None
    assert "Now: counting up, 25m studied so far. Next check-in" in status.response.content
    stopped = await alice.slash(room.channel, "timer stop")
    assert stopped.response is not None
    assert stopped.response.content.startswith(
        "⏹ **alice** ended the count-up run after 2 check-in(s)."
    )
    await studio.advance(MINUTE)
    [end] = room.end_messages()
    assert "alice" in end.content and "bob" not in end.content.split("\n")[1]
    assert "**1000** points" in await balance(alice, room.town)  # the creation cost came back
    assert f"**{1000 - JOIN_COST}** points" in await balance(bob, room.town)
    assert room.lines()[-2].startswith("⏹ **alice** ended the count-up run")  # then the end
    await studio.advance(3 * MINUTE)  # the vote is open for five minutes
    assert len(room.alarms()) == 2  # no check-in after the end
    # Extend keeps the mode; the next run's check-ins say which run they belong to
    extended = await bob.click(end, label="Extend")
    assert extended.response is not None
    assert "another count-up run starts now" in extended.response.content
    status = await bob.slash(room.channel, "timer status")
    assert status.response is not None
    assert status.response.content.endswith("Next alarm: run 2, #1 of 12.")
    await studio.advance(10 * MINUTE)
    assert alarm_text(room, "Run 2 · Alarm #1").startswith(
        f"{ALARM} **Run 2 · Alarm #1**: check-in 1 of 12."
    )


async def test_a_countup_run_cannot_be_skipped_only_stopped(studio: Studio) -> None:
    room = await mode_room(studio, "countup", "alice", "bob", check_every=10)
    alice = room.owner
    t0 = studio.now_ms()
    await alice.slash(room.channel, "timer start")
    await studio.advance(4 * MINUTE)
    card = room.card().to_dict()
    mark = len(studio.env.http_requests)
    refused = await alice.slash(room.channel, "timer skip")
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content == (
        "A count-up run has no phase to skip: its check-ins come on their own. Use "
        "`/timer stop` to end the run (with its results once a check-in has rung)."
    )
    # nothing changed: no post, no card edit, and the check-in comes when it was due
    assert bot_calls(requests_since(studio, mark)) == []
    assert room.card().to_dict() == card
    await studio.advance(6 * MINUTE - 5)
    assert room.alarms() == []
    await studio.advance(10)
    assert alarm_text(room, "Alarm #1").startswith(f"{ALARM} **Alarm #1**: check-in 1 of 12.")
    assert room.schedule()[1].startswith(f"📖 Check-in 2/12 · {clock(t0 + 10 * MINUTE_MS)}")


async def test_focus_in_countup_mutes_the_run_until_the_owner_ends_it(studio: Studio) -> None:
    room = await mode_room(studio, "countup", "alice", "bob", check_every=10, focus=True)
    alice = room.owner
    _, speaks = await listening_in_voice(studio, room)

    await alice.slash(room.channel, "timer start")
    await studio.env.settle()
    assert not speaks()
    await studio.advance(10 * MINUTE)  # a check-in is no break: still quiet
    assert len(room.alarms()) == 1 and not speaks()
    await studio.advance(3 * MINUTE)
    await alice.slash(room.channel, "timer stop")  # ends the run with its results
    await studio.env.settle()
    assert speaks()
    await studio.advance(MINUTE)
    assert len(room.end_messages()) == 1 and speaks()


async def test_stopping_a_countup_run_before_its_first_check_in_just_stops(
    studio: Studio,
) -> None:
    room = await mode_room(studio, "countup", "alice", "bob")
    alice = room.owner
    await alice.slash(room.channel, "timer start")
    await studio.advance(5 * MINUTE)
    stopped = await alice.slash(room.channel, "timer stop")
    assert stopped.response is not None
    assert "This run ends without a Study King" in stopped.response.content
    await studio.advance(60 * MINUTE)
    assert room.alarms() == [] and room.end_messages() == []


async def test_a_countup_run_ends_at_its_last_check_in_across_a_restart(studio: Studio) -> None:
    room = await mode_room(studio, "countup", "alice", "bob", check_every=15, terms=2)
    alice = room.owner
    await alice.slash(room.channel, "timer start")
    await studio.advance(15 * MINUTE)
    await dismiss_all(room, "Alarm #1")
    await studio.restart()
    await studio.advance(15 * MINUTE)
    assert len(room.alarms()) == 2  # each check-in once, across the restart
    assert alarm_text(room, "Alarm #2").startswith(
        f"{ALARM} **Alarm #2**: check-in 2 of 2, the last: the run has reached its longest "
        "after 30m of study."
    )
    await dismiss_all(room, "Alarm #2")
    await studio.advance(MINUTE)
    [end] = room.end_messages()
    assert "alice" in end.content and "bob" in end.content


# -- in Korean -----------------------------------------------------------------------------


@pytest.fixture
def studyon_config(tmp_path: Path, request: pytest.FixtureRequest) -> Config:
    if request.function.__name__.endswith("_in_korean"):
        return make_config(tmp_path, i18n={"default_locale": "ko"})
    return make_config(tmp_path)


async def test_flowtime_and_countup_rooms_in_korean(studio: Studio) -> None:
    room = await mode_room(studio, "flowtime", "alice", "bob", terms=2)
    alice, bob = room.members
    assert card_buttons(room) == ["휴식"]
    await alice.slash(room.channel, "timer start")
    await studio.advance(25 * MINUTE)
    await alice.slash(room.channel, "timer break")
    assert alarm_text(room, "알람 #1").startswith(
        f"{ALARM} **알람 #1**: 방장이 휴식을 시작했어요. 2회 중 1번째 공부를 25분 했어요. "
        "휴식: 5분,"
    )
    await speak_korean(studio, room.town, bob)
    refused = await bob.slash(room.channel, "timer skip")
    assert refused.ephemeral and refused.response is not None
    assert "방장" in refused.response.content
    countup = await mode_room(studio, "countup", "carol", "dave", check_every=10)
    carol = countup.owner
    await carol.slash(countup.channel, "timer start")
    await studio.advance(10 * MINUTE)
    assert alarm_text(countup, "알람 #1").startswith(
        f"{ALARM} **알람 #1**: 출석 체크 1/12. 계속 공부 중인가요?"
    )
    await speak_korean(studio, countup.town, carol)
    status = await carol.slash(countup.channel, "timer status")
    assert status.response is not None
    assert "시간 누적: 공부 시간이 쌓이고 10분마다 출석 체크" in status.response.content

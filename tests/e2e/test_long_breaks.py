"""Long breaks, as members meet them: ``/room create`` with ``long_break`` and ``long_every``,
the card's schedule, the alarms, ``/timer status``, pauses and skips across a long break, and
Extend, whose next run keeps the long breaks and whose alarms say which run they belong to."""

from __future__ import annotations

from pathlib import Path

import pytest
from simcord.backend.errors import OptionError

from bot.config import Config
from bot.domain.errors import ValidationError
from bot.domain.timer import MINUTE_MS
from cogs._common import error_text
from tests.support.studio import Studio, make_config, speak_korean
from tests.support.timer import (
    ALARM,
    MINUTE,
    StudyRoom,
    balance,
    clock,
    confirmation,
    open_room,
    relative,
    schedule_of,
)

# 4 × 25 min of study, 5-minute breaks, a 20-minute long break after every 2nd study period:
# phase ends in minutes after the start (the long break is the second break, 55 → 75)
ENDS = [25, 30, 55, 75, 100, 105, 130]
NAMES = [
    "📖 Study 1/4",
    "☕ Break 1/3",
    "📖 Study 2/4",
    "🛋️ Long break 2/3",
    "📖 Study 3/4",
    "☕ Break 3/3",
    "📖 Study 4/4",
]


async def long_room(
    studio: Studio,
    *names: str,
    study: int = 25,
    brk: int = 5,
    terms: int = 4,
    long_break: int = 20,
    long_every: int = 2,
) -> StudyRoom:
    town = studio.guild(*names)
    owner, *others = town.members
    return await open_room(
        studio,
        town,
        owner,
        *others,
        study=study,
        brk=brk,
        terms=terms,
        long_break=long_break,
        long_every=long_every,
    )


def alarm_of(room: StudyRoom, title: str) -> str:
    [alarm] = [m.content for m in room.alarms() if m.content.startswith(f"{ALARM} **{title}**")]
    return alarm


async def test_the_card_and_the_alarms_show_the_long_break(studio: Studio) -> None:
    room = await long_room(studio, "alice", "bob")
    alice, bob = room.members
    pattern = next(f.value for f in room.card().fields if f.name == "Pattern")
    assert pattern == (
        "25 min study · 5 min break · 4 terms\n20 min long break after every 2 study periods"
    )
    t0 = studio.now_ms()
    started = await alice.slash(room.channel, "timer start")
    assert started.response is not None
    assert started.response.content.endswith(
        "\nAfter every 2 study periods the break is a long one of 20 minutes."
    )
    assert room.schedule() == schedule_of(t0, NAMES, ENDS)
    await studio.advance(25 * MINUTE)
    assert "Take a 5-minute break" in alarm_of(room, "Alarm #1")
    await studio.advance(30 * MINUTE)
    assert alarm_of(room, "Alarm #3") == (
        f"{ALARM} **Alarm #3**: study period 2 of 4 is over. Take a 20-minute long break; "
        f"it ends {relative(t0 + 75 * MINUTE_MS)}.\n"
        "Press **Dismiss** or react ⏰ within 60 seconds to count it as on time.\n"
        "After this break, study period 3 of 4 starts."
    )
    status = await bob.slash(room.channel, "timer status")
    assert status.ephemeral and status.response is not None
    assert "Now: the long break after study period 2 of 4, ends" in status.response.content
    assert status.response.content.endswith(
        "After every 2 study periods the break is a long one of 20 minutes."
    )
    await studio.advance(19 * MINUTE)
    assert len(room.alarms()) == 3  # the long break is not over after a short one's length
    await studio.advance(MINUTE)
    assert alarm_of(room, "Alarm #4").startswith(
        f"{ALARM} **Alarm #4**: the long break is over. Study period 3 of 4 starts now"
    )
    await studio.advance(30 * MINUTE)  # study 3, then the short break after it
    assert "Take a 5-minute break" in alarm_of(room, "Alarm #5")


async def test_room_list_and_info_show_the_long_break(studio: Studio) -> None:
    room = await long_room(studio, "alice", "bob")
    alice = room.owner
    listed = await alice.slash(room.town.general, "room list")
    assert listed.response is not None
    [line] = [f.value for f in listed.response.embeds[0].fields]
    assert line is not None
    assert line.startswith(
        "**Morning grind** · 2/25 members · 25 min study, 5 min break × 4 · "
        "long break 20 min every 2 study periods"
    )
    info = await alice.slash(room.town.general, "room info", room=str(room.room_id))
    assert info.response is not None
    fields = {f.name: f.value for f in info.response.embeds[0].fields}
    assert fields["Pattern"] is not None
    assert fields["Pattern"].endswith("20 min long break after every 2 study periods")


async def test_pause_and_skip_across_a_long_break(studio: Studio) -> None:
    room = await long_room(studio, "alice", "bob")
    alice = room.owner
    t0 = studio.now_ms()
    await alice.slash(room.channel, "timer start")
    await studio.advance(60 * MINUTE)  # 5 minutes into the long break
    await alice.slash(room.channel, "timer pause")
    assert (
        room.schedule()[3]
        == f"⏸ Long break 2/3 · {clock(t0 + 55 * MINUTE_MS)} → paused, 15 min left"
    )
    assert room.schedule()[5] == "☕ Break 3/3 · 5 min"
    await studio.advance(10 * MINUTE)
    await alice.slash(room.channel, "timer resume")
    resumed = studio.now_ms()
    await studio.advance(14 * MINUTE)
    assert len(room.alarms()) == 3  # the long break's 15 minutes are not over yet
    await studio.advance(MINUTE)
    assert "the long break is over" in alarm_of(room, "Alarm #4")
    long_end = resumed + 15 * MINUTE_MS
    assert room.schedule()[3] == (
        f"🛋️ Long break 2/3 · {clock(t0 + 55 * MINUTE_MS)} → {clock(long_end)} "
        f"({relative(long_end)})"
    )
    # skip study 3: its alarm rings now, and the break after it is a short one
    await studio.advance(5 * MINUTE)
    await alice.slash(room.channel, "timer skip")
    assert "Take a 5-minute break" in alarm_of(room, "Alarm #5")
    await studio.advance(5 * MINUTE)
    assert "the break is over" in alarm_of(room, "Alarm #6")
    # skipping into a long break: a room with one after the 3rd study period
    other = await long_room(studio, "carol", "dave", long_every=3)
    await other.owner.slash(other.channel, "timer start")
    await studio.advance(31 * MINUTE)  # alarms #1 and #2, then a minute of study 2
    await other.owner.slash(other.channel, "timer skip")  # study 2 ends
    await studio.advance(MINUTE)
    await other.owner.slash(other.channel, "timer skip")  # break 2 is a short one
    await studio.advance(MINUTE)
    await other.owner.slash(other.channel, "timer skip")  # study 3 ends: the long break
    assert "Take a 20-minute long break" in alarm_of(other, "Alarm #5")


async def test_extend_keeps_the_long_breaks_and_says_which_run_an_alarm_is(
    studio: Studio,
) -> None:
    # 3 × 5 min, 1-minute breaks, a 3-minute long break after the 2nd: ends 5, 6, 11, 14, 19
    room = await long_room(studio, "alice", "bob", study=5, brk=1, terms=3, long_break=3)
    alice, bob = room.members
    await alice.slash(room.channel, "timer start")
    await studio.advance(5 * MINUTE)
    first = room.alarm(1)
    await alice.click(first, label="Dismiss")
    await studio.advance(15 * MINUTE)  # the run is over, and its last alarm's grace
    assert len(room.end_messages()) == 1
    extended = await bob.click(room.end_message(), label="Extend")
    assert extended.response is not None
    assert extended.response.content.endswith(
        "\nAfter every 2 study periods the break is a long one of 3 minutes."
    )
    t1 = studio.now_ms()
    assert room.schedule()[3].startswith("🛋️ Long break 2/2 · ")
    await studio.advance(5 * MINUTE)
    # two alarms #1 in the channel now, and each says which it is
    assert [m.content.split(":")[0] for m in room.alarms()[-1:]] == [
        f"{ALARM} **Run 2 · Alarm #1**"
    ]
    assert room.alarm(1).id == first.id  # the plain "Alarm #1" is the first run's still
    clicked = await bob.click(room.alarms()[-1], label="Dismiss")
    assert confirmation(clicked).content == "Run 2 · Alarm #1 dismissed, on time. ✅"
    [second] = [m for m in room.alarms() if m.content.startswith(f"{ALARM} **Run 2 · Alarm #1**")]
    assert second.embeds[0].description == "**bob** dismissed alarm #1 of run 2"
    assert room.dismissed(1) == ["**alice** dismissed alarm #1"]  # the first run's, unchanged
    # a restart keeps the run's number: it is stored with the run
    await studio.restart()
    await studio.advance_to(t1 + 11 * MINUTE_MS)
    assert alarm_of(room, "Run 2 · Alarm #3").startswith(
        f"{ALARM} **Run 2 · Alarm #3**: study period 2 of 3 is over. Take a 3-minute long break"
    )


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        (
            {"long_break": 20},
            "A long break needs both `long_break` (its minutes) and `long_every` "
            "(after how many study periods), or neither.",
        ),
        (
            {"long_every": 3},
            "A long break needs both `long_break` (its minutes) and `long_every` "
            "(after how many study periods), or neither.",
        ),
    ],
)
async def test_a_long_break_needs_both_options(
    studio: Studio, options: dict[str, int], refusal: str
) -> None:
    town = studio.guild("alice")
    [alice] = town.members
    before = await balance(alice, town)
    refused = await alice.slash(
        town.general, "room create", title="Half", study=25, terms=4, **{"break": 5}, **options
    )
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content == refusal
    assert await studio.bot.services.rooms.rooms_of(town.guild.id, alice.id) == []
    assert await balance(alice, town) == before
    assert [c.name for c in town.guild.channels.values()] == ["general"]


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"long_break": 0, "long_every": 2}, "'long_break' of 'room create' must be ≥ 1"),
        ({"long_break": 61, "long_every": 2}, "'long_break' of 'room create' must be ≤ 60"),
        ({"long_break": 20, "long_every": 1}, "'long_every' of 'room create' must be ≥ 2"),
        ({"long_break": 20, "long_every": 13}, "'long_every' of 'room create' must be ≤ 12"),
    ],
)
async def test_out_of_range_long_breaks_never_reach_the_bot(
    studio: Studio, options: dict[str, int], problem: str
) -> None:
    """The command declares the ranges, so Discord itself refuses a value outside them; the
    domain refuses one that got through all the same (in the member's language)."""
    town = studio.guild("alice")
    [alice] = town.members
    with pytest.raises(OptionError, match=problem):
        await alice.slash(
            town.general, "room create", title="Odd", study=25, terms=4, **{"break": 5}, **options
        )
    assert await studio.bot.services.rooms.rooms_of(town.guild.id, alice.id) == []
    with pytest.raises(ValidationError) as refused:
        studio.bot.services.rooms.validate_create(
            "Odd",
            25,
            5,
            4,
            long_break_minutes=options["long_break"],
            long_every=options["long_every"],
        )
    field = "긴 휴식 시간(분)" if "long_break'" in problem else "긴 휴식 간격"
    low, high = (1, 60) if "long_break'" in problem else (2, 12)
    assert error_text(refused.value, "ko") == f"{field}은 {low}에서 {high} 사이여야 해요."


@pytest.fixture
def studyon_config(tmp_path: Path, request: pytest.FixtureRequest) -> Config:
    if request.function.__name__.endswith("_in_korean"):
        return make_config(tmp_path, i18n={"default_locale": "ko"})
    return make_config(tmp_path)


async def test_long_breaks_and_later_runs_in_korean(studio: Studio) -> None:
    room = await long_room(studio, "alice", "bob", study=5, brk=1, terms=3, long_break=3)
    alice, bob = room.members
    pattern = next(f.value for f in room.card().fields if f.name == "패턴")
    assert pattern == "공부 5분 · 휴식 1분 · 3회\n공부 2회마다 긴 휴식 3분"
    await alice.slash(room.channel, "timer start")
    assert room.schedule("타이머")[3].startswith("🛋️ 긴 휴식 2/2 · ")
    await studio.advance(11 * MINUTE)
    assert alarm_of(room, "알람 #3").startswith(
        f"{ALARM} **알람 #3**: 3회 중 2번째 공부가 끝났어요. 3분 동안 긴 휴식이에요."
    )
    await studio.advance(3 * MINUTE)
    assert alarm_of(room, "알람 #4").startswith(f"{ALARM} **알람 #4**: 긴 휴식이 끝났어요.")
    await studio.advance(6 * MINUTE)
    await bob.click(room.end_message(), label="연장")
    await studio.advance(5 * MINUTE)
    assert alarm_of(room, "2회차 · 알람 #1").startswith(
        f"{ALARM} **2회차 · 알람 #1**: 3회 중 1번째 공부"
    )
    # a refusal in the member's language
    await speak_korean(studio, room.town, alice)
    refused = await alice.slash(
        room.town.general,
        "room create",
        title="반쪽",
        study=25,
        terms=4,
        **{"break": 5},
        long_every=3,
    )
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content == (
        "긴 휴식은 `긴_휴식`(분)과 `긴_휴식_간격`(공부 몇 회마다)을 "
        "함께 정하거나 둘 다 비워 두세요."
    )

"""What is owed is delivered promptly, also after a restart, and members are judged from what
they could see: an alarm's grace window starts when it appeared, the extension vote when the
results appeared. A dismissal Discord failed to acknowledge is still on the board.

And the two membership rules: a member who left before the end is not king; a member who
leaves and rejoins within a run pays for each stay and, as king, gets every payment back.
"""

from __future__ import annotations

import discord
import pytest
from simcord.actors import MemberActor

from bot.domain.timer import MINUTE_MS
from tests.support.studio import Studio
from tests.support.timer import (
    FOLD_S,
    MINUTE,
    StudyRoom,
    balance,
    confirmation,
    open_room,
)

# under the shortest retry pause (1 s), with room for a loaded machine to settle in
pytestmark = pytest.mark.simcord(settle_timeout=0.9)

MESSAGES = "/channels/*/messages"
CALLBACK = "/interactions/*/callback"


async def seconds(studio: Studio, n: int) -> None:
    for _ in range(n):
        await studio.advance(1)


def created_ms(message: discord.Message) -> int:
    return int(message.created_at.timestamp() * 1000)


async def running(
    studio: Studio, *names: str, study: int = 50, brk: int = 10, terms: int = 4
) -> tuple[StudyRoom, int]:
    town = studio.guild(*(names or ("alice", "bob")))
    owner, *joiners = town.members
    room = await open_room(studio, town, owner, *joiners, study=study, brk=brk, terms=terms)
    await owner.slash(room.channel, "timer start")
    return room, studio.now_ms()


async def dismiss_the_rest(
    studio: Studio, room: StudyRoom, t0: int, members: list[MemberActor]
) -> None:
    """Alarms #2 and #3 of a 2 × (5 + 5) run, dismissed on time by ``members``; the end."""
    for k, minute in ((2, 10), (3, 15)):
        await studio.advance_to(t0 + minute * MINUTE_MS + 5_000)
        for member in members:
            await member.click(room.alarm(k), label="Dismiss")
    await studio.advance(2 * MINUTE)


async def test_an_alarm_owed_across_a_restart_is_posted_at_once_and_judged_from_then(
    studio: Studio,
) -> None:
    room, t0 = await running(studio, study=5, brk=5, terms=2)  # alarms at 5, 10 and 15 min
    alice, bob = room.members
    await studio.advance_to(t0 + 5 * MINUTE_MS - 1000)
    studio.env.inject_error("POST", MESSAGES, status=503, times=None)  # Discord is down
    await seconds(studio, 20)
    assert room.alarms() == []
    await studio.restart()
    studio.env.backend.faults.clear()  # and back

    await seconds(studio, 8)

    [first] = room.alarms()  # not held back until alarm #2
    assert first.content.startswith("⏰ **Alarm #1**")
    appeared = created_ms(first)
    assert t0 + 5 * MINUTE_MS + 20_000 < appeared < t0 + 5 * MINUTE_MS + 40_000
    await studio.advance_to(appeared + 50_000)  # 50 s after it appeared, 80 s after it fell
    ack = await bob.click(first, label="Dismiss")
    assert confirmation(ack).content == "Alarm #1 dismissed, on time. ✅"
    assert room.dismissed(1) == ["**bob** dismissed alarm #1"]  # on time, as it shows
    await alice.click(first, label="Dismiss")
    await dismiss_the_rest(studio, room, t0, [alice, bob])
    end = room.end_message()
    assert "**alice** (+100 points back), **bob** (+50 points back)" in end.content


async def test_results_owed_across_a_restart_come_promptly_with_the_whole_vote(
    studio: Studio,
) -> None:
    room, t0 = await running(studio, study=5, terms=1)
    alice, bob = room.members
    await studio.advance(5 * MINUTE)
    for member in (alice, bob):
        await member.click(room.alarm(1), label="Dismiss")
    studio.env.inject_error("POST", MESSAGES, status=503, times=None)
    await studio.advance_to(t0 + 6 * MINUTE_MS + 10_000)  # the results fall due and fail
    assert room.end_messages() == []
    await studio.restart()
    studio.env.backend.faults.clear()

    await seconds(studio, 8)

    end = room.end_message()  # not held back until the vote deadline
    assert "**alice** (+100 points back), **bob** (+50 points back)" in end.content
    # the window is set as the post is attempted: within the attempt's quick retries of it
    shown_until = int(end.content.split("<t:")[-1].split(":R>")[0])
    assert 0 <= created_ms(end) // 1000 + 300 - shown_until <= 5
    assert room.exists()
    await studio.advance(4 * MINUTE)  # most of the window, counted from when it appeared
    assert room.exists()
    extended = await bob.click(end, label="Extend")
    assert extended.response is not None
    assert extended.response.content.startswith("🔁 **bob** extended the room")
    assert [await balance(m, room.town) for m in (alice, bob)] == [
        "Balance: **1000** points",
        "Balance: **1000** points",
    ]


@pytest.mark.parametrize(
    ("status", "code", "acknowledged"),
    [(404, 10062, False), (503, 0, True)],
)
async def test_a_dismissal_whose_acknowledgement_fails_is_on_the_board(
    studio: Studio, status: int, code: int, acknowledged: bool
) -> None:
    room, _ = await running(studio)
    bob = room.members[1]
    await studio.advance(50 * MINUTE)
    studio.env.inject_error("POST", CALLBACK, status=status, code=code, times=1)

    clicked = await bob.click(room.alarm(1), label="Dismiss")
    await seconds(studio, 2)
    assert room.dismissed(1) == []  # the click's update of the alarm failed…
    await seconds(studio, FOLD_S)
    assert room.dismissed(1) == ["**bob** dismissed alarm #1"]  # …so it was edited instead
    if acknowledged:  # a passing failure: the click is acknowledged, then told what counted
        assert clicked.acknowledged
        assert confirmation(clicked).content == "Alarm #1 dismissed, on time. ✅"
    assert all("Nothing was changed" not in f.content for f in clicked.followups)
    again = await bob.click(room.alarm(1), label="Dismiss")
    assert again.response is not None
    assert again.response.content == "You already dismissed alarm #1."
    assert room.dismissed(1) == ["**bob** dismissed alarm #1"]
    assert not any("dismissed alarm" in line for line in room.lines())


async def test_a_member_who_left_before_the_end_is_not_king(studio: Studio) -> None:
    room, t0 = await running(studio, "alice", "bob", study=5, brk=5, terms=2)
    alice, bob = room.members
    await studio.advance(5 * MINUTE)
    for member in (alice, bob):
        await member.click(room.alarm(1), label="Dismiss")
    await bob.slash(room.town.general, "room leave", room=str(room.room_id))
    await dismiss_the_rest(studio, room, t0, [alice])
    end = room.end_message()
    assert "👑 Today's Study King: **alice** (+100 points back)" in end.content
    assert await balance(bob, room.town) == "Balance: **950** points"


async def test_leaving_and_rejoining_within_a_run_pays_twice_and_a_king_gets_both_back(
    studio: Studio,
) -> None:
    room, t0 = await running(studio, "alice", "bob", study=5, brk=5, terms=2)
    alice, bob = room.members
    town = room.town
    await studio.advance(5 * MINUTE)
    for member in (alice, bob):
        await member.click(room.alarm(1), label="Dismiss")
    await bob.slash(town.general, "room leave", room=str(room.room_id))
    await studio.advance(MINUTE)
    rejoined = await bob.slash(town.general, "room join", room=str(room.room_id))
    assert rejoined.acknowledged
    assert await balance(bob, town) == "Balance: **900** points"  # each stay is paid
    await dismiss_the_rest(studio, room, t0, [alice, bob])
    end = room.end_message()
    assert "**alice** (+100 points back), **bob** (+100 points back)" in end.content
    assert await balance(bob, town) == "Balance: **1000** points"

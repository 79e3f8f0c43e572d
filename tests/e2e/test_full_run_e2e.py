"""A whole 4 × (50 + 10) run on Discord with three members, as they see it.

alice opens the room, bob and carol join. alice starts the timer; seven alarms arrive in the
room channel at their instants. alice dismisses every alarm with the button, bob with the ⏰
reaction, both on time; carol is late once. After the last alarm's grace window alice and bob
are Today's Study Kings and get back what they paid; everyone rates the day; nobody extends,
so the room closes and its channels go.
"""

from __future__ import annotations

from datetime import date

from bot.domain.timer import MINUTE_MS
from tests.support.studio import Studio
from tests.support.timer import ALARM, MINUTE, at, balance, clock, confirmation, open_room

# boundary instants, minutes after the start: study₁ ends at 50, break₁ at 60, …
BOUNDARIES = [50, 60, 110, 120, 170, 180, 230]


async def test_four_terms_three_members(studio: Studio) -> None:
    town = studio.guild("alice", "bob", "carol")
    alice, bob, carol = town.members
    room = await open_room(studio, town, alice, bob, carol)
    assert [await balance(m, town) for m in (alice, bob, carol)] == [
        "Balance: **900** points",
        "Balance: **950** points",
        "Balance: **950** points",
    ]

    started = studio.now_ms()
    start = await alice.slash(room.channel, "timer start")
    assert start.response is not None and not start.ephemeral
    assert start.response.content.startswith("▶️ **alice** started the timer: 4 × 50 min")
    assert f"<t:{(started + 50 * MINUTE_MS) // 1000}:R>" in start.response.content
    # the card shows the whole run, boundary by boundary, and is left alone until the end
    ends = [started + minute * MINUTE_MS for minute in BOUNDARIES]
    schedule = room.schedule()
    assert [line.split(" · ")[0] for line in schedule] == [
        "📖 Study 1/4",
        "☕ Break 1/3",
        "📖 Study 2/4",
        "☕ Break 2/3",
        "📖 Study 3/4",
        "☕ Break 3/3",
        "📖 Study 4/4",
    ]
    assert all(clock(end) in line for end, line in zip(ends, schedule, strict=True))

    for k, minute in enumerate(BOUNDARIES, start=1):
        await studio.advance_to(started + minute * MINUTE_MS)
        alarms = room.alarms()
        assert len(alarms) == k  # exactly one message per boundary, none early
        alarm = room.alarm(k)
        assert alarm.created_at == at(started + minute * MINUTE_MS)
        assert alarm.reactions == []  # no ⏰ of the bot's own: members add theirs
        assert "Posted late" not in alarm.content
        ends_study = k % 2 == 1
        if k == 7:
            assert "study period 4 of 4 is over, and so is the run" in alarm.content
        elif ends_study:
            term = (k + 1) // 2
            assert f"study period {term} of 4 is over" in alarm.content
            assert f"After this break, study period {term + 1} of 4 starts." in alarm.content
        else:
            assert f"Study period {k // 2 + 1} of 4 starts now" in alarm.content
            assert "After this break" not in alarm.content

        await studio.advance(5)
        clicked = await alice.click(alarm, label="Dismiss")
        assert confirmation(clicked).content == f"Alarm #{k} dismissed, on time. ✅"
        await studio.advance(5)
        await bob.react(alarm, ALARM)
        if k != 4:
            await studio.advance(20)
            late = await carol.click(alarm, label="Dismiss")
            assert "on time" in confirmation(late).content
        else:
            await studio.advance(80)  # 90 s after the alarm: past the 60 s window
            late = await carol.click(alarm, label="Dismiss")
            assert "does not count as on time" in confirmation(late).content

    assert room.schedule() == schedule  # seven boundaries later, the same card

    for k in range(1, 8):  # each alarm shows who dismissed it, in order, and who was late
        assert room.dismissed(k) == [
            f"**alice** dismissed alarm #{k}",
            f"**bob** dismissed alarm #{k}",
            f"**carol** dismissed alarm #{k}" + (" (late)" if k == 4 else ""),
        ]
    assert not [line for line in room.lines() if "dismissed alarm" in line]  # no channel posts

    # the kings are announced when the last alarm's grace window has passed
    assert room.end_messages() == []
    await studio.advance_to(started + 231 * MINUTE_MS)
    end = room.end_message()
    assert end.created_at == at(started + 231 * MINUTE_MS)
    assert (
        "👑 Today's Study Kings: **alice** (+100 points back), **bob** (+50 points back)"
        in end.content
    )
    assert "carol" not in end.content
    assert "Finished" in room.timer_field()
    assert [await balance(m, town) for m in (alice, bob, carol)] == [
        "Balance: **1000** points",
        "Balance: **1000** points",
        "Balance: **950** points",
    ]

    for member, score in ((alice, 5), (bob, 4), (carol, 3)):
        rated = await member.click(end, label=str(score))
        assert rated.ephemeral and rated.response is not None
        assert f"({score}/5)" in rated.response.content and "2026-01-01" in rated.response.content
    async with studio.bot.services.uow() as uow:
        stored = {
            m.name: (await uow.ratings.get(town.guild.id, m.id, date(2026, 1, 1)))
            for m in (alice, bob, carol)
        }
    assert {name: r.score if r else None for name, r in stored.items()} == {
        "alice": 5,
        "bob": 4,
        "carol": 3,
    }

    # nobody presses Extend: after the 5-minute vote the room closes and its channels go
    await studio.advance(299)
    assert room.exists()
    await studio.advance(2 * MINUTE)
    assert not room.exists()
    assert await studio.bot.services.rooms.rooms_of(town.guild.id, alice.id) == []
    # refunds were paid once
    assert [await balance(m, town) for m in (alice, bob, carol)] == [
        "Balance: **1000** points",
        "Balance: **1000** points",
        "Balance: **950** points",
    ]

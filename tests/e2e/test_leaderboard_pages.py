"""``/leaderboard``: study time and Study Kings, by period, ten a page, names that ping nobody."""

from __future__ import annotations

from typing import Any

import discord
from simcord.actors import MemberActor

from bot.domain.run import RunStatus
from bot.domain.timer import MINUTE_MS
from storage.models import RunResult
from tests.support.studio import Studio, Town, response_of, speak_korean
from tests.support.voice import MINUTE, open_room, start_timer

DAY_MS = 24 * 60 * MINUTE_MS


async def studied(
    studio: Studio, town: Town, member: MemberActor | int, start: int, minutes: int
) -> None:
    user_id = member if isinstance(member, int) else member.id
    async with studio.bot.services.uow() as uow:
        await uow.study.add(
            guild_id=town.guild.id,
            user_id=user_id,
            start_ms=start,
            end_ms=start + minutes * MINUTE_MS,
        )
        await uow.commit()


def field(embed: Any, index: int) -> list[str]:
    return str(embed.fields[index].value).split("\n")


async def test_an_empty_period_says_so(studio: Studio) -> None:
    town = studio.guild("alice")
    result = await town.members[0].slash(town.general, "leaderboard")
    assert not result.ephemeral  # the ranking is for everyone to see
    embed = response_of(result).embeds[0]
    assert embed.title == "Leaderboard · This week"
    assert "Nobody has studied" in (embed.description or "")
    assert not embed.fields
    assert response_of(result).components == []


async def test_ranks_study_time_and_kings_by_period(studio: Studio) -> None:
    town = studio.guild("alice", "bob", "carol")
    alice, bob, carol = town.members
    await studio.advance(3 * 60 * MINUTE)  # 03:00 on the first day of the year
    now = studio.now_ms()
    await studied(studio, town, alice, now - 60 * MINUTE_MS, 30)  # today
    await studied(studio, town, bob, now - 60 * MINUTE_MS, 45)  # today
    await studied(studio, town, carol, now - 40 * DAY_MS, 120)  # last year: all time only
    room = await open_room(studio, town, alice, bob)
    async with studio.bot.services.uow() as uow:
        run = await uow.runs.add(
            room_id=room.room_id,
            run_no=1,
            study_ms=MINUTE_MS,
            break_ms=MINUTE_MS,
            terms=1,
            started_ms=now - MINUTE_MS,
            status=RunStatus.FINISHED,
        )
        await uow.runs.add_results(
            [
                RunResult(
                    run_id=run.id, user_id=bob.id, alarms=1, dismissed=1, on_time=1, is_king=True
                )
            ]
        )
        await uow.commit()

    today = await alice.slash(town.general, "leaderboard", period="day")
    embed = response_of(today).embeds[0]
    assert embed.title == "Leaderboard · Today"
    assert embed.fields[0].name == "Study time"
    assert field(embed, 0) == [f"**1.** <@{bob.id}> · 45m", f"**2.** <@{alice.id}> · 30m"]
    assert embed.fields[1].name == "Study Kings"
    assert field(embed, 1) == [f"**1.** <@{bob.id}> · 1 👑"]
    assert response_of(today).components == []  # one page: no buttons

    ever = await alice.slash(town.general, "leaderboard", period="all")
    embed = response_of(ever).embeds[0]
    assert embed.title == "Leaderboard · All time"
    assert field(embed, 0) == [
        f"**1.** <@{carol.id}> · 2h 00m",
        f"**2.** <@{bob.id}> · 45m",
        f"**3.** <@{alice.id}> · 30m",
    ]
    # names are mentions that ping nobody
    sent = [r for r in studio.env.http_requests if r.json and "embeds" in str(r.json)]
    assert sent and all(
        (r.json.get("data") or r.json).get("allowed_mentions") == {"parse": []}
        for r in sent
        if isinstance(r.json, dict) and "leaderboard" in str(r.json).lower()
    )


async def test_voice_study_reaches_the_board(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob)
    await start_timer(alice, room)
    await bob.join_voice(room.voice)
    await studio.advance(20 * MINUTE)
    await bob.leave_voice()
    result = await alice.slash(town.general, "leaderboard", period="day")
    assert field(response_of(result).embeds[0], 0) == [f"**1.** <@{bob.id}> · 20m"]


async def test_pages_of_ten_with_previous_and_next(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    await studio.advance(3 * 60 * MINUTE)
    now = studio.now_ms()
    users = [1000 + i for i in range(23)]
    for i, user in enumerate(users):
        await studied(studio, town, user, now - 30 * MINUTE_MS, 23 - i)  # 23, 22, … 1 minutes

    first = await alice.slash(town.general, "leaderboard", period="day")
    message = response_of(first)
    lines = field(message.embeds[0], 0)
    assert len(lines) == 10 and lines[0] == "**1.** <@1000> · 23m"
    assert message.embeds[0].footer.text == "Page 1"
    buttons = message.components[0]["components"]
    assert [b["label"] for b in buttons] == ["Previous", "Next"]
    assert [b.get("disabled", False) for b in buttons] == [True, False]

    await alice.click(message, label="Next")
    second = town.general.last_message
    assert second is not None and second.id == message.id  # the same message, edited
    lines = str(second.embeds[0].fields[0].value).split("\n")
    assert lines[0] == "**11.** <@1010> · 13m" and len(lines) == 10
    assert second.embeds[0].footer.text == "Page 2"

    await alice.click(second, label="Next")
    third = town.general.last_message
    assert third is not None
    lines = str(third.embeds[0].fields[0].value).split("\n")
    assert lines == [f"**{21 + i}.** <@{1020 + i}> · {3 - i}m" for i in range(3)]
    row = third.components[0]
    assert isinstance(row, discord.ActionRow)
    next_button = row.children[1]
    assert isinstance(next_button, discord.Button) and next_button.disabled

    await alice.click(third, label="Previous")
    back = town.general.last_message
    assert back is not None
    assert str(back.embeds[0].fields[0].value).split("\n")[0] == "**11.** <@1010> · 13m"


async def test_leaderboard_in_korean(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    await speak_korean(studio, town, alice)
    await studio.advance(3 * 60 * MINUTE)
    await studied(studio, town, alice, studio.now_ms() - 90 * MINUTE_MS, 65)
    result = await alice.slash(town.general, "leaderboard", period="month")
    embed = response_of(result).embeds[0]
    assert embed.title == "순위 · 이번 달"
    assert embed.fields[0].name == "공부 시간"
    assert field(embed, 0) == [f"**1.** <@{alice.id}> · 1시간 5분"]
    assert field(embed, 1) == ["아직 아무도 없어요."]


async def test_a_page_turn_that_fails_is_answered(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    await studio.advance(3 * 60 * MINUTE)
    now = studio.now_ms()
    for i in range(12):
        await studied(studio, town, 1000 + i, now - 30 * MINUTE_MS, 12 - i)
    first = await alice.slash(town.general, "leaderboard", period="day")
    # Discord fails the edit once: the member is told, not left with "interaction failed"
    studio.env.inject_error("POST", "/interactions/*/*/callback", status=500, times=1)
    result = await alice.click(response_of(first), label="Next")
    assert result.acknowledged and result.ephemeral
    assert "Something went wrong" in (response_of(result).content or "")
    assert town.general.last_message is not None
    assert town.general.last_message.embeds[0].footer.text == "Page 1"  # nothing changed

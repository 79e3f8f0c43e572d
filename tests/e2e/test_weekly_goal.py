"""``/goal hours`` as members use it, and their profile's progress towards the goal."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image
from simcord.actors import MemberActor
from simcord.builders import ChannelHandle
from sqlalchemy import select

from bot.render.palette import ACCENT, BAR_TRACK
from bot.render.profile import card_for, layout_card
from storage.models import Base
from tests.e2e.test_profile_card import card_of
from tests.support.studio import Studio, Town, response_of, speak_korean

MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR


async def sql_state(studio: Studio) -> dict[str, list[tuple[Any, ...]]]:
    async with studio.bot.services.uow() as uow:
        state: dict[str, list[tuple[Any, ...]]] = {}
        for table in Base.metadata.sorted_tables:
            rows = await uow.session.execute(select(table).order_by(*table.primary_key.columns))
            state[table.name] = [tuple(row) for row in rows]
        return state


async def say(member: MemberActor, channel: ChannelHandle, name: str, **options: Any) -> str:
    result = await member.slash(channel, name, **options)
    assert result.ephemeral and result.response is not None
    return result.response.content


async def goal_of(studio: Studio, town: Town, member: MemberActor) -> int | None:
    async with studio.bot.services.uow() as uow:
        row = await uow.members.get(town.guild.id, member.id)
        return row.weekly_goal_minutes if row else None


async def studied(studio: Studio, town: Town, member: MemberActor, start: int, ms: int) -> None:
    async with studio.bot.services.uow() as uow:
        await uow.study.add(
            guild_id=town.guild.id, user_id=member.id, start_ms=start, end_ms=start + ms
        )
        await uow.commit()


def pixel(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    value = image.convert("RGB").getpixel((x, y))
    assert isinstance(value, tuple)
    return value[0], value[1], value[2]


async def test_a_goal_is_set_shown_on_the_profile_and_cleared(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    now = studio.now_ms()  # Thursday 2026-01-01, 00:00 UTC: the week began on Monday
    await studied(studio, town, alice, now - 12 * HOUR - 30 * MIN, 12 * HOUR + 30 * MIN)
    await studied(studio, town, alice, now - 5 * DAY, 3 * HOUR)  # last week: not counted

    saved = await say(alice, channel, "goal", hours=20)
    assert saved.startswith("Your weekly goal is now **20h** of study.")
    assert "/profile" in saved
    assert await goal_of(studio, town, alice) == 20 * 60

    result = await alice.slash(channel, "profile")
    assert "this week 12h 30m of 20h (62%)" in response_of(result).content
    image = await card_of(result)
    data = await studio.bot.services.profile.profile(town.guild.id, alice.id)
    layout = layout_card(card_for(data, "alice", "en"))
    week = layout.tile("week")
    assert week.tile.value == "12h 30m of 20h"
    left, top, right, bottom = week.bar_box
    middle = (top + bottom) // 2
    assert pixel(image, left + 4, middle) == ACCENT  # 62% of the way: the bar is filled ...
    assert pixel(image, left + (right - left) // 2, middle) == ACCENT
    assert pixel(image, right - 5, middle) == BAR_TRACK  # ... but not to the end

    assert await say(alice, channel, "goal", hours=12.5) == (
        "Your weekly goal is now **12h 30m** of study. /profile shows how far this week has come."
    )
    again = await alice.slash(channel, "profile")
    assert "this week 12h 30m of 12h 30m (100%)" in response_of(again).content

    assert await say(alice, channel, "goal", hours=0) == "Your weekly goal is cleared."
    assert await goal_of(studio, town, alice) is None
    cleared = response_of(await alice.slash(channel, "profile")).content
    assert "this week" not in cleared


@pytest.mark.parametrize("hours", [-1, 0.5, 168.5, 500])
async def test_out_of_range_goals_are_refused_privately_and_change_nothing(
    studio: Studio, hours: float
) -> None:
    town = studio.guild("alice", "bob")
    channel, alice, bob = town.general, *town.members
    await say(alice, channel, "goal", hours=10)
    await speak_korean(studio, town, bob)
    before = await sql_state(studio)
    assert await say(alice, channel, "goal", hours=hours) == (
        "The weekly goal (in hours) must be between 1 and 168."
    )
    assert await say(bob, channel, "goal", hours=hours) == (
        "주간 목표(시간)는 1에서 168 사이여야 해요."
    )
    assert await sql_state(studio) == before
    assert await goal_of(studio, town, alice) == 10 * 60


async def test_only_whole_or_half_hours_make_a_goal(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    before = await sql_state(studio)
    refused = await say(alice, channel, "goal", hours=7.25)
    assert refused == "The weekly goal (in hours) must be whole or half hours, such as 20 or 12.5."
    assert await sql_state(studio) == before


async def test_goal_in_korean(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    await speak_korean(studio, town, alice)
    await studied(studio, town, alice, studio.now_ms() - 2 * HOUR, 2 * HOUR)
    saved = await say(alice, channel, "goal", hours=10)
    assert saved.startswith("주간 목표를 **10시간** 공부로 정했어요.")
    assert "/프로필" in saved
    result = await alice.slash(channel, "profile")
    assert "이번 주 2시간 0분 / 10시간 (20%)" in response_of(result).content
    assert await card_of(result)

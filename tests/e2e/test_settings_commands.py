"""``/settings timezone`` and ``/settings language`` as members use them: their own day
boundary and the language of every personal reply."""

from __future__ import annotations

from typing import Any

import pytest
from simcord.actors import MemberActor
from simcord.backend.errors import OptionError
from simcord.builders import ChannelHandle
from sqlalchemy import select

from storage.models import Base, Member
from tests.support.studio import Studio, Town


async def sql_state(studio: Studio) -> dict[str, list[tuple[Any, ...]]]:
    async with studio.bot.services.uow() as uow:
        state: dict[str, list[tuple[Any, ...]]] = {}
        for table in Base.metadata.sorted_tables:
            rows = await uow.session.execute(select(table).order_by(*table.primary_key.columns))
            state[table.name] = [tuple(row) for row in rows]
        return state


async def member_row(studio: Studio, town: Town, member: MemberActor) -> Member | None:
    async with studio.bot.services.uow() as uow:
        return await uow.members.get(town.guild.id, member.id)


async def say(member: MemberActor, channel: ChannelHandle, name: str, **options: Any) -> str:
    result = await member.slash(channel, name, **options)
    assert result.ephemeral and result.response is not None
    return result.response.content


# -- time zone ---------------------------------------------------------------------------------


async def test_timezone_autocomplete_filters_by_what_is_typed(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    seoul = await alice.autocomplete(channel, "settings timezone", "zone", "seoul")
    assert [c["value"] for c in seoul] == ["Asia/Seoul"]
    assert seoul[0]["name"] == "Asia/Seoul"
    europe = await alice.autocomplete(channel, "settings timezone", "zone", "Europe/")
    assert len(europe) == 25 and all(c["value"].startswith("Europe/") for c in europe)
    new = await alice.autocomplete(channel, "settings timezone", "zone", "new y")
    assert "America/New_York" in [c["value"] for c in new]
    start = await alice.autocomplete(channel, "settings timezone", "zone", "")
    assert 0 < len(start) <= 25 and start[0]["value"] == "UTC"
    assert await alice.autocomplete(channel, "settings timezone", "zone", "Atlantis") == []


async def test_setting_a_timezone_moves_the_members_day(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    channel, alice, bob = town.general, *town.members
    reply = await say(alice, channel, "settings timezone", zone="Asia/Seoul")
    assert reply.startswith("Your time zone is now **Asia/Seoul**: it is 09:00 on 2026-01-01")
    assert (await member_row(studio, town, alice)).timezone == "Asia/Seoul"  # type: ignore[union-attr]

    # 2026-01-01 00:00 UTC: already 09:00 in Seoul, still New Year's Eve in Los Angeles
    assert "2025-12-31" in await say(bob, channel, "settings timezone", zone="america/los_angeles")
    assert (await member_row(studio, town, bob)).timezone == "America/Los_Angeles"  # type: ignore[union-attr]
    assert "today (2025-12-31)" in await say(bob, channel, "todo add", text="last of the year")
    assert "today (2026-01-01)" in await say(alice, channel, "todo add", text="first of the year")

    await studio.advance(16 * 3600)  # 16:00 UTC: the 2nd in Seoul, the 1st in LA
    assert "today (2026-01-02)" in await say(alice, channel, "todo list")
    assert "today (2026-01-01)" in await say(bob, channel, "todo list")


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "localtime", "Seoul", "+09:00", "Asia/Seoul/x"]
)
async def test_unknown_timezones_are_refused(studio: Studio, zone: str) -> None:
    town = studio.guild("alice", "bob")
    channel, alice, bob = town.general, *town.members
    await say(alice, channel, "settings timezone", zone="Asia/Seoul")
    await say(bob, channel, "settings language", locale="ko")
    before = await sql_state(studio)
    english = await say(alice, channel, "settings timezone", zone=zone)
    assert english.startswith("The time zone ")
    assert "`Asia/Seoul`" in english
    hangul = await say(bob, channel, "settings timezone", zone=zone)
    assert hangul.startswith("시간대")
    assert await sql_state(studio) == before
    assert (await member_row(studio, town, alice)).timezone == "Asia/Seoul"  # type: ignore[union-attr]


async def test_a_blank_timezone_is_refused(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    before = await sql_state(studio)
    assert await say(alice, channel, "settings timezone", zone="  \u200b ") == (
        "The time zone cannot be empty."
    )
    assert await sql_state(studio) == before


# -- language ----------------------------------------------------------------------------------


async def test_language_korean_makes_every_personal_reply_korean(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    channel, alice, bob = town.general, *town.members
    assert await say(alice, channel, "settings language", locale="ko") == (
        "좋아요: 이제부터 한국어로 답할게요."
    )
    assert (await member_row(studio, town, alice)).locale == "ko"  # type: ignore[union-attr]

    assert "오늘 (2026-01-01)" in await say(alice, channel, "todo add", text="read")
    assert "할 일" in await say(alice, channel, "todo list")
    assert "만족도" in await say(alice, channel, "rate", score=4)
    assert "평균 만족도" in await say(alice, channel, "calendar")
    assert "시간대는 **Asia/Seoul**" in await say(
        alice, channel, "settings timezone", zone="Asia/Seoul"
    )
    points = await alice.slash(channel, "points")
    assert points.response is not None and points.response.embeds[0].title == "내 포인트"
    # errors too
    assert await say(alice, channel, "todo add", text="") == "내용이 비어 있어요."
    # another member is unaffected
    assert "today" in await say(bob, channel, "todo add", text="read")

    # and back
    assert await say(alice, channel, "settings language", locale="en") == (
        "Done: I will answer you in English from now on."
    )
    assert "today (2026-01-01)" in await say(alice, channel, "todo add", text="again")


async def test_language_is_one_of_the_offered_choices(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    before = await sql_state(studio)
    with pytest.raises(OptionError):
        await alice.slash(channel, "settings language", locale="fr")
    assert await sql_state(studio) == before


async def test_the_setting_survives_a_restart(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    await say(alice, channel, "settings language", locale="ko")
    await studio.restart()
    assert await say(alice, channel, "todo add", text="") == "내용이 비어 있어요."

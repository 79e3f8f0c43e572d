"""``/calendar`` and ``/rate`` as members use them: a private picture of their own month
that agrees with their data, ratings 1–5 only, bad input refused in their language."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image, ImageStat
from simcord.actors import MemberActor
from simcord.backend.errors import OptionError
from simcord.builders import ChannelHandle
from simcord.enums import InteractionType
from simcord.results import InteractionResult
from sqlalchemy import select

from bot.render.calendar import CELL, WIDTH, CalendarLayout, layout_month
from bot.render.palette import ACCENT, BAR_FILL, RATING_COLORS
from bot.services.calendar import CalendarService
from storage.models import Base, Rating
from tests.support.studio import Studio, Town


async def sql_state(studio: Studio) -> dict[str, list[tuple[Any, ...]]]:
    async with studio.bot.services.uow() as uow:
        state: dict[str, list[tuple[Any, ...]]] = {}
        for table in Base.metadata.sorted_tables:
            rows = await uow.session.execute(select(table).order_by(*table.primary_key.columns))
            state[table.name] = [tuple(row) for row in rows]
        return state


async def ratings_of(studio: Studio, town: Town, member: MemberActor) -> list[tuple[str, int]]:
    async with studio.bot.services.uow() as uow:
        rows = await uow.session.scalars(
            select(Rating)
            .where(Rating.guild_id == town.guild.id, Rating.user_id == member.id)
            .order_by(Rating.day)
        )
        return [(r.day.isoformat(), r.score) for r in rows]


async def say(member: MemberActor, channel: ChannelHandle, name: str, **options: Any) -> str:
    result = await member.slash(channel, name, **options)
    assert result.ephemeral and result.response is not None
    return result.response.content


async def picture(result: InteractionResult) -> Image.Image:
    assert result.ephemeral and result.response is not None
    [attachment] = result.response.attachments
    assert attachment.filename.endswith(".png")
    image = Image.open(io.BytesIO(await attachment.read()))
    assert image.format == "PNG"
    return image.convert("RGB")


async def layout_of(studio: Studio, town: Town, member: MemberActor, month: str) -> CalendarLayout:
    """Where the renderer put each day, from the member's data as the service reads it."""
    services = studio.bot.services
    data = await CalendarService(services.uow, services.clock, services.settings).month(
        town.guild.id, member.id, month
    )
    return layout_month(data)


def not_blank(image: Image.Image) -> bool:
    """Drawn on: the pixels vary, in many colours (text is anti-aliased)."""
    colours = image.getcolors(maxcolors=1 << 16) or []
    return max(ImageStat.Stat(image).stddev) > 8 and len(colours) > 50


def near(actual: object, expected: tuple[int, int, int], tolerance: int = 6) -> bool:
    """``actual``, a pixel as ``Image.getpixel`` returns it, is an RGB colour near ``expected``."""
    assert isinstance(actual, tuple), actual
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


async def tampered(
    studio: Studio, member: MemberActor, channel: ChannelHandle, name: str, **options: Any
) -> InteractionResult:
    """What a modified client could send: option values the real client would refuse."""
    root = studio.env.backend.find_command(name, member.guild.id, type=1)
    assert root is not None
    data = {
        "id": root["id"],
        "name": root["name"],
        "type": 1,
        "options": [
            {"name": k, "type": 4 if isinstance(v, int) else 3, "value": v}
            for k, v in options.items()
        ],
    }
    return await member._dispatch_interaction(InteractionType.APPLICATION_COMMAND, channel, data)


async def korean(member: MemberActor, channel: ChannelHandle) -> None:
    assert "한국어" in await say(member, channel, "settings language", locale="ko")


# -- /rate -------------------------------------------------------------------------------------


async def test_rate_today_and_a_given_day(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    assert await say(alice, channel, "rate", score=4) == (
        "Rated **today (2026-01-01)**: ★★★★☆ **4**/5. It is on your `/calendar`."
    )
    assert "★★☆☆☆ **2**/5" in await say(alice, channel, "rate", score=2)  # replaces
    assert "**2025-12-30**" in await say(alice, channel, "rate", score=5, date="2025-12-30")
    assert await ratings_of(studio, town, alice) == [("2025-12-30", 5), ("2026-01-01", 2)]


async def test_rate_in_korean(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    await korean(alice, channel)
    assert await say(alice, channel, "rate", score=3) == (
        "**오늘 (2026-01-01)** 만족도: ★★★☆☆ **3**/5. `/calendar`에 표시돼요."
    )


@pytest.mark.parametrize("score", [0, 6])
async def test_scores_outside_one_to_five_cannot_be_sent(studio: Studio, score: int) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    await say(alice, channel, "rate", score=3)
    before = await sql_state(studio)
    with pytest.raises(OptionError):  # the Discord client does not let it through
        await alice.slash(channel, "rate", score=score)
    assert await sql_state(studio) == before


@pytest.mark.parametrize("score", [0, 6, -1])
async def test_scores_outside_one_to_five_are_refused_by_the_bot_too(
    studio: Studio, score: int
) -> None:
    town = studio.guild("alice", "bob")
    channel, alice, bob = town.general, *town.members
    await say(alice, channel, "rate", score=3)
    await korean(bob, channel)
    before = await sql_state(studio)
    english = await tampered(studio, alice, channel, "rate", score=score)
    assert english.ephemeral and english.response is not None
    assert english.response.content == "The score must be between 1 and 5."
    hangul = await tampered(studio, bob, channel, "rate", score=score)
    assert hangul.response is not None
    assert hangul.response.content == "점수는 1에서 5 사이여야 해요."
    assert await sql_state(studio) == before


@pytest.mark.parametrize(
    ("day", "english", "korean_text"),
    [
        ("2026-02-29", "The date is not a real date.", "실제로 없는 날짜"),
        ("2026/01/02", "The date must look like YYYY-MM-DD.", "YYYY-MM-DD 형식"),
        ("2027-01-03", "The date is too far from today", "너무 멀어요"),
        ("9999-12-31", "The date is too far from today", "너무 멀어요"),
    ],
)
async def test_rate_refuses_bad_dates(
    studio: Studio, day: str, english: str, korean_text: str
) -> None:
    town = studio.guild("alice", "bob")
    channel, alice, bob = town.general, *town.members
    await korean(bob, channel)
    before = await sql_state(studio)
    assert english in await say(alice, channel, "rate", score=3, date=day)
    assert korean_text in await say(bob, channel, "rate", score=3, date=day)
    assert await sql_state(studio) == before


# -- /calendar ---------------------------------------------------------------------------------


async def test_calendar_pictures_the_members_month(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    channel, alice, bob = town.general, *town.members
    for text, day in (("read", None), ("write", None), ("plan", "2026-01-03")):
        await say(alice, channel, "todo add", text=text, **({"date": day} if day else {}))
    choices = await alice.autocomplete(channel, "todo done", "item", "read")
    await say(alice, channel, "todo done", item=choices[0]["value"])
    await say(alice, channel, "rate", score=4)  # today, 2026-01-01
    await say(alice, channel, "rate", score=1, date="2026-01-05")
    await say(bob, channel, "rate", score=5, date="2026-01-10")  # Bob's, not Alice's

    result = await alice.slash(channel, "calendar")
    assert result.response is not None
    assert result.response.content == (
        "**January 2026** · 1/3 todos done · average satisfaction **2.5** over 2 rated day(s)"
    )
    assert result.response.attachments[0].filename == "calendar-2026-01.png"
    image = await picture(result)
    layout = await layout_of(studio, town, alice, "2026-01")
    assert image.size == (WIDTH, layout.height)
    assert not_blank(image)

    # the cells agree with the data
    assert near(image.getpixel(layout.cell(1).rating_swatch), RATING_COLORS[4])
    assert near(image.getpixel(layout.cell(5).rating_swatch), RATING_COLORS[1])
    for unrated in (2, 3, 10, 31):  # Bob's rating of the 10th is not on Alice's calendar
        cell = layout.cell(unrated)
        assert near(image.getpixel(cell.rating_swatch), cell.background), unrated
    filled = layout.cell(1).bar_fill_box
    assert filled is not None  # 1 of 2 done today
    assert near(image.getpixel(((filled[0] + filled[2]) // 2, filled[1] + 2)), BAR_FILL)
    assert layout.cell(3).bar_fill_box is None  # 0 of 1 on the 3rd
    # today is outlined
    left, top, _, bottom = layout.cell(1).box
    assert near(image.getpixel((left + 1, (top + bottom) // 2)), ACCENT)
    left, top, _, bottom = layout.cell(2).box
    assert not near(image.getpixel((left + 1, (top + bottom) // 2)), ACCENT)

    bobs = await picture(await bob.slash(channel, "calendar"))
    bob_layout = await layout_of(studio, town, bob, "2026-01")
    assert near(bobs.getpixel(bob_layout.cell(10).rating_swatch), RATING_COLORS[5])
    assert near(bobs.getpixel(bob_layout.cell(1).rating_swatch), bob_layout.cell(1).background)


async def test_a_month_with_no_data_still_renders_with_a_note(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    before = await sql_state(studio)
    result = await alice.slash(channel, "calendar", month="2026-02")
    assert result.response is not None
    content = result.response.content
    assert content.startswith("**February 2026** · 0/0 todos done · no day rated yet")
    assert "Nothing is recorded for this month yet" in content
    image = await picture(result)
    layout = await layout_of(studio, town, alice, "2026-02")
    assert image.size == (WIDTH, layout.height)
    assert not_blank(image)
    assert len(layout.cells) == 28
    for cell in layout.cells:
        assert near(image.getpixel(cell.rating_swatch), CELL)  # today is in January
    assert await sql_state(studio) == before


async def test_calendar_in_korean(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    english = await picture(await alice.slash(channel, "calendar"))
    await korean(alice, channel)
    await say(alice, channel, "rate", score=5)
    result = await alice.slash(channel, "calendar")
    assert result.response is not None
    assert result.response.content.startswith(
        "**2026년 1월** · 할 일 0/0 완료 · 평균 만족도 **5.0** (1일 평가)"
    )
    image = await picture(result)
    assert image.size == english.size
    layout = await layout_of(studio, town, alice, "2026-01")
    assert near(image.getpixel(layout.cell(1).rating_swatch), RATING_COLORS[5])
    # the header and legend are drawn in Korean: they differ from the English picture
    header = (0, 0, WIDTH, 90)
    assert image.crop(header).tobytes() != english.crop(header).tobytes()


async def test_this_month_is_the_members_own(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    # 2026-01-01 00:00 UTC is still New Year's Eve in Los Angeles
    await say(alice, channel, "settings timezone", zone="America/Los_Angeles")
    result = await alice.slash(channel, "calendar")
    assert result.response is not None
    assert result.response.content.startswith("**December 2025**")
    assert result.response.attachments[0].filename == "calendar-2025-12.png"
    layout = await layout_of(studio, town, alice, "2025-12")
    assert layout.month.today.isoformat() == "2025-12-31"
    image = await picture(result)
    left, top, _, bottom = layout.cell(31).box
    assert near(image.getpixel((left + 1, (top + bottom) // 2)), ACCENT)


@pytest.mark.parametrize(
    ("month", "english", "korean_text"),
    [
        ("2026-13", "The month is not a real month.", "실제로 없는 달"),
        ("2026-00", "The month is not a real month.", "실제로 없는 달"),
        ("2026/01", "The month must look like YYYY-MM", "YYYY-MM 형식"),
        ("January", "The month must look like YYYY-MM", "YYYY-MM 형식"),
        ("2026-1", "The month must look like YYYY-MM", "YYYY-MM 형식"),
        ("2028-02", "The month is too far from this one", "너무 멀어요"),
        ("9999-12", "The month is too far from this one", "너무 멀어요"),
    ],
)
async def test_bad_months_are_refused_in_the_members_language(
    studio: Studio, month: str, english: str, korean_text: str
) -> None:
    town = studio.guild("alice", "bob")
    channel, alice, bob = town.general, *town.members
    await korean(bob, channel)
    before = await sql_state(studio)
    result = await alice.slash(channel, "calendar", month=month)
    assert result.ephemeral and result.response is not None
    assert english in result.response.content
    assert result.response.attachments == []
    assert korean_text in await say(bob, channel, "calendar", month=month)
    assert await sql_state(studio) == before

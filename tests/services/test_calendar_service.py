"""A member's month through the service: todos done/total and the rating per day, the average,
months of the member's own time zone; bad months refused; nothing ever written."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.clock import from_datetime
from bot.domain.errors import ValidationError
from bot.services.calendar import CalendarService, MonthData, parse_month
from tests.support.world import (
    ALICE,
    BOB,
    GUILD,
    OTHER_GUILD,
    SETTINGS,
    START,
    TODAY,
    World,
    set_timezone,
    sql_state,
)

pytestmark = pytest.mark.memory_storage  # rules, not storage (storage suites run every backend)


def service(world: World) -> CalendarService:
    return CalendarService(world.app.uow, world.app.clock, SETTINGS)


async def test_a_month_counts_todos_and_ratings_per_day(world: World) -> None:
    todos = world.app.todos
    read = await todos.add(GUILD, ALICE, "read")
    await todos.add(GUILD, ALICE, "write")
    await todos.add(GUILD, ALICE, "rest")
    await todos.done(GUILD, ALICE, read.id)
    exam = await todos.add(GUILD, ALICE, "exam", "2026-03-20")
    await todos.done(GUILD, ALICE, exam.id)
    await todos.add(GUILD, ALICE, "next month", "2026-04-01")
    await todos.rate(GUILD, ALICE, 4)
    await todos.rate(GUILD, ALICE, 1, "2026-03-05")
    await todos.rate(GUILD, ALICE, 5, "2026-02-28")  # another month
    # other members and guilds stay out
    await todos.add(GUILD, BOB, "Bob's")
    await todos.rate(GUILD, BOB, 2, "2026-03-07")
    await todos.add(OTHER_GUILD, ALICE, "elsewhere")
    await todos.rate(OTHER_GUILD, ALICE, 3, "2026-03-09")

    before = await sql_state(world)
    month = await service(world).month(GUILD, ALICE)
    assert await sql_state(world) == before  # reading writes nothing

    assert (month.year, month.month, month.today) == (2026, 3, TODAY)
    assert len(month.days) == 31
    assert [d.day for d in month.days] == [date(2026, 3, n) for n in range(1, 32)]
    today = month.day(2)
    assert (today.done, today.total, today.rating) == (1, 3, 4)
    assert (month.day(20).done, month.day(20).total, month.day(20).rating) == (1, 1, None)
    assert (month.day(5).done, month.day(5).total, month.day(5).rating) == (0, 0, 1)
    for n in (1, 7, 9, 31):
        assert not month.day(n).has_data
    assert [d.day.day for d in month.rated] == [2, 5]
    assert month.average == pytest.approx(2.5)
    assert (month.done, month.total) == (2, 4)
    assert not month.is_empty

    february = await service(world).month(GUILD, ALICE, "2026-02")
    assert len(february.days) == 28 and february.average == 5.0
    april = await service(world).month(GUILD, ALICE, "2026-04")
    assert (april.total, april.done, april.average) == (1, 0, None)


async def test_a_month_without_data_is_empty_not_an_error(world: World) -> None:
    month = await service(world).month(GUILD, ALICE, "2026-06")
    assert isinstance(month, MonthData)
    assert month.is_empty and month.average is None and month.rated == ()
    assert (month.done, month.total, len(month.days)) == (0, 0, 30)
    leap = await service(world).month(GUILD, ALICE, "2028-02")
    assert len(leap.days) == 29


async def test_this_month_is_the_members_own(world: World) -> None:
    await set_timezone(world, BOB, "Pacific/Honolulu")
    await world.advance_to(from_datetime(START.replace(month=4, day=1, hour=5)))  # 05:00 UTC
    # still March in Honolulu (UTC-10)
    bob = await service(world).month(GUILD, BOB)
    assert (bob.year, bob.month, bob.today) == (2026, 3, date(2026, 3, 31))
    alice = await service(world).month(GUILD, ALICE)
    assert (alice.year, alice.month, alice.today) == (2026, 4, date(2026, 4, 1))
    # a rating made "today" by Bob lands on his calendar's day
    await world.app.todos.rate(GUILD, BOB, 3)
    assert (await service(world).month(GUILD, BOB)).day(31).rating == 3
    assert (await service(world).month(GUILD, ALICE)).rated == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2026-13", "month_invalid"),
        ("2026-00", "month_invalid"),
        ("0000-05", "month_invalid"),
        ("2026-3", "month_format"),
        ("2026/03", "month_format"),
        ("March", "month_format"),
        ("2026-03-01", "month_format"),
        ("2028-04", "month_too_far"),  # 25 months ahead
        ("2024-02", "month_too_far"),  # 25 months back
        ("9999-12", "month_too_far"),
    ],
)
async def test_bad_months_are_refused(world: World, text: str, problem: str) -> None:
    before = await sql_state(world)
    with pytest.raises(ValidationError) as refused:
        await service(world).month(GUILD, ALICE, text)
    assert (refused.value.field, refused.value.problem) == ("month", problem)
    assert await sql_state(world) == before


def test_parse_month_defaults_and_limits() -> None:
    today = date(2026, 3, 2)
    assert parse_month(None, today) == (2026, 3)
    assert parse_month("  ", today) == (2026, 3)
    assert parse_month(" 2026-04 ", today) == (2026, 4)
    assert parse_month("2028-03", today) == (2028, 3)  # 24 months either way
    assert parse_month("2024-03", today) == (2024, 3)
    assert parse_month("2025-12", today) == (2025, 12)
    assert parse_month("2028-01", today + timedelta(days=30)) == (2028, 1)

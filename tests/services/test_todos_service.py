"""Todos and day ratings through the service: each member's own, on days of their own time
zone; every refusal leaves the stored state exactly as it was."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, datetime, timedelta

import pytest

from bot.clock import from_datetime
from bot.domain.errors import AlreadyDone, NotFound, ValidationError
from bot.domain.todos import DayRating, TodoItem
from bot.services.events import TodoCompleted
from storage.models import Rating
from tests.support.world import (
    ALICE,
    BOB,
    CAROL,
    GUILD,
    OTHER_GUILD,
    START,
    TODAY,
    World,
    set_timezone,
    sql_state,
)

pytestmark = pytest.mark.memory_storage  # rules, not storage (storage suites run every backend)

TRICKY = "@everyone <@123> read **ch. 4** _now_ `x` ||spoiler||"
LONG_TEXT = ("@everyone <@123> **spam** " * 80)[:2001]


async def ratings(world: World, user: int) -> list[Rating]:
    async with world.app.uow() as uow:
        return await uow.ratings.for_month(GUILD, user, 2026, 3)


def completed(world: World) -> list[TodoCompleted]:
    return [e for e in world.seen.events if isinstance(e, TodoCompleted)]


# -- the list of a day -----------------------------------------------------------------------


async def test_add_and_list_today_and_a_given_date(world: World) -> None:
    todos = world.app.todos
    first = await todos.add(GUILD, ALICE, "read ch. 4")
    second = await todos.add(GUILD, ALICE, "  solve 10 problems\u200b ")
    later = await todos.add(GUILD, ALICE, "mock exam", "2026-03-05")
    assert (first.guild_id, first.user_id, first.day, first.done) == (GUILD, ALICE, TODAY, False)
    assert first.created_ms == world.now_ms()
    assert second.text == "solve 10 problems"  # cleaned
    assert later.day == date(2026, 3, 5)

    today = await todos.for_day(GUILD, ALICE)
    assert today.day == TODAY
    assert [t.id for t in today.todos] == [first.id, second.id]  # in the order added
    assert today.done == 0
    assert [t.id for t in (await todos.for_day(GUILD, ALICE, "2026-03-05")).todos] == [later.id]
    assert (await todos.for_day(GUILD, ALICE, " 2026-03-02 ")).day == TODAY
    assert (await todos.for_day(GUILD, ALICE, "2026-03-04")).todos == ()
    assert (await todos.for_day(GUILD, BOB)).todos == ()
    assert (await todos.for_day(OTHER_GUILD, ALICE)).todos == ()
    assert await todos.today(GUILD, ALICE) == TODAY


async def test_user_text_is_stored_verbatim(world: World) -> None:
    todo = await world.app.todos.add(GUILD, ALICE, TRICKY)
    assert todo.text == TRICKY
    [stored] = (await world.app.todos.for_day(GUILD, ALICE)).todos
    assert stored.text == TRICKY
    edited = await world.app.todos.edit(GUILD, ALICE, todo.id, "x" * 200)
    assert edited.text == "x" * 200


async def test_done_undo_edit_remove(world: World) -> None:
    todos = world.app.todos
    todo = await todos.add(GUILD, ALICE, "read ch. 4")
    other = await todos.add(GUILD, ALICE, "write summary")
    await world.advance(60_000)

    done = await todos.done(GUILD, ALICE, todo.id)
    assert done.done and done.done_ms == world.now_ms()
    day = await todos.for_day(GUILD, ALICE)
    assert day.done == 1 and [t.done for t in day.todos] == [True, False]

    before = await sql_state(world)
    with pytest.raises(AlreadyDone):
        await todos.done(GUILD, ALICE, todo.id)
    assert await sql_state(world) == before
    assert len(completed(world)) == 1  # the refused one told nobody

    undone = await todos.undo(GUILD, ALICE, todo.id)
    assert not undone.done and undone.done_ms is None
    before = await sql_state(world)
    with pytest.raises(AlreadyDone):  # nothing to undo
        await todos.undo(GUILD, ALICE, todo.id)
    assert await sql_state(world) == before
    assert (await todos.for_day(GUILD, ALICE)).done == 0

    edited = await todos.edit(GUILD, ALICE, todo.id, " read ch. 5 ")
    assert edited.text == "read ch. 5"
    assert [t.text for t in (await todos.for_day(GUILD, ALICE)).todos] == [
        "read ch. 5",
        "write summary",
    ]

    removed = await todos.remove(GUILD, ALICE, todo.id)
    assert removed.id == todo.id
    assert [t.id for t in (await todos.for_day(GUILD, ALICE)).todos] == [other.id]
    before = await sql_state(world)
    for action in (todos.done, todos.undo, todos.remove):
        with pytest.raises(NotFound):
            await action(GUILD, ALICE, todo.id)
    with pytest.raises(NotFound):
        await todos.edit(GUILD, ALICE, todo.id, "back")
    assert await sql_state(world) == before


async def test_todos_on_a_given_date_are_handled_alike(world: World) -> None:
    todos = world.app.todos
    todo = await todos.add(GUILD, ALICE, "plan next week", "2026-02-27")
    await todos.done(GUILD, ALICE, todo.id)
    past = await todos.for_day(GUILD, ALICE, "2026-02-27")
    assert past.day == date(2026, 2, 27) and past.done == 1
    assert (await todos.for_day(GUILD, ALICE)).todos == ()
    await todos.edit(GUILD, ALICE, todo.id, "plan next month")
    await todos.remove(GUILD, ALICE, todo.id)
    assert (await todos.for_day(GUILD, ALICE, "2026-02-27")).todos == ()


async def test_todos_and_ratings_leave_the_service_as_values(world: World) -> None:
    """What the service hands out is a frozen copy: nothing a caller does to it is stored."""
    todos = world.app.todos
    todo = await todos.add(GUILD, ALICE, "read ch. 4")
    handed_out: list[object] = [
        todo,
        *(await todos.for_day(GUILD, ALICE)).todos,
        await todos.get(GUILD, ALICE, todo.id),
        *await todos.search(GUILD, ALICE, "read"),
        *(await todos.choices(GUILD, ALICE, "read"))[1],
        await todos.find_by_text(GUILD, ALICE, "read ch. 4"),
        await todos.edit(GUILD, ALICE, todo.id, "read ch. 5"),
        await todos.done(GUILD, ALICE, todo.id),
        await todos.undo(GUILD, ALICE, todo.id),
        await todos.remove(GUILD, ALICE, todo.id),
    ]
    assert all(type(item) is TodoItem for item in handed_out)
    with pytest.raises(dataclasses.FrozenInstanceError):
        todo.text = "changed"  # type: ignore[misc]
    rating = await todos.rate(GUILD, ALICE, 4)
    assert rating == DayRating(GUILD, ALICE, TODAY, 4, world.now_ms())


async def test_someone_elses_todo_is_not_found_and_untouched(world: World) -> None:
    todos = world.app.todos
    mine = await todos.add(GUILD, ALICE, "Alice's secret plan")
    await todos.add(GUILD, BOB, "Bob's own")
    await todos.add(OTHER_GUILD, ALICE, "elsewhere")
    before = await sql_state(world)

    for guild, user in ((GUILD, BOB), (OTHER_GUILD, ALICE)):
        with pytest.raises(NotFound):
            await todos.done(guild, user, mine.id)
        with pytest.raises(NotFound):
            await todos.undo(guild, user, mine.id)
        with pytest.raises(NotFound):
            await todos.edit(guild, user, mine.id, "defaced")
        with pytest.raises(NotFound):
            await todos.remove(guild, user, mine.id)
    with pytest.raises(NotFound):
        await todos.done(GUILD, ALICE, mine.id + 1000)

    assert await sql_state(world) == before
    assert completed(world) == []
    [still] = (await todos.for_day(GUILD, ALICE)).todos
    assert (still.text, still.done) == ("Alice's secret plan", False)


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\u200b\u200d\ufeff", "x" * 201, LONG_TEXT, "two\nlines", "tab\there"],
)
async def test_bad_text_is_refused_and_writes_nothing(world: World, text: str) -> None:
    todos = world.app.todos
    todo = await todos.add(GUILD, ALICE, "fine")
    before = await sql_state(world)
    with pytest.raises(ValidationError) as refused:
        await todos.add(GUILD, ALICE, text)
    assert refused.value.field == "text"
    with pytest.raises(ValidationError):
        await todos.edit(GUILD, ALICE, todo.id, text)
    assert await sql_state(world) == before
    with pytest.raises(ValidationError):
        await todos.add(GUILD, BOB, text)  # a first-time member: not even created
    assert await sql_state(world) == before


@pytest.mark.parametrize(
    ("day", "problem"),
    [
        ("2026-02-30", "invalid"),
        ("2026-13-01", "invalid"),
        ("03/05/2026", "format"),
        ("tomorrow", "format"),
        ("2026-3-5", "format"),
        ("2027-03-04", "too_far"),  # 367 days ahead
        ("2025-02-28", "too_far"),  # 367 days back
        ("9999-12-31", "too_far"),
    ],
)
async def test_bad_dates_are_refused_and_write_nothing(
    world: World, day: str, problem: str
) -> None:
    todos = world.app.todos
    await todos.add(GUILD, ALICE, "fine")
    before = await sql_state(world)
    with pytest.raises(ValidationError) as refused:
        await todos.add(GUILD, ALICE, "some day", day)
    assert (refused.value.field, refused.value.problem) == ("date", problem)
    with pytest.raises(ValidationError):
        await todos.for_day(GUILD, ALICE, day)
    with pytest.raises(ValidationError):
        await todos.rate(GUILD, ALICE, 3, day)
    assert await sql_state(world) == before


async def test_dates_a_year_either_way_are_accepted(world: World) -> None:
    ahead = await world.app.todos.add(GUILD, ALICE, "next year", "2027-03-03")
    back = await world.app.todos.add(GUILD, ALICE, "last year", "2025-03-01")
    assert (ahead.day, back.day) == (date(2027, 3, 3), date(2025, 3, 1))


async def test_fifty_a_day_then_refused(world: World) -> None:
    todos = world.app.todos
    for i in range(50):
        await todos.add(GUILD, ALICE, f"task {i + 1}")
    day = await todos.for_day(GUILD, ALICE)
    assert len(day.todos) == 50
    assert [t.position for t in day.todos] == list(range(1, 51))

    before = await sql_state(world)
    with pytest.raises(ValidationError) as refused:
        await todos.add(GUILD, ALICE, "task 51")
    assert (refused.value.field, refused.value.problem) == ("todos", "too_many")
    with pytest.raises(ValidationError):
        await todos.add(GUILD, ALICE, "task 51", TODAY.isoformat())
    assert await sql_state(world) == before

    # the limit is per member and per day; removing one frees a place
    await todos.add(GUILD, ALICE, "tomorrow's", "2026-03-03")
    await todos.add(GUILD, BOB, "Bob's first")
    await todos.remove(GUILD, ALICE, day.todos[0].id)
    await todos.add(GUILD, ALICE, "task 51")
    assert len((await todos.for_day(GUILD, ALICE)).todos) == 50


# -- time zones ------------------------------------------------------------------------------


async def test_the_members_time_zone_decides_today(world: World) -> None:
    todos = world.app.todos
    await set_timezone(world, BOB, "Asia/Seoul")
    await set_timezone(world, CAROL, "America/Los_Angeles")
    await world.advance_to(from_datetime(START.replace(hour=23, minute=30)))

    alice = await todos.add(GUILD, ALICE, "UTC member")  # the default zone
    bob = await todos.add(GUILD, BOB, "already tomorrow in Seoul")
    carol = await todos.add(GUILD, CAROL, "afternoon in LA")
    assert alice.day == TODAY
    assert bob.day == TODAY + timedelta(days=1)
    assert carol.day == TODAY
    assert await todos.today(GUILD, BOB) == date(2026, 3, 3)
    assert [t.id for t in (await todos.for_day(GUILD, BOB)).todos] == [bob.id]
    assert (await todos.rate(GUILD, BOB, 4)).day == date(2026, 3, 3)

    # 05:00 UTC next morning: the UTC member's new day; still the evening before in LA
    await world.advance(5 * 3600 * 1000 + 30 * 60 * 1000)
    assert await todos.today(GUILD, ALICE) == date(2026, 3, 3)
    assert await todos.today(GUILD, CAROL) == TODAY
    assert [t.id for t in (await todos.for_day(GUILD, CAROL)).todos] == [carol.id]
    assert (await todos.for_day(GUILD, ALICE)).todos == ()

    # the zone is per guild; clearing it falls back to the default
    assert await todos.today(OTHER_GUILD, BOB) == date(2026, 3, 3)
    await world.advance_to(from_datetime(datetime(2026, 3, 3, 20, 0, tzinfo=START.tzinfo)))
    assert await todos.today(GUILD, BOB) == date(2026, 3, 4)
    assert await todos.today(OTHER_GUILD, BOB) == date(2026, 3, 3)
    await set_timezone(world, BOB, None)
    assert await todos.today(GUILD, BOB) == date(2026, 3, 3)


async def test_a_given_date_is_checked_against_the_members_today(world: World) -> None:
    await set_timezone(world, BOB, "Asia/Seoul")
    await world.advance_to(from_datetime(START.replace(hour=23, minute=30)))
    # in Seoul it is 2026-03-03, so a year ahead reaches 2027-03-04
    todo = await world.app.todos.add(GUILD, BOB, "far plan", "2027-03-04")
    assert todo.day == date(2027, 3, 4)
    with pytest.raises(ValidationError):
        await world.app.todos.add(GUILD, ALICE, "far plan", "2027-03-04")


# -- completing a todo while in a room --------------------------------------------------------


async def test_done_tells_the_rooms_the_member_is_in(world: World) -> None:
    app = world.app
    todo = await app.todos.add(GUILD, ALICE, TRICKY)
    lone = await app.todos.add(GUILD, ALICE, "alone")
    other = await app.todos.add(GUILD, BOB, "Bob studies")
    room = await app.rooms.create(GUILD, ALICE, "Morning grind", 50, 10, 4)
    second = await app.rooms.create(GUILD, CAROL, "Evening", 50, 10, 4)
    await app.rooms.join(second.id, ALICE)

    await app.todos.done(GUILD, ALICE, todo.id)
    [event] = completed(world)
    assert (event.guild_id, event.user_id, event.todo_id) == (GUILD, ALICE, todo.id)
    assert event.text == TRICKY
    assert event.room_ids == (room.id, second.id)

    await app.todos.done(GUILD, BOB, other.id)  # Bob is in no room
    assert completed(world)[-1].user_id == BOB and completed(world)[-1].room_ids == ()

    await app.rooms.leave(second.id, ALICE)
    await app.rooms.close(room.id, ALICE)
    await app.todos.done(GUILD, ALICE, lone.id)
    assert completed(world)[-1].room_ids == ()
    assert len(completed(world)) == 3

    # undoing and ticking again tells again (it is a new completion)
    await app.todos.undo(GUILD, ALICE, lone.id)
    await app.todos.done(GUILD, ALICE, lone.id)
    assert [e.todo_id for e in completed(world)] == [todo.id, other.id, lone.id, lone.id]


# -- autocomplete ------------------------------------------------------------------------------


async def test_search_returns_only_the_members_own(world: World) -> None:
    todos = world.app.todos
    read = await todos.add(GUILD, ALICE, "Read ch. 4")
    reread = await todos.add(GUILD, ALICE, "re-read notes", "2026-03-03")
    write = await todos.add(GUILD, ALICE, "write 100% of essay")
    await todos.add(GUILD, BOB, "read Bob's book")
    await todos.add(OTHER_GUILD, ALICE, "read elsewhere")

    found = await todos.search(GUILD, ALICE, "read")
    assert [t.id for t in found] == [reread.id, read.id]  # latest day first
    assert all((t.guild_id, t.user_id) == (GUILD, ALICE) for t in found)
    assert [t.id for t in await todos.search(GUILD, ALICE, "READ", limit=1)] == [reread.id]
    assert {t.id for t in await todos.search(GUILD, ALICE, "")} == {read.id, reread.id, write.id}
    assert [t.id for t in await todos.search(GUILD, ALICE, "100%")] == [write.id]
    # wildcards are literal
    assert [t.id for t in await todos.search(GUILD, ALICE, "%")] == [write.id]
    assert await todos.search(GUILD, ALICE, "r%d") == []
    assert await todos.search(GUILD, ALICE, "_") == []
    assert await todos.search(GUILD, ALICE, "Bob") == []
    assert [t.text for t in await todos.search(GUILD, BOB, "")] == ["read Bob's book"]
    assert await todos.search(GUILD, CAROL, "") == []


# -- ratings -----------------------------------------------------------------------------------


async def test_rate_stores_one_score_per_day(world: World) -> None:
    todos = world.app.todos
    rating = await todos.rate(GUILD, ALICE, 4)
    assert (rating.day, rating.score, rating.updated_ms) == (TODAY, 4, world.now_ms())
    await world.advance(60_000)
    again = await todos.rate(GUILD, ALICE, 2)
    assert (again.day, again.score, again.updated_ms) == (TODAY, 2, world.now_ms())
    await todos.rate(GUILD, ALICE, 5, "2026-03-01")
    await todos.rate(GUILD, ALICE, 1, "2026-03-10")
    await todos.rate(GUILD, BOB, 3)
    assert [(r.day.day, r.score) for r in await ratings(world, ALICE)] == [(1, 5), (2, 2), (10, 1)]
    assert [(r.day.day, r.score) for r in await ratings(world, BOB)] == [(2, 3)]


@pytest.mark.parametrize("score", [0, 6, -1, 100, True])
async def test_scores_outside_one_to_five_are_refused(world: World, score: int) -> None:
    await world.app.todos.rate(GUILD, ALICE, 3)
    before = await sql_state(world)
    with pytest.raises(ValidationError) as refused:
        await world.app.todos.rate(GUILD, ALICE, score)
    assert refused.value.field == "score"
    with pytest.raises(ValidationError):
        await world.app.todos.rate(GUILD, BOB, score, "2026-03-01")
    assert await sql_state(world) == before
    assert [r.score for r in await ratings(world, ALICE)] == [3]
    assert await ratings(world, BOB) == []


async def test_concurrent_adds_never_pass_fifty_a_day(world: World) -> None:
    """Adds of one member serialise on the member's row: the day never holds more than 50."""
    todos = world.app.todos
    for i in range(48):
        await todos.add(GUILD, ALICE, f"task {i}")
    outcomes = await asyncio.gather(
        *(todos.add(GUILD, ALICE, f"rush {i}") for i in range(6)), return_exceptions=True
    )
    added = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(added) == 2 and len(refused) == 4
    assert len((await todos.for_day(GUILD, ALICE)).todos) == 50

"""Rooms through the service: create, join, leave, notice, close, list — and every refusal
leaves the SQL state and the session store exactly as they were."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.errors import (
    AlreadyMember,
    InsufficientPoints,
    NotFound,
    NotMember,
    NotOwner,
    RoomClosed,
    RoomFull,
    ValidationError,
)
from bot.domain.points import Reason, room_create_key, room_join_key
from bot.domain.rooms import RoomInfo, RoomStatus
from bot.domain.timer import MINUTE_MS
from bot.services.events import RoomClosed as RoomClosedEvent
from bot.services.rooms import RoomService
from storage.models import Base, LedgerEntry, Room, RoomMember
from storage.session.base import RoomKey
from storage.session.codec import run_to_json
from tests.support.world import ALICE, BOB, CAROL, DAVE, GUILD, SETTINGS, World

OTHER_GUILD = 901
ERIN = 15

# text a user may type: mentions and markdown are stored as typed (the Discord layer shows
# them with mentions disabled); only the length and invisible characters are checked
TRICKY_TITLE = "@everyone <@123> **bold** _it_ `code`"
TRICKY_NOTICE = "@here <@&456> <#789>\n> quote\n```py\nprint('x')\n```\n||spoiler|| ~~gone~~"
LONG_TEXT = ("@everyone <@123> **spam** " * 80)[:2001]


async def state(world: World) -> dict[str, Any]:
    """Every SQL row by primary key, plus what the store holds for every room."""
    async with world.app.uow() as uow:
        out: dict[str, Any] = {}
        for table in Base.metadata.sorted_tables:
            rows = await uow.session.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(row) for row in rows]
        rooms = list(await uow.session.scalars(select(Room)))
    for room in rooms:
        key = RoomKey(room.guild_id, room.id)
        run = await world.app.store.get_run(key)
        out[f"store:{key}"] = (
            await world.app.store.get_members(key),
            run_to_json(run) if run else None,
        )
    return out


async def balance(world: World, user: int, guild: int = GUILD) -> int:
    return (await world.app.points.balance(guild, user)).balance


async def ledger(world: World, user: int, guild: int = GUILD) -> list[LedgerEntry]:
    async with world.app.uow() as uow:
        return list(reversed(await uow.ledger.recent(guild, user, limit=10_000)))


async def memberships(world: World, room_id: int) -> list[RoomMember]:
    async with world.app.uow() as uow:
        return await uow.rooms.memberships(room_id)


async def create(
    world: World, owner: int = ALICE, title: str = "Morning grind", **kw: Any
) -> RoomInfo:
    args: dict[str, Any] = {"study_minutes": 50, "break_minutes": 10, "terms": 4}
    args.update(kw)
    return await world.app.rooms.create(GUILD, owner, title, **args)


def key(room: RoomInfo) -> RoomKey:
    return RoomKey(room.guild_id, room.id)


# -- create ----------------------------------------------------------------------------------


async def test_create_charges_and_makes_the_owner_a_member(world: World) -> None:
    now = world.now_ms()
    room = await create(
        world,
        title="  Morning grind\u200b ",
        tags="#Math, exam  prep",
        notice="be kind",
        capacity=6,
    )
    assert (room.guild_id, room.owner_id, room.status) == (GUILD, ALICE, "open")
    assert room.title == "Morning grind"  # cleaned of surrounding space and zero-width
    assert room.tags == ("math", "exam prep")
    assert (room.notice, room.capacity) == ("be kind", 6)
    assert (room.study_ms, room.break_ms, room.terms) == (50 * MINUTE_MS, 10 * MINUTE_MS, 4)
    assert room.created_ms == now

    entries = await ledger(world, ALICE)
    payment = entries[-1]
    assert (payment.amount, payment.reason) == (-SETTINGS.room_create_cost, "room_create")
    assert payment.reference == f"room:{room.id}"
    assert payment.idempotency_key == room_create_key(room.id)
    assert len(entries) == 2  # the bonus, then the payment
    assert await balance(world, ALICE) == 900

    [owner] = await memberships(world, room.id)
    assert (owner.user_id, owner.membership_no, owner.left_ms) == (ALICE, 1, None)
    assert owner.payment_entry_id == payment.id and owner.joined_ms == now
    assert await world.app.store.get_members(key(room)) == {ALICE: now}

    view = await world.app.rooms.get(room.id)
    assert view.room.id == room.id and [m.user_id for m in view.members] == [ALICE]
    assert view.key == key(room)


async def test_create_defaults_and_extremes_are_accepted(world: World) -> None:
    room = await create(world, study_minutes=1, break_minutes=1, terms=1)
    assert room.capacity == SETTINGS.max_capacity and room.tags == () and room.notice == ""
    room = await create(
        world,
        title="t" * 50,
        study_minutes=180,
        break_minutes=60,
        terms=12,
        notice="n" * 500,
        tags=["a" * 20, "b" * 20, "c" * 20, "d" * 20, "e" * 20],
        capacity=2,
    )
    assert len(room.title) == 50 and len(room.notice) == 500 and len(room.tags) == 5
    assert (room.study_ms, room.break_ms, room.terms) == (180 * MINUTE_MS, 60 * MINUTE_MS, 12)
    room = await create(world, capacity=25, tags="x, X, #x")  # one tag, deduplicated
    assert room.capacity == 25 and room.tags == ("x",)
    assert await balance(world, ALICE) == 700


async def test_user_text_is_stored_verbatim_within_limits(world: World) -> None:
    room = await create(world, title=TRICKY_TITLE, notice=TRICKY_NOTICE, tags="@everyone")
    assert room.title == TRICKY_TITLE and room.notice == TRICKY_NOTICE
    stored = (await world.app.rooms.get(room.id)).room
    assert stored.title == TRICKY_TITLE and stored.notice == TRICKY_NOTICE
    assert stored.tags == ("@everyone",)
    notice = "<@123> " * 70  # 490 characters once the trailing space goes
    await world.app.rooms.set_notice(room.id, ALICE, notice)
    assert (await world.app.rooms.get(room.id)).room.notice == notice.strip()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 51}, "title"),
        ({"title": "\u200b\u200c\u200d\ufeff"}, "title"),
        ({"title": LONG_TEXT}, "title"),
        ({"title": "two\nlines"}, "title"),
        ({"notice": "n" * 501}, "notice"),
        ({"notice": LONG_TEXT}, "notice"),
        ({"tags": "a, b, c, d, e, f"}, "tags"),
        ({"tags": ["a", "b", "c", "d", "e", "f"]}, "tags"),
        ({"tags": "t" * 21}, "tags"),
        ({"capacity": 1}, "capacity"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 26}, "capacity"),
        ({"study_minutes": 0}, "study"),
        ({"study_minutes": 181}, "study"),
        ({"break_minutes": 0}, "break"),
        ({"break_minutes": 61}, "break"),
        ({"terms": 0}, "terms"),
        ({"terms": 13}, "terms"),
    ],
)
async def test_create_refusals_write_nothing(
    world: World, changes: dict[str, Any], field: str
) -> None:
    await world.app.points.ensure_member(GUILD, ALICE)
    before = await state(world)
    with pytest.raises(ValidationError) as refused:
        await create(world, **changes)
    assert refused.value.field == field
    assert await state(world) == before
    assert await balance(world, ALICE) == 1000
    assert await world.app.rooms.list_open(GUILD) == []


async def test_capacity_above_the_guild_maximum_is_refused(world: World) -> None:
    app = world.app
    small = RoomService(
        app.uow,
        app.store,
        app.scheduler,
        app.events,
        app.clock,
        dataclasses.replace(SETTINGS, max_capacity=10),
    )
    await app.points.ensure_member(GUILD, ALICE)
    before = await state(world)
    with pytest.raises(ValidationError) as refused:
        await small.create(GUILD, ALICE, "Too big", 50, 10, 4, capacity=11)
    assert refused.value.field == "capacity"
    assert await state(world) == before
    room = await small.create(GUILD, ALICE, "Just fits", 50, 10, 4, capacity=10)
    assert room.capacity == 10
    assert (await small.create(GUILD, ALICE, "Default", 50, 10, 4)).capacity == 10


async def test_create_without_enough_points_writes_nothing(world: World) -> None:
    rooms = [await create(world, title=f"Room {i}") for i in range(10)]
    assert await balance(world, ALICE) == 0
    before = await state(world)
    with pytest.raises(InsufficientPoints) as refused:
        await create(world, title="One too many")
    assert refused.value.params == {"balance": 0, "needed": SETTINGS.room_create_cost}
    with pytest.raises(InsufficientPoints):
        await world.app.rooms.check_can_create(GUILD, ALICE)
    assert await state(world) == before
    assert await balance(world, ALICE) == 0
    listed = await world.app.rooms.list_open(GUILD, limit=50)
    assert sorted(v.room.id for v in listed) == sorted(r.id for r in rooms)

    await world.app.rooms.check_can_create(GUILD, BOB)  # Bob can pay


# -- join ------------------------------------------------------------------------------------


async def test_join_charges_once_and_a_second_join_is_refused(world: World) -> None:
    room = await create(world)
    await world.advance(1000)
    joined = world.now_ms()
    assert (await world.app.rooms.join(room.id, BOB)).id == room.id
    assert await balance(world, BOB) == 1000 - SETTINGS.room_join_cost

    payment = (await ledger(world, BOB))[-1]
    assert (payment.amount, payment.reason) == (-SETTINGS.room_join_cost, Reason.ROOM_JOIN.value)
    assert payment.reference == f"room:{room.id}"
    assert payment.idempotency_key == room_join_key(room.id, BOB, 1)
    bob = (await memberships(world, room.id))[-1]
    assert (bob.user_id, bob.membership_no, bob.payment_entry_id) == (BOB, 1, payment.id)
    assert (bob.joined_ms, bob.left_ms) == (joined, None)
    assert (await world.app.store.get_members(key(room)))[BOB] == joined

    before = await state(world)
    with pytest.raises(AlreadyMember):
        await world.app.rooms.join(room.id, BOB)
    with pytest.raises(AlreadyMember):
        await world.app.rooms.join(room.id, ALICE)  # the owner is a member already
    assert await state(world) == before
    assert await balance(world, BOB) == 950 and await balance(world, ALICE) == 900


async def test_join_refused_when_full_changes_nothing(world: World) -> None:
    room = await create(world, capacity=3)
    await world.app.rooms.join(room.id, BOB)
    await world.app.rooms.join(room.id, CAROL)
    await world.app.points.ensure_member(GUILD, DAVE)
    before = await state(world)
    with pytest.raises(RoomFull) as refused:
        await world.app.rooms.join(room.id, DAVE)
    assert refused.value.params == {"capacity": 3}
    with pytest.raises(RoomFull):
        await world.app.rooms.join(room.id, ERIN)  # not even a member of the bot yet
    assert await state(world) == before
    assert await balance(world, DAVE) == 1000
    assert len((await world.app.rooms.get(room.id)).members) == 3

    # a place frees up when someone leaves
    await world.app.rooms.leave(room.id, CAROL)
    await world.app.rooms.join(room.id, DAVE)
    assert await balance(world, DAVE) == 950


async def test_join_without_enough_points_writes_nothing(world: World) -> None:
    room = await create(world)
    await world.app.points.spend(GUILD, BOB, 960, Reason.ADJUST, "test", "drain")
    before = await state(world)
    with pytest.raises(InsufficientPoints) as refused:
        await world.app.rooms.join(room.id, BOB)
    assert refused.value.params == {"balance": 40, "needed": 50}
    assert await state(world) == before
    assert await balance(world, BOB) == 40


async def test_join_a_closed_or_unknown_room_is_refused(world: World) -> None:
    room = await create(world)
    await world.app.rooms.close(room.id, ALICE)
    await world.app.points.ensure_member(GUILD, BOB)
    before = await state(world)
    with pytest.raises(RoomClosed):
        await world.app.rooms.join(room.id, BOB)
    with pytest.raises(NotFound):
        await world.app.rooms.join(room.id + 100, BOB)
    assert await state(world) == before
    assert await balance(world, BOB) == 1000


# -- leave -----------------------------------------------------------------------------------


async def test_leave_by_a_non_member_is_refused(world: World) -> None:
    room = await create(world)
    await world.app.rooms.join(room.id, BOB)
    await world.app.rooms.leave(room.id, BOB)
    await world.app.points.ensure_member(GUILD, CAROL)
    before = await state(world)
    for user in (CAROL, BOB):  # never joined; joined and left already
        with pytest.raises(NotMember):
            await world.app.rooms.leave(room.id, user)
    with pytest.raises(NotFound):
        await world.app.rooms.leave(room.id + 100, ALICE)
    assert await state(world) == before


async def test_owner_leaving_passes_ownership_to_the_longest_present(world: World) -> None:
    room = await create(world)
    await world.advance(1000)
    await world.app.rooms.join(room.id, DAVE)  # joins first, though the largest id
    await world.advance(1000)
    await world.app.rooms.join(room.id, BOB)
    await world.advance(1000)
    await world.app.rooms.join(room.id, CAROL)

    out = await world.app.rooms.leave(room.id, ALICE)
    assert (out.new_owner_id, out.closed) == (DAVE, False)
    view = await world.app.rooms.get(room.id)
    assert view.room.owner_id == DAVE and view.room.status == "open"
    assert [m.user_id for m in view.members] == [DAVE, BOB, CAROL]
    assert ALICE not in await world.app.store.get_members(key(room))
    assert world.seen.closed == []

    # the new owner can act as owner; the old one cannot
    with pytest.raises(NotOwner):
        await world.app.rooms.set_notice(room.id, ALICE, "mine")
    await world.app.rooms.set_notice(room.id, DAVE, "Dave's room now")

    # a member who is not the owner leaving passes nothing
    out = await world.app.rooms.leave(room.id, CAROL)
    assert (out.new_owner_id, out.closed) == (None, False)
    assert (await world.app.rooms.get(room.id)).room.owner_id == DAVE
    out = await world.app.rooms.leave(room.id, DAVE)
    assert out.new_owner_id == BOB
    # leaving refunds nothing
    assert [await balance(world, u) for u in (ALICE, BOB, CAROL, DAVE)] == [900, 950, 950, 950]


async def test_owner_leaving_with_members_joined_at_one_instant(world: World) -> None:
    room = await create(world)
    await world.app.rooms.join(room.id, CAROL)
    await world.app.rooms.join(room.id, BOB)
    out = await world.app.rooms.leave(room.id, ALICE)
    assert out.new_owner_id == BOB  # a tie on the instant goes to the smaller id


async def test_last_member_leaving_closes_the_room(world: World) -> None:
    room = await create(world)
    await world.app.rooms.join(room.id, BOB)
    await world.app.rooms.leave(room.id, ALICE)
    assert world.seen.closed == []
    await world.advance(5000)
    left = world.now_ms()
    out = await world.app.rooms.leave(room.id, BOB)
    assert out.closed and out.new_owner_id is None

    stored = (await world.app.rooms.get(room.id)).room
    assert stored.status == "closed" and stored.closed_ms == left
    assert all(m.left_ms is not None for m in await memberships(world, room.id))
    [event] = world.seen.closed
    assert isinstance(event, RoomClosedEvent)
    assert (event.key, event.reason) == (key(room), "empty")
    assert await world.app.store.get_members(key(room)) == {}
    assert await world.app.store.get_run(key(room)) is None
    assert await world.app.rooms.list_open(GUILD) == []
    assert await world.app.rooms.rooms_of(GUILD, BOB) == []

    before = await state(world)
    with pytest.raises(RoomClosed):
        await world.app.rooms.leave(room.id, BOB)
    with pytest.raises(RoomClosed):
        await world.app.rooms.join(room.id, BOB)
    assert await state(world) == before


async def test_last_member_leaving_stops_the_running_timer(world: World) -> None:
    room = await create(world, study_minutes=25, break_minutes=5, terms=2)
    view = await world.app.timers.start(room.id, ALICE)
    assert world.next_wakeup(key(room)) is not None
    await world.app.rooms.leave(room.id, ALICE)
    async with world.app.uow() as uow:
        run = await uow.runs.get(view.run_id)
        assert run is not None and run.status == "stopped"
    assert await world.app.store.get_run(key(room)) is None
    assert world.next_wakeup(key(room)) is None
    await world.advance(30 * MINUTE_MS)
    assert world.seen.boundaries == []


async def test_rejoining_pays_again(world: World) -> None:
    room = await create(world)
    await world.app.rooms.join(room.id, BOB)
    await world.advance(60_000)
    await world.app.rooms.leave(room.id, BOB)
    await world.advance(60_000)
    await world.app.rooms.join(room.id, BOB)
    assert await balance(world, BOB) == 1000 - 2 * SETTINGS.room_join_cost

    bob = [m for m in await memberships(world, room.id) if m.user_id == BOB]
    assert [m.membership_no for m in bob] == [1, 2]
    assert bob[0].left_ms is not None and bob[1].left_ms is None
    payments = [e for e in await ledger(world, BOB) if e.reason == Reason.ROOM_JOIN.value]
    assert [e.idempotency_key for e in payments] == [
        room_join_key(room.id, BOB, 1),
        room_join_key(room.id, BOB, 2),
    ]
    assert [m.payment_entry_id for m in bob] == [e.id for e in payments]
    assert (await world.app.store.get_members(key(room)))[BOB] == world.now_ms()


# -- notice and close ------------------------------------------------------------------------


async def test_set_notice_is_owner_only_and_length_checked(world: World) -> None:
    room = await create(world, notice="old")
    await world.app.rooms.join(room.id, BOB)
    await world.app.points.ensure_member(GUILD, CAROL)
    before = await state(world)
    for user in (BOB, CAROL):
        with pytest.raises(NotOwner):
            await world.app.rooms.set_notice(room.id, user, "hijacked")
    for text in ("n" * 501, LONG_TEXT, "tab\there"):
        with pytest.raises(ValidationError) as refused:
            await world.app.rooms.set_notice(room.id, ALICE, text)
        assert refused.value.field == "notice"
    with pytest.raises(NotFound):
        await world.app.rooms.set_notice(room.id + 100, ALICE, "x")
    assert await state(world) == before

    updated = await world.app.rooms.set_notice(room.id, ALICE, TRICKY_NOTICE)
    assert updated.notice == TRICKY_NOTICE
    assert (await world.app.rooms.get(room.id)).room.notice == TRICKY_NOTICE
    await world.app.rooms.set_notice(room.id, ALICE, "n" * 500)
    await world.app.rooms.set_notice(room.id, ALICE, "")
    assert (await world.app.rooms.get(room.id)).room.notice == ""

    await world.app.rooms.close(room.id, ALICE)
    with pytest.raises(RoomClosed):
        await world.app.rooms.set_notice(room.id, ALICE, "too late")


async def test_close_is_owner_only(world: World) -> None:
    room = await create(world)
    await world.app.rooms.join(room.id, BOB)
    before = await state(world)
    with pytest.raises(NotOwner):
        await world.app.rooms.close(room.id, BOB)
    assert await state(world) == before
    assert world.seen.closed == []

    closed = (await world.app.rooms.close(room.id, ALICE)).room
    assert closed.status is RoomStatus.CLOSED and closed.closed_ms == world.now_ms()
    [event] = world.seen.closed
    assert (event.key, event.reason) == (key(room), "owner")
    assert all(m.left_ms == world.now_ms() for m in await memberships(world, room.id))
    assert await world.app.store.get_members(key(room)) == {}
    # closing refunds nobody
    assert (await balance(world, ALICE), await balance(world, BOB)) == (900, 950)
    with pytest.raises(RoomClosed):
        await world.app.rooms.close(room.id, ALICE)
    assert len(world.seen.closed) == 1


async def test_closing_stops_a_running_timer(world: World) -> None:
    room = await create(world, study_minutes=25, break_minutes=5, terms=3)
    await world.app.rooms.join(room.id, BOB)
    view = await world.app.timers.start(room.id, ALICE)
    k = key(room)
    assert world.next_wakeup(k) == view.now_ms + 25 * MINUTE_MS
    await world.advance(10 * MINUTE_MS)

    await world.app.rooms.close(room.id, ALICE)
    async with world.app.uow() as uow:
        run = await uow.runs.get(view.run_id)
        assert run is not None and run.status == "stopped" and run.ended_ms == world.now_ms()
        assert await uow.runs.current(room.id) is None
    assert await world.app.store.get_run(k) is None
    assert await world.app.store.running_rooms() == []
    assert world.next_wakeup(k) is None

    await world.advance(2 * 60 * MINUTE_MS)  # well past every boundary the run had
    assert world.seen.boundaries == [] and world.seen.finished == []
    assert [e.reason for e in world.seen.closed] == ["owner"]


async def test_the_system_may_close_any_room(world: World) -> None:
    room = await create(world)
    closed = (await world.app.rooms.close(room.id, None, "no_extension")).room
    assert closed.status is RoomStatus.CLOSED
    assert [e.reason for e in world.seen.closed] == ["no_extension"]


# -- listing ---------------------------------------------------------------------------------


async def test_list_open_filters_by_tag_and_title_and_pages(world: World) -> None:
    app = world.app
    math = await create(world, title="Math sprint", tags="#math, exam")
    reading = await create(world, owner=BOB, title="Quiet reading", tags="reading")
    exam = await create(world, owner=CAROL, title="Exam week MATH", tags="exam")
    closed = await create(world, owner=DAVE, title="Closed math", tags="math")
    await app.rooms.close(closed.id, DAVE)
    elsewhere = await app.rooms.create(OTHER_GUILD, ALICE, "Math abroad", 50, 10, 4, "math")

    def ids(views: list[Any]) -> list[int]:
        return [v.room.id for v in views]

    assert ids(await app.rooms.list_open(GUILD)) == [exam.id, reading.id, math.id]
    assert ids(await app.rooms.list_open(GUILD, tag="math")) == [math.id]
    assert ids(await app.rooms.list_open(GUILD, tag="exam")) == [exam.id, math.id]
    assert ids(await app.rooms.list_open(GUILD, tag="#Exam")) == [exam.id, math.id]
    assert await app.rooms.list_open(GUILD, tag="mat") == []
    assert ids(await app.rooms.list_open(GUILD, query="math")) == [exam.id, math.id]
    assert ids(await app.rooms.list_open(GUILD, query="QUIET")) == [reading.id]
    assert ids(await app.rooms.list_open(GUILD, query=" math\u200b ")) == [exam.id, math.id]
    assert len(await app.rooms.list_open(GUILD, tag=" # ", query="  ")) == 3  # no filter
    assert ids(await app.rooms.list_open(GUILD, query="%")) == []
    assert ids(await app.rooms.list_open(GUILD, tag="exam", query="sprint")) == [math.id]
    assert await app.rooms.list_open(GUILD, tag="reading", query="math") == []
    assert ids(await app.rooms.list_open(OTHER_GUILD)) == [elsewhere.id]

    # pages
    assert ids(await app.rooms.list_open(GUILD, limit=2)) == [exam.id, reading.id]
    assert ids(await app.rooms.list_open(GUILD, limit=2, offset=2)) == [math.id]
    assert await app.rooms.list_open(GUILD, limit=2, offset=4) == []

    # each view carries the current members
    await app.rooms.join(math.id, DAVE)
    [view] = await app.rooms.list_open(GUILD, tag="math")
    assert [m.user_id for m in view.members] == [ALICE, DAVE]


async def test_rooms_of_lists_the_members_open_rooms(world: World) -> None:
    app = world.app
    first = await create(world, title="First")
    second = await create(world, owner=BOB, title="Second")
    third = await create(world, owner=CAROL, title="Third")
    await app.rooms.join(second.id, ALICE)
    await app.rooms.join(third.id, ALICE)
    await app.rooms.create(OTHER_GUILD, ALICE, "Elsewhere", 50, 10, 4)
    assert [r.id for r in await app.rooms.rooms_of(GUILD, ALICE)] == [
        first.id,
        second.id,
        third.id,
    ]
    await app.rooms.leave(second.id, ALICE)
    await app.rooms.close(third.id, CAROL)
    assert [r.id for r in await app.rooms.rooms_of(GUILD, ALICE)] == [first.id]
    assert [r.id for r in await app.rooms.rooms_of(GUILD, BOB)] == [second.id]
    assert await app.rooms.rooms_of(GUILD, DAVE) == []

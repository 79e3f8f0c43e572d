"""Every repository method, against SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.domain.rooms import RoomStatus
from bot.domain.run import RunStatus
from storage.models import (
    AlarmDismissal,
    LedgerEntry,
    Member,
    Room,
    RoomMember,
    RunResult,
)
from storage.uow import UnitOfWork, UnitOfWorkFactory

G = 1_234_567_890_123_456_789  # snowflakes are 64-bit
G2 = 987_654_321_098_765_432
ALICE = 111_111_111_111_111_111
BOB = 222_222_222_222_222_222
CAROL = 333_333_333_333_333_333
T0 = 1_767_225_600_000  # 2026-01-01T00:00Z
MIN = 60_000


async def _room(uow: UnitOfWork, *, owner: int = ALICE, guild: int = G, **kw: object) -> Room:
    fields: dict[str, object] = {
        "guild_id": guild,
        "owner_id": owner,
        "title": "Morning focus",
        "capacity": 4,
        "study_ms": 50 * MIN,
        "break_ms": 10 * MIN,
        "terms": 4,
        "created_ms": T0,
    }
    fields.update(kw)
    return await uow.rooms.add(**fields)  # type: ignore[arg-type]


# -- unit of work ---------------------------------------------------------------------------


async def test_commit_persists_and_leaving_without_commit_rolls_back(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.members.get_or_create(G, ALICE, T0)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.members.get_or_create(G, BOB, T0)
    async with uow_factory() as uow:
        assert await uow.members.get(G, ALICE) is not None
        assert await uow.members.get(G, BOB) is None


async def test_exception_inside_the_block_leaves_nothing(uow_factory: UnitOfWorkFactory) -> None:
    with pytest.raises(RuntimeError):
        async with uow_factory() as uow:
            await uow.members.get_or_create(G, ALICE, T0)
            await uow.ledger.add(G, ALICE, 1000, "signup", "member", "signup:a", T0)
            room = await _room(uow)
            await uow.rooms.add_member(
                room_id=room.id, user_id=ALICE, joined_ms=T0, membership_no=1
            )
            raise RuntimeError("boom")
    async with uow_factory() as uow:
        assert await uow.members.get(G, ALICE) is None
        assert await uow.ledger.balance(G, ALICE) == 0
        assert await uow.ledger.by_key("signup:a") is None
        assert await uow.rooms.list_open(G) == []
        for model in (Member, LedgerEntry, Room, RoomMember):
            count = await uow.session.scalar(select(func.count()).select_from(model))
            assert count == 0, model


async def test_explicit_rollback_discards_and_the_unit_stays_usable(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.ledger.add(G, ALICE, 5, "gift", "x", "k1", T0)
        await uow.rollback()
        assert await uow.ledger.balance(G, ALICE) == 0
        await uow.ledger.add(G, ALICE, 7, "gift", "x", "k2", T0)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.ledger.balance(G, ALICE) == 7


async def test_objects_stay_readable_after_commit(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        room = await _room(uow, tags=["math"])
        await uow.commit()
    assert room.title == "Morning focus"
    assert room.tags == ["math"]


# -- members --------------------------------------------------------------------------------


async def test_members_get_or_create_reports_creation_once(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.members.get(G, ALICE) is None
        member, created = await uow.members.get_or_create(G, ALICE, T0)
        assert created
        assert (member.guild_id, member.user_id, member.created_ms) == (G, ALICE, T0)
        assert member.timezone is None and member.locale is None
        again, created_again = await uow.members.get_or_create(G, ALICE, T0 + 5)
        assert again is member and not created_again
        await uow.commit()
    async with uow_factory() as uow:
        member, created = await uow.members.get_or_create(G, ALICE, T0 + 9)
        assert not created and member.created_ms == T0
        other_guild, created = await uow.members.get_or_create(G2, ALICE, T0)
        assert created and other_guild is not member


async def test_members_lock_creates_and_returns_the_member(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        member = await uow.members.lock(G, BOB, T0)
        assert (member.user_id, member.created_ms) == (BOB, T0)
        assert await uow.members.lock(G, BOB, T0 + 1) is member
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.members.lock(G, BOB, T0 + 2)).created_ms == T0


async def test_members_settings(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        member = await uow.members.set_timezone(G, ALICE, "Asia/Seoul", T0)
        assert member.timezone == "Asia/Seoul"
        member = await uow.members.set_locale(G, ALICE, "ko", T0)
        assert member.locale == "ko"
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.members.get(G, ALICE)
        assert stored is not None
        assert (stored.timezone, stored.locale) == ("Asia/Seoul", "ko")
        await uow.members.set_timezone(G, ALICE, None, T0)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.members.get(G, ALICE)
        assert stored is not None and stored.timezone is None and stored.locale == "ko"


async def test_members_weekly_goal(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.members.get(G, ALICE) is None
        member = await uow.members.set_weekly_goal(G, ALICE, 20 * 60, T0)  # creates the member
        assert (member.weekly_goal_minutes, member.created_ms) == (1200, T0)
        await uow.members.get_or_create(G, BOB, T0)
        await uow.commit()
    async with uow_factory() as uow:
        alice, bob = await uow.members.get(G, ALICE), await uow.members.get(G, BOB)
        assert alice is not None and alice.weekly_goal_minutes == 1200
        assert bob is not None and bob.weekly_goal_minutes is None  # no goal until one is set
        assert await uow.members.get(G2, ALICE) is None  # a goal is per server
        await uow.members.set_weekly_goal(G, ALICE, 12 * 60 + 30, T0)
        await uow.commit()
    async with uow_factory() as uow:
        alice = await uow.members.get(G, ALICE)
        assert alice is not None and alice.weekly_goal_minutes == 750
        await uow.members.set_weekly_goal(G, ALICE, None, T0)
        await uow.commit()
    async with uow_factory() as uow:
        alice = await uow.members.get(G, ALICE)
        assert alice is not None and alice.weekly_goal_minutes is None


@pytest.mark.parametrize("minutes", [0, 59, 168 * 60 + 1])
async def test_members_weekly_goal_out_of_range_is_refused_by_the_database(
    uow_factory: UnitOfWorkFactory, minutes: int
) -> None:
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.members.set_weekly_goal(G, ALICE, minutes, T0)


# -- ledger ---------------------------------------------------------------------------------


async def test_ledger_balance_add_get_by_key_recent(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.ledger.balance(G, ALICE) == 0
        assert await uow.ledger.recent(G, ALICE) == []
        signup = await uow.ledger.add(G, ALICE, 1000, "signup", "member", "signup:G:A", T0)
        assert signup.id is not None
        await uow.ledger.add(G, ALICE, -100, "room.create", "room:1", "create:1", T0 + 1)
        await uow.ledger.add(G, ALICE, -50, "room.join", "room:2", "join:2:A:1", T0 + 2)
        await uow.ledger.add(G, BOB, 1000, "signup", "member", "signup:G:B", T0)
        await uow.ledger.add(G2, ALICE, 7, "signup", "member", "signup:G2:A", T0)
        assert await uow.ledger.balance(G, ALICE) == 850  # pending entries count (autoflush)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.ledger.balance(G, ALICE) == 850
        assert await uow.ledger.balance(G, BOB) == 1000
        assert await uow.ledger.balance(G2, ALICE) == 7
        found = await uow.ledger.by_key("signup:G:A")
        assert found is not None and found.id == signup.id and found.amount == 1000
        assert await uow.ledger.by_key("nope") is None
        got = await uow.ledger.get(signup.id)
        assert got is not None and got.idempotency_key == "signup:G:A"
        assert await uow.ledger.get(10**12) is None
        recent = await uow.ledger.recent(G, ALICE)
        assert [e.amount for e in recent] == [-50, -100, 1000]
        assert [e.reason for e in await uow.ledger.recent(G, ALICE, limit=2)] == [
            "room.join",
            "room.create",
        ]
        assert (recent[0].reference, recent[0].created_ms) == ("room:2", T0 + 2)


async def test_ledger_idempotency_key_is_unique(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.ledger.add(G, ALICE, 1000, "signup", "member", "signup:G:A", T0)
        await uow.commit()
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.ledger.add(G, ALICE, 1000, "signup", "member", "signup:G:A", T0)
        await uow.rollback()
        assert await uow.ledger.balance(G, ALICE) == 1000
    async with uow_factory() as uow:  # also within one unit of work, for another member
        await uow.ledger.add(G, BOB, 1, "x", "y", "same", T0)
        with pytest.raises(IntegrityError):
            await uow.ledger.add(G, CAROL, 1, "x", "y", "same", T0)


async def test_ledger_amounts_are_signed_and_large_ids_survive(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.ledger.add(G, ALICE, -5, "adjust", "r", "k", T0)
        await uow.commit()
    async with uow_factory() as uow:
        (entry,) = await uow.ledger.recent(G, ALICE)
        assert (entry.guild_id, entry.user_id, entry.amount) == (G, ALICE, -5)
        assert await uow.ledger.balance(G, ALICE) == -5


# -- rooms ----------------------------------------------------------------------------------


async def test_rooms_add_get_and_lookup_by_channel(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        room = await _room(
            uow,
            notice="be kind",
            tags=["math", "수학"],
            text_channel_id=9_000_000_000_000_000_001,
            voice_channel_id=9_000_000_000_000_000_002,
        )
        assert room.id is not None and room.status == RoomStatus.OPEN
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.rooms.get(room.id)
        assert got is not None
        assert (got.guild_id, got.owner_id, got.title, got.notice) == (
            G,
            ALICE,
            "Morning focus",
            "be kind",
        )
        assert got.tags == ["math", "수학"]
        assert (got.capacity, got.study_ms, got.break_ms, got.terms) == (4, 50 * MIN, 10 * MIN, 4)
        assert (got.status, got.created_ms, got.closed_ms, got.card_message_id) == (
            "open",
            T0,
            None,
            None,
        )
        locked = await uow.rooms.get_for_update(room.id)
        assert locked is got
        assert await uow.rooms.get_for_update(10**12) is None
        assert await uow.rooms.get(10**12) is None
        by_text = await uow.rooms.by_text_channel(9_000_000_000_000_000_001)
        assert by_text is not None and by_text.id == room.id
        by_voice = await uow.rooms.by_voice_channel(9_000_000_000_000_000_002)
        assert by_voice is not None and by_voice.id == room.id
        assert await uow.rooms.by_text_channel(1) is None
        assert await uow.rooms.by_voice_channel(1) is None
        got.card_message_id = 42
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.rooms.get(room.id)
        assert again is not None and again.card_message_id == 42


async def test_rooms_get_for_update_rereads(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        room = await _room(uow)
        await uow.commit()
    async with uow_factory() as reader:
        stale = await reader.rooms.get(room.id)
        assert stale is not None
        await reader.commit()
        async with uow_factory() as writer:
            changed = await writer.rooms.get(room.id)
            assert changed is not None
            changed.title = "Renamed"
            await writer.commit()
        fresh = await reader.rooms.get_for_update(room.id)
        assert fresh is stale and fresh.title == "Renamed"


async def test_rooms_text_channel_is_unique(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await _room(uow, text_channel_id=5)
        await _room(uow)  # several rooms without channels are fine
        await _room(uow)
        with pytest.raises(IntegrityError):
            await _room(uow, text_channel_id=5)


@pytest.mark.parametrize(
    ("field", "value"),
    [("capacity", 1), ("capacity", 26), ("terms", 0), ("terms", 13), ("study_ms", 0)],
)
async def test_rooms_check_constraints(
    uow_factory: UnitOfWorkFactory, field: str, value: int
) -> None:
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await _room(uow, **{field: value})


async def test_rooms_list_and_count_open(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        a = await _room(uow, title="Math sprint", tags=["math", "exam"])
        b = await _room(uow, title="Quiet reading", tags=["reading"])
        c = await _room(uow, title="math_100% club", tags=["mathematics"])
        d = await _room(uow, title="수학 스터디", tags=["수학"])
        closed = await _room(uow, title="Math closed", tags=["math"])
        await _room(uow, guild=G2, title="Math elsewhere", tags=["math"])
        await uow.rooms.close(closed, T0 + 1)
        await uow.commit()

    def ids(rooms: list[Room]) -> list[int]:
        return [r.id for r in rooms]

    async with uow_factory() as uow:
        assert ids(await uow.rooms.list_open(G)) == [d.id, c.id, b.id, a.id]  # newest first
        assert await uow.rooms.count_open(G) == 4
        assert ids(await uow.rooms.list_open(G, limit=2)) == [d.id, c.id]
        assert ids(await uow.rooms.list_open(G, limit=2, offset=2)) == [b.id, a.id]
        assert await uow.rooms.list_open(G, offset=10) == []
        # tags match whole tags only
        assert ids(await uow.rooms.list_open(G, tag="math")) == [a.id]
        assert await uow.rooms.count_open(G, tag="math") == 1
        assert ids(await uow.rooms.list_open(G, tag="mathematics")) == [c.id]
        assert ids(await uow.rooms.list_open(G, tag="수학")) == [d.id]
        assert await uow.rooms.list_open(G, tag="mat") == []
        assert await uow.rooms.count_open(G, tag="nope") == 0
        # titles match case-insensitive substrings, wildcards taken literally
        assert ids(await uow.rooms.list_open(G, query="MATH")) == [c.id, a.id]
        assert await uow.rooms.count_open(G, query="math") == 2
        assert ids(await uow.rooms.list_open(G, query="100%")) == [c.id]
        assert ids(await uow.rooms.list_open(G, query="h_1")) == [c.id]
        assert ids(await uow.rooms.list_open(G, query="%")) == [c.id]
        assert ids(await uow.rooms.list_open(G, query="_")) == [c.id]
        assert ids(await uow.rooms.list_open(G, query="스터디")) == [d.id]
        assert ids(await uow.rooms.list_open(G, tag="exam", query="sprint")) == [a.id]
        assert await uow.rooms.list_open(G, tag="reading", query="math") == []
        assert ids(await uow.rooms.list_open(G2)) != []


async def test_rooms_title_search_ignores_case_in_every_script(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        oko = await _room(uow, title="Ökonomie I")
        eco = await _room(uow, title="éco club")
        strasse = await _room(uow, title="Große Straße")
        greek = await _room(uow, title="ΣΟΦΙΑ")
        cyrillic = await _room(uow, title="Физика 100%")
        await uow.commit()
    assert (oko.title_key, strasse.title_key, greek.title_key) == (
        "ökonomie i",
        "grosse strasse",
        "σοφια",
    )

    async def found(query: str) -> list[int]:
        async with uow_factory() as uow:
            rooms = await uow.rooms.list_open(G, query=query)
            assert await uow.rooms.count_open(G, query=query) == len(rooms)
            return [r.id for r in rooms]

    assert await found("ökonomie") == [oko.id]
    assert await found("ÖKONOMIE") == [oko.id]
    assert await found("ÉCO") == [eco.id]
    assert await found("STRASSE") == [strasse.id]
    assert await found("straße") == [strasse.id]
    assert await found("σοφια") == [greek.id]
    assert await found("физика") == [cyrillic.id]
    assert await found("ФИЗИКА 100%") == [cyrillic.id]
    assert await found("0%") == [cyrillic.id]  # wildcards still taken literally
    assert await found("ÖK") == [oko.id]
    assert await found("ok") == []  # "ö" is not "o"
    assert await found("économie") == []


async def test_rooms_memberships(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        room = await _room(uow)
        pay = await uow.ledger.add(G, ALICE, -100, "room.create", "room", "create", T0)
        owner = await uow.rooms.add_member(
            room_id=room.id, user_id=ALICE, joined_ms=T0, membership_no=1, payment_entry_id=pay.id
        )
        bob = await uow.rooms.add_member(
            room_id=room.id, user_id=BOB, joined_ms=T0 + 10, membership_no=1
        )
        await uow.rooms.add_member(
            room_id=room.id, user_id=CAROL, joined_ms=T0 + 10, membership_no=1
        )
        assert owner.payment_entry_id == pay.id and bob.payment_entry_id is None
        await uow.commit()
    async with uow_factory() as uow:
        assert [m.user_id for m in await uow.rooms.active_members(room.id)] == [ALICE, BOB, CAROL]
        active = await uow.rooms.active_membership(room.id, BOB)
        assert active is not None and active.id == bob.id and active.left_ms is None
        assert await uow.rooms.active_membership(room.id, 999) is None
        assert await uow.rooms.membership_count(room.id, BOB) == 1
        assert await uow.rooms.membership_count(room.id, 999) == 0
        await uow.rooms.leave(active, T0 + 100)
        await uow.commit()
    async with uow_factory() as uow:
        assert [m.user_id for m in await uow.rooms.active_members(room.id)] == [ALICE, CAROL]
        assert await uow.rooms.active_membership(room.id, BOB) is None
        assert await uow.rooms.membership_count(room.id, BOB) == 1
        again = await uow.rooms.add_member(
            room_id=room.id, user_id=BOB, joined_ms=T0 + 200, membership_no=2
        )
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.rooms.membership_count(room.id, BOB) == 2
        spans = [(m.user_id, m.joined_ms, m.left_ms) for m in await uow.rooms.memberships(room.id)]
        assert spans == [
            (ALICE, T0, None),
            (BOB, T0 + 10, T0 + 100),
            (CAROL, T0 + 10, None),
            (BOB, T0 + 200, None),
        ]
        active = await uow.rooms.active_membership(room.id, BOB)
        assert active is not None and active.id == again.id and active.membership_no == 2
        assert await uow.rooms.memberships(10**12) == []


async def test_rooms_one_active_membership_per_user(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        room = await _room(uow)
        await uow.rooms.add_member(room_id=room.id, user_id=BOB, joined_ms=T0, membership_no=1)
        await uow.commit()
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.rooms.add_member(
                room_id=room.id, user_id=BOB, joined_ms=T0 + 1, membership_no=2
            )


async def test_rooms_of_member_and_close(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        r1 = await _room(uow)
        r2 = await _room(uow)
        r3 = await _room(uow, guild=G2)
        for r in (r1, r2, r3):
            await uow.rooms.add_member(room_id=r.id, user_id=ALICE, joined_ms=T0, membership_no=1)
        await uow.rooms.add_member(room_id=r1.id, user_id=BOB, joined_ms=T0, membership_no=1)
        left = await uow.rooms.add_member(room_id=r2.id, user_id=BOB, joined_ms=T0, membership_no=1)
        await uow.rooms.leave(left, T0 + 5)
        await uow.commit()
    async with uow_factory() as uow:
        assert [r.id for r in await uow.rooms.rooms_of_member(G, ALICE)] == [r1.id, r2.id]
        assert [r.id for r in await uow.rooms.rooms_of_member(G, BOB)] == [r1.id]
        assert [r.id for r in await uow.rooms.rooms_of_member(G2, ALICE)] == [r3.id]
        assert await uow.rooms.rooms_of_member(G, CAROL) == []
        room = await uow.rooms.get(r1.id)
        assert room is not None
        members = await uow.rooms.active_members(r1.id)
        await uow.rooms.close(room, T0 + 50)
        assert all(m.left_ms == T0 + 50 for m in members)  # loaded objects follow
        await uow.commit()
    async with uow_factory() as uow:
        room = await uow.rooms.get(r1.id)
        assert room is not None
        assert (room.status, room.closed_ms) == (RoomStatus.CLOSED, T0 + 50)
        assert await uow.rooms.active_members(r1.id) == []
        assert [m.left_ms for m in await uow.rooms.memberships(r1.id)] == [T0 + 50, T0 + 50]
        assert [r.id for r in await uow.rooms.rooms_of_member(G, ALICE)] == [r2.id]
        assert await uow.rooms.rooms_of_member(G, BOB) == []
        assert [r.id for r in await uow.rooms.list_open(G)] == [r2.id]


# -- runs -----------------------------------------------------------------------------------


async def _run_room(uow_factory: UnitOfWorkFactory) -> Room:
    async with uow_factory() as uow:
        room = await _room(uow)
        await uow.commit()
        return room


async def test_runs_lifecycle(uow_factory: UnitOfWorkFactory) -> None:
    room = await _run_room(uow_factory)
    async with uow_factory() as uow:
        assert await uow.runs.last_run_no(room.id) == 0
        assert await uow.runs.current(room.id) is None
        run = await uow.runs.add(
            room_id=room.id, run_no=1, study_ms=MIN, break_ms=MIN, terms=2, started_ms=T0
        )
        assert run.id is not None and run.status == RunStatus.RUNNING
        await uow.commit()
    async with uow_factory() as uow:
        current = await uow.runs.current(room.id)
        assert current is not None and current.id == run.id
        assert (current.run_no, current.study_ms, current.terms, current.started_ms) == (
            1,
            MIN,
            2,
            T0,
        )
        assert current.ended_ms is None
        assert await uow.runs.last_run_no(room.id) == 1
        await uow.runs.finish(current, RunStatus.FINISHED, T0 + 3 * MIN)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.runs.current(room.id) is None
        done = await uow.runs.get(run.id)
        assert done is not None and (done.status, done.ended_ms) == ("finished", T0 + 3 * MIN)
        second = await uow.runs.add(
            room_id=room.id, run_no=2, study_ms=MIN, break_ms=MIN, terms=1, started_ms=T0 + 5
        )
        await uow.runs.finish(second, RunStatus.STOPPED, T0 + 6)
        assert second.status == "stopped"
        with pytest.raises(ValueError, match="finished or stopped"):
            await uow.runs.finish(second, RunStatus.RUNNING, T0)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.runs.last_run_no(room.id) == 2
        assert await uow.runs.get(10**12) is None


async def test_runs_one_running_run_per_room_and_unique_numbers(
    uow_factory: UnitOfWorkFactory,
) -> None:
    room = await _run_room(uow_factory)
    async with uow_factory() as uow:
        await uow.runs.add(
            room_id=room.id, run_no=1, study_ms=MIN, break_ms=MIN, terms=2, started_ms=T0
        )
        await uow.commit()
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.runs.add(
                room_id=room.id, run_no=2, study_ms=MIN, break_ms=MIN, terms=2, started_ms=T0
            )
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.runs.add(
                room_id=room.id,
                run_no=1,
                study_ms=MIN,
                break_ms=MIN,
                terms=2,
                started_ms=T0,
                status=RunStatus.FINISHED,
            )


async def test_runs_results_dismissals_and_kings(uow_factory: UnitOfWorkFactory) -> None:
    room = await _run_room(uow_factory)
    async with uow_factory() as uow:
        other = await _room(uow, guild=G2)
        run = await uow.runs.add(
            room_id=room.id, run_no=1, study_ms=MIN, break_ms=MIN, terms=2, started_ms=T0
        )
        run_elsewhere = await uow.runs.add(
            room_id=other.id, run_no=1, study_ms=MIN, break_ms=MIN, terms=1, started_ms=T0
        )
        refund = await uow.ledger.add(G, ALICE, 100, "refund", "run", "refund:1", T0)
        await uow.runs.add_dismissals(
            [
                AlarmDismissal(
                    run_id=run.id, boundary=2, user_id=BOB, dismissed_ms=T0 + 9, on_time=False
                ),
                AlarmDismissal(
                    run_id=run.id, boundary=1, user_id=ALICE, dismissed_ms=T0 + 1, on_time=True
                ),
                AlarmDismissal(
                    run_id=run.id, boundary=1, user_id=BOB, dismissed_ms=T0 + 2, on_time=True
                ),
            ]
        )
        # replaying, or a later dismissal of the same alarm, changes nothing: the first wins
        await uow.runs.add_dismissals(
            [
                AlarmDismissal(
                    run_id=run.id, boundary=1, user_id=ALICE, dismissed_ms=T0 + 50, on_time=False
                ),
            ]
        )
        await uow.runs.add_dismissals([])
        await uow.runs.add_results(
            [
                RunResult(
                    run_id=run.id, user_id=BOB, alarms=3, dismissed=2, on_time=1, is_king=False
                ),
                RunResult(
                    run_id=run.id,
                    user_id=ALICE,
                    alarms=3,
                    dismissed=3,
                    on_time=3,
                    is_king=True,
                    refund_entry_id=refund.id,
                ),
                RunResult(
                    run_id=run_elsewhere.id,
                    user_id=ALICE,
                    alarms=1,
                    dismissed=1,
                    on_time=1,
                    is_king=True,
                ),
            ]
        )
        await uow.commit()
    async with uow_factory() as uow:
        got = [
            (d.boundary, d.user_id, d.dismissed_ms, d.on_time)
            for d in await uow.runs.dismissals(run.id)
        ]
        assert got == [
            (1, ALICE, T0 + 1, True),
            (1, BOB, T0 + 2, True),
            (2, BOB, T0 + 9, False),
        ]
        results = await uow.runs.results(run.id)
        assert [(r.user_id, r.is_king, r.refund_entry_id) for r in results] == [
            (ALICE, True, refund.id),
            (BOB, False, None),
        ]
        assert (results[1].alarms, results[1].dismissed, results[1].on_time) == (3, 2, 1)
        assert await uow.runs.kings_count(G, ALICE) == 1
        assert await uow.runs.kings_count(G2, ALICE) == 1
        assert await uow.runs.kings_count(G, BOB) == 0
        assert await uow.runs.results(10**12) == []
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.runs.add_results(
                [
                    RunResult(
                        run_id=run.id, user_id=BOB, alarms=0, dismissed=0, on_time=0, is_king=False
                    )
                ]
            )


async def test_runs_kings_leaderboard(uow_factory: UnitOfWorkFactory) -> None:
    room = await _run_room(uow_factory)
    async with uow_factory() as uow:
        for n, kings in enumerate([[ALICE, BOB], [BOB], [BOB, CAROL]], start=1):
            run = await uow.runs.add(
                room_id=room.id,
                run_no=n,
                study_ms=MIN,
                break_ms=MIN,
                terms=1,
                started_ms=T0 + n * 1000,
                status=RunStatus.FINISHED,
            )
            await uow.runs.add_results(
                RunResult(
                    run_id=run.id, user_id=u, alarms=1, dismissed=1, on_time=1, is_king=u in kings
                )
                for u in (ALICE, BOB, CAROL)
            )
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.runs.kings_leaderboard(G) == [(BOB, 3), (ALICE, 1), (CAROL, 1)]
        assert await uow.runs.kings_leaderboard(G, limit=1) == [(BOB, 3)]
        assert await uow.runs.kings_leaderboard(G, since_ms=T0 + 2000) == [(BOB, 2), (CAROL, 1)]
        # a past period: runs started at or after its end are not in it
        assert await uow.runs.kings_leaderboard(G, since_ms=T0, until_ms=T0 + 3000) == [
            (BOB, 2),
            (ALICE, 1),
        ]
        assert await uow.runs.kings_leaderboard(G, until_ms=T0 + 1000) == []
        assert await uow.runs.kings_leaderboard(G2) == []


# -- todos ----------------------------------------------------------------------------------

DAY = date(2026, 1, 1)


async def test_todos_add_list_count_get_owned_delete(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        first = await uow.todos.add(G, ALICE, DAY, "read ch. 4", T0)
        second = await uow.todos.add(G, ALICE, DAY, "write notes", T0 + 1)
        third = await uow.todos.add(G, ALICE, DAY, "inserted first", T0 + 2, position=0)
        await uow.todos.add(G, ALICE, date(2026, 1, 2), "tomorrow", T0)
        await uow.todos.add(G, BOB, DAY, "bob's", T0)
        await uow.todos.add(G2, ALICE, DAY, "other guild", T0)
        assert (first.position, second.position, third.position) == (1, 2, 0)
        assert first.done is False and first.done_ms is None
        await uow.commit()
    async with uow_factory() as uow:
        todos = await uow.todos.for_day(G, ALICE, DAY)
        assert [t.text for t in todos] == ["inserted first", "read ch. 4", "write notes"]
        assert todos[1].day == DAY and todos[1].created_ms == T0
        assert await uow.todos.count_for_day(G, ALICE, DAY) == 3
        assert await uow.todos.count_for_day(G, ALICE, date(2026, 1, 3)) == 0
        mine = await uow.todos.get_owned(G, ALICE, first.id)
        assert mine is not None and mine.text == "read ch. 4"
        assert await uow.todos.get_owned(G, BOB, first.id) is None
        assert await uow.todos.get_owned(G2, ALICE, first.id) is None
        assert await uow.todos.get_owned(G, ALICE, 10**12) is None
        mine.done = True
        mine.done_ms = T0 + 60
        await uow.todos.delete(todos[2])
        await uow.commit()
    async with uow_factory() as uow:
        todos = await uow.todos.for_day(G, ALICE, DAY)
        assert [(t.text, t.done, t.done_ms) for t in todos] == [
            ("inserted first", False, None),
            ("read ch. 4", True, T0 + 60),
        ]


async def test_todos_search_and_done_counts(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        a = await uow.todos.add(G, ALICE, DAY, "Read chapter 4", T0)
        b = await uow.todos.add(G, ALICE, DAY, "write 100% of notes", T0)
        c = await uow.todos.add(G, ALICE, date(2026, 1, 2), "read paper", T0)
        d = await uow.todos.add(G, ALICE, date(2026, 1, 31), "수학 문제", T0)
        await uow.todos.add(G, BOB, DAY, "read bob", T0)
        a.done, c.done, d.done = True, True, True
        await uow.commit()
    async with uow_factory() as uow:
        assert [t.id for t in await uow.todos.search(G, ALICE, "read")] == [c.id, a.id]
        assert [t.id for t in await uow.todos.search(G, ALICE, "")] == [d.id, c.id, a.id, b.id]
        assert [t.id for t in await uow.todos.search(G, ALICE, "", limit=2)] == [d.id, c.id]
        assert [t.id for t in await uow.todos.search(G, ALICE, "100%")] == [b.id]
        assert await uow.todos.search(G, ALICE, "%x") == []
        assert [t.id for t in await uow.todos.search(G, ALICE, "수학")] == [d.id]
        assert [t.id for t in await uow.todos.search(G, ALICE, "READ")] == [c.id, a.id]
        assert [t.id for t in await uow.todos.search(G, ALICE, "read", day=DAY)] == [a.id]
        assert [t.id for t in await uow.todos.search(G, ALICE, "", done=False)] == [b.id]
        assert await uow.todos.done_counts(G, ALICE, date(2026, 1, 1), date(2026, 1, 31)) == {
            DAY: 1,
            date(2026, 1, 2): 1,
            date(2026, 1, 31): 1,
        }
        assert await uow.todos.done_counts(G, ALICE, date(2026, 1, 2), date(2026, 1, 30)) == {
            date(2026, 1, 2): 1
        }
        assert await uow.todos.done_counts(G, BOB, DAY, DAY) == {}


async def test_todos_search_ignores_case_in_every_script(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        eco = await uow.todos.add(G, ALICE, DAY, "Ökonomie lernen", T0)
        greek = await uow.todos.add(G, ALICE, DAY, "ΣΟΦΙΑ", T0)
        edited = await uow.todos.add(G, ALICE, DAY, "draft", T0)
        await uow.commit()
    async with uow_factory() as uow:
        todo = await uow.session.get(type(edited), edited.id)
        assert todo is not None
        todo.text = "Über Straße"  # an edit keys the new text
        await uow.commit()
    async with uow_factory() as uow:
        assert [t.id for t in await uow.todos.search(G, ALICE, "ökonomie")] == [eco.id]
        assert [t.id for t in await uow.todos.search(G, ALICE, "σοφια")] == [greek.id]
        assert [t.id for t in await uow.todos.search(G, ALICE, "STRASSE")] == [edited.id]
        assert await uow.todos.search(G, ALICE, "draft") == []


# -- ratings --------------------------------------------------------------------------------


async def test_ratings_upsert_get_for_month(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.ratings.get(G, ALICE, DAY) is None
        first = await uow.ratings.upsert(G, ALICE, DAY, 3, T0)
        assert (first.score, first.updated_ms, first.day) == (3, T0, DAY)
        again = await uow.ratings.upsert(G, ALICE, DAY, 5, T0 + 1)
        assert again is first and (again.score, again.updated_ms) == (5, T0 + 1)
        await uow.ratings.upsert(G, ALICE, date(2025, 12, 31), 1, T0)
        await uow.ratings.upsert(G, ALICE, date(2026, 1, 31), 2, T0)
        await uow.ratings.upsert(G, ALICE, date(2026, 2, 1), 4, T0)
        await uow.ratings.upsert(G, BOB, DAY, 4, T0)
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.ratings.get(G, ALICE, DAY)
        assert got is not None and got.score == 5
        january = await uow.ratings.for_month(G, ALICE, 2026, 1)
        assert [(r.day, r.score) for r in january] == [(DAY, 5), (date(2026, 1, 31), 2)]
        december = await uow.ratings.for_month(G, ALICE, 2025, 12)
        assert [(r.day, r.score) for r in december] == [(date(2025, 12, 31), 1)]
        assert await uow.ratings.for_month(G2, ALICE, 2026, 1) == []


@pytest.mark.parametrize("score", [0, 6])
async def test_ratings_score_is_checked(uow_factory: UnitOfWorkFactory, score: int) -> None:
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.ratings.upsert(G, ALICE, DAY, score, T0)


# -- study sessions -------------------------------------------------------------------------


async def test_study_total_sessions_and_leaderboard(uow_factory: UnitOfWorkFactory) -> None:
    room = await _run_room(uow_factory)
    h = 3_600_000
    async with uow_factory() as uow:
        s1 = await uow.study.add(
            guild_id=G, user_id=ALICE, start_ms=T0, end_ms=T0 + h, room_id=room.id
        )
        await uow.study.add(guild_id=G, user_id=ALICE, start_ms=T0 + 2 * h, end_ms=T0 + 3 * h)
        await uow.study.add(guild_id=G, user_id=BOB, start_ms=T0, end_ms=T0 + 4 * h)
        await uow.study.add(guild_id=G2, user_id=ALICE, start_ms=T0, end_ms=T0 + 9 * h)
        assert s1.id is not None and s1.room_id == room.id
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.study.total_ms(G, ALICE, T0, T0 + 10 * h) == 2 * h
        assert await uow.study.total_ms(G, ALICE, T0 + h // 2, T0 + 2 * h + h // 4) == (
            h // 2 + h // 4
        )
        assert await uow.study.total_ms(G, ALICE, T0 + h, T0 + 2 * h) == 0
        assert await uow.study.total_ms(G, CAROL, T0, T0 + h) == 0
        spans = await uow.study.sessions(G, ALICE, T0 + h // 2, T0 + 10 * h)
        assert [(s.start_ms, s.end_ms) for s in spans] == [
            (T0, T0 + h),
            (T0 + 2 * h, T0 + 3 * h),
        ]
        assert await uow.study.leaderboard(G, T0, T0 + 10 * h) == [(BOB, 4 * h), (ALICE, 2 * h)]
        assert await uow.study.leaderboard(G, T0 + 2 * h, T0 + 3 * h, limit=5) == [
            (ALICE, h),
            (BOB, h),
        ]
        assert await uow.study.leaderboard(G, T0, T0 + 10 * h, limit=1) == [(BOB, 4 * h)]

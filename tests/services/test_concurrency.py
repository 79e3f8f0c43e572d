"""Concurrent requests through the services, on both backends: nobody overdraws, a room never
holds more than its capacity, and nothing is paid or refunded twice."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

import pytest

from bot.domain.errors import AlreadyMember, InsufficientPoints, RoomFull
from bot.domain.points import Reason
from storage.models import LedgerEntry
from tests.support.world import ALICE, BOB, GUILD, SETTINGS, World

T = TypeVar("T")
NEWCOMERS = tuple(range(100, 110))


async def together(calls: Sequence[Awaitable[T]]) -> list[T | BaseException]:
    """Run every call at once; results and exceptions, in order."""
    return await asyncio.gather(*calls, return_exceptions=True)


def successes(results: Sequence[Any]) -> list[Any]:
    return [r for r in results if not isinstance(r, BaseException)]


def failures(results: Sequence[Any]) -> list[BaseException]:
    return [r for r in results if isinstance(r, BaseException)]


async def ledger(world: World, user: int) -> list[LedgerEntry]:
    async with world.app.uow() as uow:
        return list(reversed(await uow.ledger.recent(GUILD, user, limit=10_000)))


async def balance(world: World, user: int) -> int:
    async with world.app.uow() as uow:
        return await uow.ledger.balance(GUILD, user)


@pytest.mark.parametrize("first_use", [False, True], ids=["member", "first-use"])
async def test_concurrent_spends_never_overdraw(world: World, first_use: bool) -> None:
    if not first_use:  # else the bonus itself is raced for by the twenty spends
        await world.app.points.ensure_member(GUILD, ALICE)
    cost = 300  # the 1000 bonus covers exactly three
    results = await together(
        [
            world.app.points.spend(GUILD, ALICE, cost, Reason.ADJUST, "test", f"spend-{i}")
            for i in range(20)
        ]
    )
    paid = successes(results)
    assert len(paid) == 3
    refused = failures(results)
    assert len(refused) == 17
    assert all(isinstance(e, InsufficientPoints) for e in refused), refused

    entries = await ledger(world, ALICE)
    assert [e.amount for e in entries].count(SETTINGS.signup_bonus) == 1
    assert sorted(e.id for e in entries if e.amount < 0) == sorted(e.id for e in paid)
    total = sum(e.amount for e in entries)
    assert total == await balance(world, ALICE) == 1000 - 3 * cost
    assert total >= 0


async def test_concurrent_spends_with_one_key_charge_once(world: World) -> None:
    await world.app.points.ensure_member(GUILD, ALICE)
    results = await together(
        [
            world.app.points.spend(GUILD, ALICE, 100, Reason.ROOM_JOIN, "room:1", "double-click")
            for _ in range(8)
        ]
    )
    assert failures(results) == []
    assert len({e.id for e in successes(results)}) == 1
    assert [e.amount for e in await ledger(world, ALICE)] == [1000, -100]


async def test_concurrent_first_uses_pay_the_bonus_once(world: World) -> None:
    results = await together(
        [world.app.points.balance(GUILD, BOB) for _ in range(5)]
        + [world.app.points.ensure_member(GUILD, BOB) for _ in range(5)]
    )
    assert failures(results) == []
    assert [e.amount for e in await ledger(world, BOB)] == [SETTINGS.signup_bonus]


async def test_concurrent_refunds_of_one_payment_pay_once(world: World) -> None:
    payment = await world.app.points.spend(GUILD, ALICE, 250, Reason.ROOM_JOIN, "room:1", "pay")
    assert payment is not None
    results = await together([world.app.points.refund(payment.id, "run:1") for _ in range(8)])
    assert failures(results) == []
    assert len({e.id for e in successes(results)}) == 1
    assert [e.amount for e in await ledger(world, ALICE)] == [1000, -250, 250]
    assert await balance(world, ALICE) == 1000


async def test_concurrent_joins_never_exceed_capacity(world: World) -> None:
    room = await world.app.rooms.create(GUILD, ALICE, "Five seats", 50, 10, 4, capacity=5)
    results = await together([world.app.rooms.join(room.id, user) for user in NEWCOMERS])
    refused = failures(results)
    assert len(successes(results)) == 4
    assert len(refused) == 6 and all(isinstance(e, RoomFull) for e in refused), refused

    joined = [u for u, r in zip(NEWCOMERS, results, strict=True) if not isinstance(r, Exception)]
    view = await world.app.rooms.get(room.id)
    assert sorted(m.user_id for m in view.members) == sorted([ALICE, *joined])
    assert sorted(await world.app.store.get_members(view.key)) == sorted([ALICE, *joined])
    for user in NEWCOMERS:
        amounts = [e.amount for e in await ledger(world, user)]
        if user in joined:  # the bonus, then the join, once
            assert amounts == [1000, -SETTINGS.room_join_cost]
        else:  # refused before anything was written
            assert amounts == []
    assert await balance(world, ALICE) == 1000 - SETTINGS.room_create_cost


async def test_a_double_join_charges_once(world: World) -> None:
    room = await world.app.rooms.create(GUILD, ALICE, "Double click", 50, 10, 4)
    results = await together([world.app.rooms.join(room.id, BOB) for _ in range(5)])
    assert len(successes(results)) == 1
    assert all(isinstance(e, AlreadyMember) for e in failures(results))
    assert [e.amount for e in await ledger(world, BOB)] == [1000, -SETTINGS.room_join_cost]
    async with world.app.uow() as uow:
        assert [m.user_id for m in await uow.rooms.memberships(room.id)] == [ALICE, BOB]


async def test_concurrent_creates_stop_at_the_balance(world: World) -> None:
    results = await together(
        [
            world.app.rooms.create(GUILD, ALICE, f"Room {i}", 50, 10, 4, capacity=2)
            for i in range(14)
        ]
    )
    assert len(successes(results)) == 10  # 1000 / 100
    assert all(isinstance(e, InsufficientPoints) for e in failures(results))
    assert len(failures(results)) == 4
    assert await balance(world, ALICE) == 0
    listed = await world.app.rooms.list_open(GUILD, limit=50)
    assert sorted(v.room.id for v in listed) == sorted(r.id for r in successes(results))

"""Concurrent units of work cannot overdraw: the member lock serialises spends.

On PostgreSQL the lock is ``SELECT ... FOR UPDATE`` on the member's row; on SQLite every
transaction starts with ``BEGIN IMMEDIATE`` and waits (busy timeout) for the write lock.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.uow import UnitOfWorkFactory

G = 1_234_567_890_123_456_789
ALICE = 111_111_111_111_111_111
T0 = 1_767_225_600_000
TASKS = 20
START_BALANCE = 3


async def _fund(uow_factory: UnitOfWorkFactory, amount: int) -> None:
    async with uow_factory() as uow:
        await uow.members.lock(G, ALICE, T0)
        await uow.ledger.add(G, ALICE, amount, "signup", "member", "signup", T0)
        await uow.commit()


async def _spend(uow_factory: UnitOfWorkFactory, n: int, *, lock: bool = True) -> bool:
    async with uow_factory() as uow:
        if lock:
            await uow.members.lock(G, ALICE, T0 + n)
        balance = await uow.ledger.balance(G, ALICE)
        if balance < 1:
            return False
        await asyncio.sleep(0.02)  # let the others run between the read and the write
        await uow.ledger.add(G, ALICE, -1, "spend", f"test:{n}", f"spend:{n}", T0 + n)
        await uow.commit()
        return True


async def test_concurrent_spends_never_overdraw(uow_factory: UnitOfWorkFactory) -> None:
    await _fund(uow_factory, START_BALANCE)
    outcomes = await asyncio.gather(*(_spend(uow_factory, n) for n in range(TASKS)))
    assert sum(outcomes) == START_BALANCE
    async with uow_factory() as uow:
        assert await uow.ledger.balance(G, ALICE) == 0
        assert len(await uow.ledger.recent(G, ALICE, limit=100)) == START_BALANCE + 1


async def test_without_the_lock_postgres_would_overdraw(
    engine: AsyncEngine, uow_factory: UnitOfWorkFactory
) -> None:
    """Shows the test above can fail: on PostgreSQL, skipping the lock lets spends interleave.
    (On SQLite BEGIN IMMEDIATE serialises the whole transaction, lock or not.)"""
    await _fund(uow_factory, START_BALANCE)
    outcomes = await asyncio.gather(*(_spend(uow_factory, n, lock=False) for n in range(TASKS)))
    async with uow_factory() as uow:
        balance = await uow.ledger.balance(G, ALICE)
    if engine.dialect.name == "postgresql":
        assert sum(outcomes) > START_BALANCE and balance < 0
    else:
        assert sum(outcomes) == START_BALANCE and balance == 0


async def test_concurrent_get_or_create_creates_once(uow_factory: UnitOfWorkFactory) -> None:
    async def first_use(n: int) -> bool:
        async with uow_factory() as uow:
            _, created = await uow.members.get_or_create(G, ALICE, T0 + n)
            await asyncio.sleep(0.01)
            await uow.commit()
            return created

    outcomes = await asyncio.gather(*(first_use(n) for n in range(TASKS)))
    assert sum(outcomes) == 1
    async with uow_factory() as uow:
        member = await uow.members.get(G, ALICE)
        assert member is not None


async def test_cancelled_unit_of_work_releases_its_connection(
    uow_factory: UnitOfWorkFactory,
) -> None:
    started = asyncio.Event()

    async def hold() -> None:
        async with uow_factory() as uow:
            await uow.members.lock(G, ALICE, T0)
            started.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(hold())
    await started.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    async with asyncio.timeout(10):  # the lock is free again
        await _fund(uow_factory, 1)
    async with uow_factory() as uow:
        assert await uow.ledger.balance(G, ALICE) == 1

"""Points: the signup bonus, spending, refunds and history, over the append-only ledger.

Every write goes through ``uow.members.lock`` first, so two spends by one member serialise
(row lock on PostgreSQL, an IMMEDIATE transaction on SQLite) and cannot overdraw. Every
entry has an idempotency key: repeating an action returns the entry already written.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.errors import NotFound, ValidationError
from bot.domain.points import LedgerEntry as DomainEntry
from bot.domain.points import (
    LedgerLine,
    Reason,
    check_spend,
    refund_entry,
    refund_key,
    signup_entry,
    signup_key,
)
from bot.services.base import SqlService
from storage.models import LedgerEntry
from storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Balance:
    balance: int
    recent: tuple[LedgerLine, ...]


async def ensure_member(
    uow: UnitOfWork, guild_id: int, user_id: int, now_ms: int, bonus: int
) -> None:
    """Create and lock the member row; pay the signup bonus the first time, once."""
    await uow.members.lock(guild_id, user_id, now_ms)
    key = signup_key(guild_id, user_id)
    if bonus > 0 and await uow.ledger.by_key(key) is None:
        await uow.ledger.add_entry(
            guild_id, user_id, signup_entry(guild_id, user_id, bonus), now_ms
        )


async def charge(
    uow: UnitOfWork,
    guild_id: int,
    user_id: int,
    cost: int,
    reason: Reason,
    reference: str,
    key: str,
    now_ms: int,
) -> LedgerEntry | None:
    """Spend ``cost`` inside the caller's unit of work (member already locked).

    Returns the entry (the existing one if ``key`` was used before), or None when the cost
    is zero. Raises ``InsufficientPoints`` when short; nothing is written then. A key another
    member's entry already holds is refused: their payment is not this member's.
    """
    existing = await uow.ledger.by_key(key)
    if existing is not None:
        if (existing.guild_id, existing.user_id) != (guild_id, user_id):
            raise ValidationError("key", "in_use")
        return existing
    if cost == 0:
        return None
    check_spend(await uow.ledger.balance(guild_id, user_id), cost)
    entry = DomainEntry(-cost, reason, reference, key)  # the domain checks the entry's sign
    return await uow.ledger.add_entry(guild_id, user_id, entry, now_ms)


class PointsService(SqlService):
    async def ensure_member(self, guild_id: int, user_id: int) -> None:
        async with self._uow() as uow:
            await ensure_member(
                uow,
                guild_id,
                user_id,
                self._clock.now_ms(),
                self._settings.for_guild(guild_id).signup_bonus,
            )
            await uow.commit()

    async def balance(self, guild_id: int, user_id: int, history: int = 10) -> Balance:
        await self.ensure_member(guild_id, user_id)
        async with self._uow() as uow:
            total = await uow.ledger.balance(guild_id, user_id)
            recent = await uow.ledger.recent(guild_id, user_id, limit=history)
            return Balance(total, tuple(e.line() for e in recent))

    async def spend(
        self,
        guild_id: int,
        user_id: int,
        cost: int,
        reason: Reason,
        reference: str,
        key: str,
    ) -> LedgerLine | None:
        """Spend once per ``key``; refused (``InsufficientPoints``) when short, never clamped."""
        if cost < 0:
            raise ValidationError("cost", "negative")
        now = self._clock.now_ms()
        async with self._uow() as uow:
            await ensure_member(
                uow, guild_id, user_id, now, self._settings.for_guild(guild_id).signup_bonus
            )
            entry = await charge(uow, guild_id, user_id, cost, reason, reference, key, now)
            await uow.commit()
            return entry.line() if entry is not None else None

    async def refund(self, payment_entry_id: int, reference: str) -> LedgerLine:
        """Give back exactly what a payment took, once: the refund references the payment."""
        now = self._clock.now_ms()
        async with self._uow() as uow:
            entry = await refund_in(uow, payment_entry_id, reference, now)
            await uow.commit()
            return entry.line()

    async def history(self, guild_id: int, user_id: int, limit: int = 10) -> list[LedgerLine]:
        async with self._uow() as uow:
            return [e.line() for e in await uow.ledger.recent(guild_id, user_id, limit=limit)]


async def refund_in(
    uow: UnitOfWork, payment_entry_id: int, reference: str, now_ms: int
) -> LedgerEntry:
    """Refund inside the caller's unit of work; returns the existing refund if one was made.

    The member is locked before looking for an earlier refund, so concurrent refunds of one
    payment serialise: the first writes it, the others find and return it."""
    payment = await uow.ledger.get(payment_entry_id)
    if payment is None:
        raise NotFound("payment")
    if payment.amount >= 0:
        raise ValidationError("payment", "not_a_payment")
    await uow.members.lock(payment.guild_id, payment.user_id, now_ms)
    existing = await uow.ledger.by_key(refund_key(payment_entry_id))
    if existing is not None:
        return existing
    entry = refund_entry(payment_entry_id, payment, reference)
    return await uow.ledger.add_entry(payment.guild_id, payment.user_id, entry, now_ms)

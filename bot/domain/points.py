"""Points: an append-only ledger whose sum is the balance.

Credits are positive and debits negative: a room payment is stored as ``-cost``. Every entry
carries an idempotency key, unique per member's ledger, so an action retried after a crash
or a double click is recorded once: the key names the action, not the attempt. A spend is
refused when the balance is short, never clamped. A refund references the payment it
returns and gives back exactly what was paid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.domain.errors import InsufficientPoints, ValidationError

AMOUNT_MAX = 1_000_000_000


class Reason(StrEnum):
    SIGNUP_BONUS = "signup_bonus"
    ROOM_CREATE = "room_create"
    ROOM_JOIN = "room_join"
    KING_REFUND = "king_refund"
    ADJUST = "adjust"


CREDIT_REASONS = frozenset({Reason.SIGNUP_BONUS, Reason.KING_REFUND})
DEBIT_REASONS = frozenset({Reason.ROOM_CREATE, Reason.ROOM_JOIN})
PAYMENT_REASONS = DEBIT_REASONS  # what a study king gets back


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """A ledger line as written: the entry, its id and when it was written."""

    id: int
    guild_id: int
    user_id: int
    amount: int
    reason: str
    reference: str
    idempotency_key: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One ledger line. ``reference`` says what it is about (``room:12``, ``ledger:345``)."""

    amount: int
    reason: Reason
    reference: str
    idempotency_key: str

    def __post_init__(self) -> None:
        validate_amount(self.amount)
        if self.reason in CREDIT_REASONS and self.amount < 0:
            raise ValueError(f"{self.reason} must be a credit")
        if self.reason in DEBIT_REASONS and self.amount > 0:
            raise ValueError(f"{self.reason} must be a debit")
        if not self.idempotency_key:
            raise ValueError("an entry needs an idempotency key")


class PaymentLike(Protocol):
    """Anything with a ledger entry's amount and reason (a stored row, a LedgerEntry)."""

    @property
    def amount(self) -> int: ...

    @property
    def reason(self) -> str: ...


def validate_amount(amount: int) -> int:
    """A ledger amount: a non-zero whole number no larger than 10⁹ either way."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationError("amount", "not_integer")
    if amount == 0:
        raise ValidationError("amount", "zero")
    if abs(amount) > AMOUNT_MAX:
        raise ValidationError("amount", "out_of_range", min=-AMOUNT_MAX, max=AMOUNT_MAX)
    return amount


def check_spend(balance: int, cost: int) -> None:
    """Refuse spending ``cost`` (> 0) out of ``balance`` when the balance is short."""
    if isinstance(cost, bool) or cost <= 0:
        raise ValueError("a cost must be positive")
    if balance < cost:
        raise InsufficientPoints(balance, cost)


def balance_of(entries: Iterable[PaymentLike]) -> int:
    return sum(e.amount for e in entries)


# -- idempotency keys: one per action --------------------------------------------------------


def signup_key(guild_id: int, user_id: int) -> str:
    return f"signup:{guild_id}:{user_id}"


def room_create_key(room_id: int) -> str:
    return f"room_create:{room_id}"


def room_join_key(room_id: int, user_id: int, membership_no: int) -> str:
    """A member who leaves and rejoins pays again: ``membership_no`` (1, 2, …) counts their
    memberships of this room, so each join is its own action."""
    if membership_no < 1:
        raise ValueError("membership_no starts at 1")
    return f"room_join:{room_id}:{user_id}:{membership_no}"


def refund_key(payment_entry_id: int) -> str:
    """One refund per payment, however many runs or retries ask for it."""
    return f"refund:{payment_entry_id}"


def room_reference(room_id: int) -> str:
    return f"room:{room_id}"


def ledger_reference(entry_id: int) -> str:
    return f"ledger:{entry_id}"


# -- entries -----------------------------------------------------------------------------


def refund_for(payment: PaymentLike) -> int:
    """What refunding ``payment`` credits: exactly what was paid, as a positive amount."""
    if payment.reason not in PAYMENT_REASONS:
        raise ValueError(f"{payment.reason} is not a room payment")
    if payment.amount >= 0:
        raise ValueError("a payment is a debit")
    return -payment.amount


def signup_entry(guild_id: int, user_id: int, bonus: int) -> LedgerEntry:
    return LedgerEntry(
        bonus, Reason.SIGNUP_BONUS, f"guild:{guild_id}", signup_key(guild_id, user_id)
    )


def room_create_entry(room_id: int, cost: int) -> LedgerEntry:
    return LedgerEntry(-cost, Reason.ROOM_CREATE, room_reference(room_id), room_create_key(room_id))


def room_join_entry(room_id: int, user_id: int, membership_no: int, cost: int) -> LedgerEntry:
    return LedgerEntry(
        -cost,
        Reason.ROOM_JOIN,
        room_reference(room_id),
        room_join_key(room_id, user_id, membership_no),
    )


def refund_entry(payment_entry_id: int, payment: PaymentLike, reference: str) -> LedgerEntry:
    """The king's refund of ledger entry ``payment_entry_id``: what it refunds (``run:5``)
    and which payment, once per payment."""
    return LedgerEntry(
        refund_for(payment),
        Reason.KING_REFUND,
        f"{reference};payment:{payment_entry_id}",
        refund_key(payment_entry_id),
    )


def undo_entry(room_id: int, payment_entry_id: int, payment: PaymentLike) -> LedgerEntry:
    """A join taken back because Discord could not complete it: its payment returned, once."""
    return LedgerEntry(
        refund_for(payment),
        Reason.ADJUST,
        f"{room_reference(room_id)};payment:{payment_entry_id}",
        f"{room_reference(room_id)}:undo:{payment_entry_id}",
    )

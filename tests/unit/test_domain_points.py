from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from bot.domain.errors import InsufficientPoints, ValidationError
from bot.domain.points import (
    AMOUNT_MAX,
    LedgerEntry,
    Reason,
    balance_of,
    check_spend,
    refund_entry,
    refund_for,
    refund_key,
    room_create_entry,
    room_create_key,
    room_join_entry,
    room_join_key,
    signup_entry,
    signup_key,
    undo_entry,
    validate_amount,
)


def test_reason_values() -> None:
    assert [r.value for r in Reason] == [
        "signup_bonus",
        "room_create",
        "room_join",
        "king_refund",
        "adjust",
    ]
    assert Reason("room_join") is Reason.ROOM_JOIN
    assert str(Reason.ADJUST) == "adjust"


def test_check_spend() -> None:
    check_spend(100, 100)
    check_spend(1000, 1)
    with pytest.raises(InsufficientPoints) as exc:
        check_spend(99, 100)
    assert exc.value.params == {"balance": 99, "needed": 100}
    with pytest.raises(InsufficientPoints):
        check_spend(0, 1)
    with pytest.raises(InsufficientPoints):
        check_spend(-5, 1)


@pytest.mark.parametrize("cost", [0, -1])
def test_check_spend_needs_a_positive_cost(cost: int) -> None:
    with pytest.raises(ValueError):
        check_spend(100, cost)


def test_keys_are_distinct_per_action() -> None:
    keys = {
        signup_key(1, 2),
        signup_key(2, 1),
        room_create_key(7),
        room_join_key(7, 2, 1),
        room_join_key(7, 2, 2),
        room_join_key(7, 3, 1),
        room_join_key(8, 2, 1),
        refund_key(7),
        refund_key(8),
    }
    assert len(keys) == 9


def test_keys_are_stable() -> None:
    assert signup_key(1, 2) == signup_key(1, 2) == "signup:1:2"
    assert room_create_key(7) == "room_create:7"
    assert room_join_key(7, 2, 3) == "room_join:7:2:3"
    assert refund_key(44) == "refund:44"


def test_room_join_key_membership_no_starts_at_one() -> None:
    with pytest.raises(ValueError):
        room_join_key(7, 2, 0)


def test_validate_amount() -> None:
    assert validate_amount(5) == 5
    assert validate_amount(-5) == -5
    assert validate_amount(AMOUNT_MAX) == AMOUNT_MAX
    for bad, prob in (
        (0, "zero"),
        (AMOUNT_MAX + 1, "out_of_range"),
        (-AMOUNT_MAX - 1, "out_of_range"),
    ):
        with pytest.raises(ValidationError) as exc:
            validate_amount(bad)
        assert exc.value.field == "amount" and exc.value.problem == prob
    with pytest.raises(ValidationError):
        validate_amount(True)
    with pytest.raises(ValidationError):
        validate_amount(1.5)  # type: ignore[arg-type]


def test_ledger_entry_signs() -> None:
    LedgerEntry(1000, Reason.SIGNUP_BONUS, "guild:1", "k1")
    LedgerEntry(-100, Reason.ROOM_CREATE, "room:1", "k2")
    LedgerEntry(-5, Reason.ADJUST, "admin", "k3")
    LedgerEntry(5, Reason.ADJUST, "admin", "k4")
    with pytest.raises(ValueError):
        LedgerEntry(100, Reason.ROOM_JOIN, "room:1", "k")
    with pytest.raises(ValueError):
        LedgerEntry(-100, Reason.KING_REFUND, "ledger:1", "k")
    with pytest.raises(ValueError):
        LedgerEntry(100, Reason.SIGNUP_BONUS, "guild:1", "")
    with pytest.raises(ValidationError):
        LedgerEntry(0, Reason.ADJUST, "admin", "k")


def test_ledger_entry_is_frozen() -> None:
    e = LedgerEntry(1, Reason.ADJUST, "x", "k")
    with pytest.raises(FrozenInstanceError):
        e.amount = 2  # type: ignore[misc]


def test_entries_and_balance() -> None:
    signup = signup_entry(1, 2, 1000)
    create = room_create_entry(7, 100)
    join = room_join_entry(8, 2, 1, 50)
    assert signup == LedgerEntry(1000, Reason.SIGNUP_BONUS, "guild:1", "signup:1:2")
    assert create.amount == -100 and create.reference == "room:7"
    assert join.amount == -50 and join.idempotency_key == "room_join:8:2:1"
    assert balance_of([signup, create, join]) == 850
    assert balance_of([]) == 0


def test_refund_is_exactly_what_was_paid() -> None:
    payment = room_join_entry(8, 2, 1, 50)
    assert refund_for(payment) == 50
    refund = refund_entry(345, payment, "run:9")
    assert refund.amount == 50
    assert refund.reason is Reason.KING_REFUND
    assert refund.reference == "run:9;payment:345"
    assert refund.idempotency_key == refund_key(345)
    assert balance_of([payment, refund]) == 0
    assert refund_for(room_create_entry(7, 123)) == 123
    undo = undo_entry(8, 345, payment)
    assert (undo.amount, undo.reason) == (50, Reason.ADJUST)
    assert (undo.reference, undo.idempotency_key) == ("room:8;payment:345", "room:8:undo:345")
    assert undo.idempotency_key != refund.idempotency_key  # an undone join is never refunded


def test_refund_of_a_stored_row() -> None:
    class Row:
        amount = -75
        reason = "room_create"

    assert refund_for(Row()) == 75


def test_only_room_payments_are_refunded() -> None:
    with pytest.raises(ValueError):
        refund_for(signup_entry(1, 2, 1000))
    with pytest.raises(ValueError):
        refund_for(LedgerEntry(-5, Reason.ADJUST, "admin", "k"))


def test_zero_cost_is_not_an_entry() -> None:
    with pytest.raises(ValidationError):
        room_create_entry(7, 0)

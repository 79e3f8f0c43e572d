"""Points through the service: signup bonus, spending, idempotency, refunds and history.

Every refusal is checked to change nothing: the whole SQL state is compared before and after.
"""

from __future__ import annotations

import pytest

from bot.domain.errors import InsufficientPoints, NotFound, ValidationError
from bot.domain.points import Reason, signup_key
from storage.models import LedgerEntry
from tests.support.world import ALICE, BOB, GUILD, OTHER_GUILD, SETTINGS, World, sql_state

pytestmark = pytest.mark.memory_storage  # rules, not storage (storage suites run every backend)


async def ledger(world: World, guild: int, user: int) -> list[LedgerEntry]:
    """The member's ledger, oldest first."""
    async with world.app.uow() as uow:
        return list(reversed(await uow.ledger.recent(guild, user, limit=10_000)))


async def balance(world: World, user: int, guild: int = GUILD) -> int:
    return (await world.app.points.balance(guild, user)).balance


# -- the signup bonus ------------------------------------------------------------------------


async def test_signup_bonus_is_paid_once_per_member_and_guild(world: World) -> None:
    points = world.app.points
    await points.ensure_member(GUILD, ALICE)
    await points.ensure_member(GUILD, ALICE)
    assert await balance(world, ALICE) == SETTINGS.signup_bonus
    assert await balance(world, ALICE) == SETTINGS.signup_bonus
    await points.ensure_member(GUILD, ALICE)

    entries = await ledger(world, GUILD, ALICE)
    assert [(e.amount, e.reason, e.idempotency_key) for e in entries] == [
        (1000, Reason.SIGNUP_BONUS.value, signup_key(GUILD, ALICE))
    ]

    # another guild is another first use: its own bonus, once
    assert await balance(world, ALICE, OTHER_GUILD) == 1000
    await points.ensure_member(OTHER_GUILD, ALICE)
    assert await balance(world, ALICE, OTHER_GUILD) == 1000
    assert [e.idempotency_key for e in await ledger(world, OTHER_GUILD, ALICE)] == [
        signup_key(OTHER_GUILD, ALICE)
    ]
    # and the two guilds' balances stay apart
    await points.spend(GUILD, ALICE, 400, Reason.ADJUST, "test", "spend-1")
    assert await balance(world, ALICE) == 600
    assert await balance(world, ALICE, OTHER_GUILD) == 1000


async def test_the_bonus_comes_with_the_first_action_whatever_it_is(world: World) -> None:
    entry = await world.app.points.spend(GUILD, BOB, 30, Reason.ADJUST, "test", "first")
    assert entry is not None and entry.amount == -30
    entries = await ledger(world, GUILD, BOB)
    assert [(e.amount, e.reason) for e in entries] == [
        (1000, Reason.SIGNUP_BONUS.value),
        (-30, Reason.ADJUST.value),
    ]
    assert await balance(world, BOB) == 970


async def test_members_do_not_share_a_bonus(world: World) -> None:
    assert await balance(world, ALICE) == 1000
    assert await balance(world, BOB) == 1000
    assert len(await ledger(world, GUILD, ALICE)) == 1
    assert len(await ledger(world, GUILD, BOB)) == 1


# -- spending --------------------------------------------------------------------------------


async def test_spend_takes_exactly_the_cost(world: World) -> None:
    entry = await world.app.points.spend(GUILD, ALICE, 250, Reason.ROOM_JOIN, "room:7", "k-250")
    assert entry is not None
    assert (entry.guild_id, entry.user_id, entry.amount) == (GUILD, ALICE, -250)
    assert (entry.reason, entry.reference, entry.idempotency_key) == (
        "room_join",
        "room:7",
        "k-250",
    )
    assert entry.created_ms == world.now_ms()
    assert await balance(world, ALICE) == 750


async def test_spend_refused_when_short_changes_nothing(world: World) -> None:
    points = world.app.points
    await points.spend(GUILD, ALICE, 900, Reason.ADJUST, "test", "big")
    before = await sql_state(world)

    with pytest.raises(InsufficientPoints) as refused:
        await points.spend(GUILD, ALICE, 101, Reason.ADJUST, "test", "too-much")
    assert refused.value.params == {"balance": 100, "needed": 101}
    assert await sql_state(world) == before  # nothing written, not even a clamped entry
    assert await balance(world, ALICE) == 100

    # exactly the balance is fine, and brings it to zero, never below
    await points.spend(GUILD, ALICE, 100, Reason.ADJUST, "test", "all-of-it")
    assert await balance(world, ALICE) == 0
    before = await sql_state(world)
    for cost in (1, 50, 10**9):
        with pytest.raises(InsufficientPoints):
            await points.spend(GUILD, ALICE, cost, Reason.ADJUST, "test", f"more-{cost}")
    assert await sql_state(world) == before
    assert await balance(world, ALICE) == 0
    assert all(e.idempotency_key != "too-much" for e in await ledger(world, GUILD, ALICE))


async def test_spend_more_than_the_bonus_on_first_use_is_refused(world: World) -> None:
    before = await sql_state(world)
    with pytest.raises(InsufficientPoints):
        await world.app.points.spend(GUILD, BOB, 1001, Reason.ADJUST, "test", "k")
    assert await sql_state(world) == before
    assert await balance(world, BOB) == 1000  # the bonus still comes, once


async def test_spend_of_nothing_writes_nothing_and_negative_cost_is_refused(world: World) -> None:
    points = world.app.points
    await points.ensure_member(GUILD, ALICE)
    before = await sql_state(world)
    assert await points.spend(GUILD, ALICE, 0, Reason.ADJUST, "test", "zero") is None
    assert await sql_state(world) == before
    with pytest.raises(ValidationError) as refused:
        await points.spend(GUILD, ALICE, -5, Reason.ADJUST, "test", "negative")
    assert refused.value.field == "cost"
    assert await sql_state(world) == before
    assert await balance(world, ALICE) == 1000


async def test_spend_with_the_same_key_charges_once(world: World) -> None:
    points = world.app.points
    first = await points.spend(GUILD, ALICE, 300, Reason.ROOM_JOIN, "room:1", "join-once")
    state = await sql_state(world)
    again = await points.spend(GUILD, ALICE, 300, Reason.ROOM_JOIN, "room:1", "join-once")
    assert first is not None and again is not None
    assert again.id == first.id and again.amount == -300
    assert await sql_state(world) == state
    assert await balance(world, ALICE) == 700

    # the key names the action: a retry with other figures still returns what was written
    other = await points.spend(GUILD, ALICE, 999, Reason.ADJUST, "other", "join-once")
    assert other is not None and (other.id, other.amount) == (first.id, -300)
    assert await sql_state(world) == state

    # and a retry after the balance ran low is not refused: it was paid already
    await points.spend(GUILD, ALICE, 700, Reason.ADJUST, "test", "drain")
    drained = await sql_state(world)
    retry = await points.spend(GUILD, ALICE, 300, Reason.ROOM_JOIN, "room:1", "join-once")
    assert retry is not None and retry.id == first.id
    assert await sql_state(world) == drained
    assert await balance(world, ALICE) == 0


async def test_a_key_another_member_used_is_not_their_payment(world: World) -> None:
    points = world.app.points
    alice = await points.spend(GUILD, ALICE, 200, Reason.ADJUST, "test", "shared-key")
    assert alice is not None
    await points.ensure_member(GUILD, BOB)
    before = await sql_state(world)
    with pytest.raises(ValidationError) as refused:
        await points.spend(GUILD, BOB, 200, Reason.ADJUST, "test", "shared-key")
    assert refused.value.field == "key"
    assert await sql_state(world) == before
    assert await balance(world, ALICE) == 800
    assert await balance(world, BOB) == 1000


# -- refunds ---------------------------------------------------------------------------------


async def test_refund_gives_back_exactly_the_payment_once(world: World) -> None:
    points = world.app.points
    payment = await points.spend(GUILD, ALICE, 270, Reason.ROOM_JOIN, "room:3", "pay-270")
    assert payment is not None
    await points.spend(GUILD, ALICE, 30, Reason.ADJUST, "test", "other-spend")
    assert await balance(world, ALICE) == 700

    refund = await points.refund(payment.id, "run:5")
    assert (refund.guild_id, refund.user_id, refund.amount) == (GUILD, ALICE, 270)
    assert refund.reason == Reason.KING_REFUND.value
    assert f"payment:{payment.id}" in refund.reference
    assert "run:5" in refund.reference
    assert await balance(world, ALICE) == 970

    state = await sql_state(world)
    again = await points.refund(payment.id, "run:6")
    assert again.id == refund.id and again.amount == 270
    assert await sql_state(world) == state
    assert await balance(world, ALICE) == 970


async def test_refund_of_what_is_not_a_payment_is_refused(world: World) -> None:
    points = world.app.points
    payment = await points.spend(GUILD, ALICE, 100, Reason.ROOM_CREATE, "room:1", "pay")
    assert payment is not None
    refund = await points.refund(payment.id, "run:1")
    bonus = (await ledger(world, GUILD, ALICE))[0]
    assert bonus.reason == Reason.SIGNUP_BONUS.value
    before = await sql_state(world)

    for credit in (bonus, refund):  # credits are not payments
        with pytest.raises(ValidationError) as refused:
            await points.refund(credit.id, "run:1")
        assert refused.value.field == "payment"
    with pytest.raises(NotFound):
        await points.refund(refund.id + 1000, "run:1")
    assert await sql_state(world) == before
    assert await balance(world, ALICE) == 1000


async def test_each_payment_is_refunded_on_its_own(world: World) -> None:
    points = world.app.points
    first = await points.spend(GUILD, ALICE, 100, Reason.ROOM_JOIN, "room:1", "pay-1")
    second = await points.spend(GUILD, ALICE, 100, Reason.ROOM_JOIN, "room:1", "pay-2")
    assert first is not None and second is not None
    a = await points.refund(first.id, "run:1")
    b = await points.refund(second.id, "run:2")
    assert a.id != b.id
    assert f"payment:{first.id}" in a.reference and f"payment:{second.id}" in b.reference
    assert await balance(world, ALICE) == 1000


# -- history ---------------------------------------------------------------------------------


async def test_history_is_newest_first_and_limited(world: World) -> None:
    points = world.app.points
    for i in range(1, 6):
        await points.spend(GUILD, ALICE, i * 10, Reason.ADJUST, "test", f"h{i}")
        await world.advance(1000)
    await points.spend(GUILD, BOB, 1, Reason.ADJUST, "test", "bob")  # not Alice's

    history = await points.history(GUILD, ALICE, limit=3)
    assert [e.amount for e in history] == [-50, -40, -30]
    assert all(e.user_id == ALICE and e.guild_id == GUILD for e in history)
    everything = await points.history(GUILD, ALICE, limit=50)
    assert [e.amount for e in everything] == [-50, -40, -30, -20, -10, 1000]
    assert [e.created_ms for e in everything] == sorted(
        (e.created_ms for e in everything), reverse=True
    )

    summary = await points.balance(GUILD, ALICE, history=2)
    assert summary.balance == 1000 - 150
    assert [e.idempotency_key for e in summary.recent] == ["h5", "h4"]
    assert await points.history(OTHER_GUILD, ALICE) == []

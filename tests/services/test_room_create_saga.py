"""Making a room is paid for first, then its channels and card are made through the
``RoomChannels`` port; a failure at any step, or a process that died part way, is undone in
reverse: channels owed deleted, the payment returned once, the room closed and never listed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain.errors import InsufficientPoints, MissingPermission, RoomNotCreated
from bot.domain.rooms import RoomStatus, RoomView
from bot.services.cleanups import channel_deletes
from bot.services.ports import PostedCard
from bot.services.rooms import CREATE_ABANDONED_MS, RoomDraft
from storage.models import LedgerEntry, Room
from tests.support.world import ALICE, GUILD, World, reopen

TEXT, VOICE, CARD = 8001, 8002, 8003
STEPS = ("text", "voice", "card")


class Crash(BaseException):
    """The process dying mid-create: not an ``Exception``, so nothing handles it."""


class FakeChannels:
    """Discord's side of a create: each step made in turn; ``fail_at`` fails one."""

    def __init__(self, fail_at: str | None = None, error: BaseException | None = None) -> None:
        self.fail_at = fail_at
        self.error = error or RuntimeError("503 Service Unavailable")
        self.made: list[str] = []

    def _step(self, step: str) -> None:
        if step == self.fail_at:
            raise self.error
        self.made.append(step)

    async def create_text(self, title: str) -> int:
        self._step("text")
        return TEXT

    async def create_voice(self, title: str) -> int:
        self._step("voice")
        return VOICE

    async def post_card(self, text_channel_id: int, room: RoomView) -> PostedCard:
        assert room.room.status is RoomStatus.CREATING and room.room.text_channel_id == TEXT
        self._step("card")
        return PostedCard(CARD, 42)

    async def grant_access(self, channel_ids: Sequence[int], user_id: int) -> None:
        raise AssertionError("a create grants nothing")


def draft(world: World) -> RoomDraft:
    return world.app.rooms.validate_create("Morning grind", 50, 10, 4)


async def balance(world: World) -> int:
    return (await world.app.points.balance(GUILD, ALICE)).balance


async def entries(world: World) -> list[tuple[int, str]]:
    async with world.app.uow() as uow:
        rows = await uow.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))
        return [(r.amount, r.reason) for r in rows]


async def rooms(world: World) -> list[Room]:
    async with world.app.uow() as uow:
        return list(await uow.session.scalars(select(Room)))


async def test_a_room_opens_once_its_channels_and_card_exist(world: World) -> None:
    made = await world.app.rooms.create_with_channels(GUILD, ALICE, draft(world), FakeChannels())

    room = made.room
    assert room.status is RoomStatus.OPEN
    assert (room.text_channel_id, room.voice_channel_id, room.card_message_id) == (
        TEXT,
        VOICE,
        CARD,
    )
    assert [m.user_id for m in made.members] == [ALICE]
    assert await balance(world) == 900
    assert await world.app.store.get_members(room.key) != {}
    assert await world.app.posted.card_digest(room.key) == 42
    assert [v.room.id for v in await world.app.rooms.list_open(GUILD)] == [room.id]


@pytest.mark.parametrize("step", STEPS)
async def test_a_failure_at_any_step_is_undone_in_reverse(world: World, step: str) -> None:
    channels = FakeChannels(fail_at=step)

    with pytest.raises(RoomNotCreated) as caught:
        await world.app.rooms.create_with_channels(GUILD, ALICE, draft(world), channels)

    assert caught.value.refusal.code == "error.room.create_failed"
    made = {"text": [], "voice": [TEXT], "card": [TEXT, VOICE]}[step]
    # no Discord side is attached in service tests: what was made stays owed deleted
    assert caught.value.channels_pending == bool(made)
    assert await world.app.cleanups.still_owed(channel_deletes(made)) == bool(made)
    assert await world.app.rooms.list_open(GUILD) == []
    assert await balance(world) == 1000  # paid, then returned
    assert [reason for _, reason in await entries(world)][-2:] == ["room_create", "adjust"]
    # undoing again (a second attempt, a restart) returns nothing twice
    [row] = await rooms(world)
    assert row.status == RoomStatus.CLOSED
    assert await world.app.rooms.undo_create(row.id) is False
    assert await balance(world) == 1000


async def test_a_refusal_from_discord_is_passed_on_after_the_undo(world: World) -> None:
    channels = FakeChannels(fail_at="text", error=MissingPermission("manage_channels"))

    with pytest.raises(RoomNotCreated) as caught:
        await world.app.rooms.create_with_channels(GUILD, ALICE, draft(world), channels)

    assert isinstance(caught.value.refusal, MissingPermission)
    assert caught.value.refusal.permission == "manage_channels"
    assert await balance(world) == 1000


async def test_too_few_points_makes_nothing(world: World) -> None:
    await world.app.points.ensure_member(GUILD, ALICE)
    channels = FakeChannels()
    spend = world.app.settings.signup_bonus - 50
    from bot.domain.points import Reason

    await world.app.points.spend(GUILD, ALICE, spend, Reason.ROOM_JOIN, "test", "test:spend")

    with pytest.raises(InsufficientPoints):
        await world.app.rooms.create_with_channels(GUILD, ALICE, draft(world), channels)

    assert channels.made == [] and await rooms(world) == []


async def test_a_cancelled_create_is_undone_too(world: World) -> None:
    """A task cancelled mid-create (shutdown, a lost interaction) undoes before it goes."""
    channels = FakeChannels(fail_at="card", error=Crash())

    with pytest.raises(Crash):
        await world.app.rooms.create_with_channels(GUILD, ALICE, draft(world), channels)

    [row] = await rooms(world)
    assert row.status == RoomStatus.CLOSED
    assert await balance(world) == 1000


async def test_a_create_a_killed_process_left_is_undone_at_the_next_start(
    sqlite_world: World, tmp_path: Path
) -> None:
    """Killed after its text channel was made: the row says so, and the next start, once
    the create is old enough not to be another process's, undoes it."""
    world = sqlite_world
    async with world.app.uow() as uow:
        half = await uow.rooms.add(
            guild_id=GUILD, owner_id=ALICE, title="t", capacity=2, study_ms=1, break_ms=1,
            terms=1, status=RoomStatus.CREATING, created_ms=world.now_ms(),
            text_channel_id=TEXT,
        )  # fmt: skip
        await uow.commit()
        half_made = half.id
    after = await reopen(world, tmp_path)
    try:
        assert await after.app.rooms.undo_abandoned_creates() == []  # too young
        after.clock.shift(timedelta(milliseconds=CREATE_ABANDONED_MS + 1))
        assert await after.app.rooms.undo_abandoned_creates() == [half_made]
        async with after.app.uow() as uow:
            stored = await uow.rooms.get(half_made)
            assert stored is not None and stored.status == RoomStatus.CLOSED
        assert await after.app.cleanups.still_owed(channel_deletes([TEXT]))
        assert await after.app.rooms.undo_abandoned_creates() == []
    finally:
        await after.app.close()

"""The owed Discord cleanups repository, against SQLite and PostgreSQL."""

from __future__ import annotations

from storage.models import CleanupKind, DiscordCleanup
from storage.uow import UnitOfWorkFactory

G = 1_234_567_890_123_456_789
TEXT = 1_300_000_000_000_000_001
VOICE = 1_300_000_000_000_000_002
ALICE = 111_111_111_111_111_111
BOB = 222_222_222_222_222_222
T0 = 1_767_225_600_000
MIN = 60_000

DELETE = CleanupKind.DELETE_CHANNEL
REVOKE = CleanupKind.REVOKE_ACCESS


def shape(row: DiscordCleanup) -> tuple[object, ...]:
    return (row.kind, row.channel_id, row.user_id, row.attempts, row.next_try_ms)


async def test_owing_twice_keeps_one_row_due_at_once(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.cleanups.owe(guild_id=G, kind=DELETE, channel_id=TEXT, now_ms=T0)
        await uow.cleanups.owe(guild_id=G, kind=REVOKE, channel_id=TEXT, user_id=BOB, now_ms=T0)
        await uow.commit()
    async with uow_factory() as uow:  # owed again later, in another transaction
        await uow.cleanups.owe(guild_id=G, kind=DELETE, channel_id=TEXT, now_ms=T0 + MIN)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.cleanups.count() == 2
        row = await uow.cleanups.find(DELETE, TEXT)
        assert row is not None
        assert (row.guild_id, row.created_ms) == (G, T0)
        assert shape(row) == ("delete_channel", TEXT, 0, 0, T0)
        revoke = await uow.cleanups.find(REVOKE, TEXT, BOB)
        assert revoke is not None and shape(revoke) == ("revoke_access", TEXT, BOB, 0, T0)
        assert await uow.cleanups.find(REVOKE, TEXT, ALICE) is None


async def test_due_and_upcoming_come_soonest_first(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for channel, at in ((TEXT, T0 + 2 * MIN), (VOICE, T0)):
            await uow.cleanups.owe(guild_id=G, kind=DELETE, channel_id=channel, now_ms=at)
        await uow.commit()
    async with uow_factory() as uow:
        assert [r.channel_id for r in await uow.cleanups.due(T0 - 1)] == []
        assert [r.channel_id for r in await uow.cleanups.due(T0)] == [VOICE]
        assert [r.channel_id for r in await uow.cleanups.due(T0 + 2 * MIN)] == [VOICE, TEXT]
        assert [r.channel_id for r in await uow.cleanups.due(T0 + 2 * MIN, limit=1)] == [VOICE]
        assert [r.channel_id for r in await uow.cleanups.upcoming()] == [VOICE, TEXT]
        assert [r.channel_id for r in await uow.cleanups.of_channels(DELETE, [TEXT, 7])] == [TEXT]
        assert list(await uow.cleanups.of_channels(DELETE, [])) == []


async def test_a_failure_is_counted_and_done_work_is_forgotten(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.cleanups.owe(guild_id=G, kind=DELETE, channel_id=TEXT, now_ms=T0)
        await uow.commit()
        row = await uow.cleanups.find(DELETE, TEXT)
        assert row is not None
        cleanup_id = row.id
    async with uow_factory() as uow:
        locked = await uow.cleanups.lock(cleanup_id)
        assert locked is not None
        locked.attempts += 1
        locked.next_try_ms = T0 + 5_000
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.cleanups.find(DELETE, TEXT)
        assert again is not None and shape(again) == ("delete_channel", TEXT, 0, 1, T0 + 5_000)
        await uow.cleanups.done(cleanup_id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.cleanups.count() == 0
        assert await uow.cleanups.lock(cleanup_id) is None
        await uow.cleanups.done(cleanup_id)  # done twice is harmless


async def test_is_room_member_sees_only_active_members_of_open_rooms(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        room = await uow.rooms.add(
            guild_id=G,
            owner_id=ALICE,
            title="Morning focus",
            capacity=4,
            study_ms=50 * MIN,
            break_ms=10 * MIN,
            terms=4,
            created_ms=T0,
            text_channel_id=TEXT,
            voice_channel_id=VOICE,
        )
        await uow.rooms.add_member(room_id=room.id, user_id=ALICE, joined_ms=T0, membership_no=1)
        await uow.rooms.add_member(room_id=room.id, user_id=BOB, joined_ms=T0, membership_no=1)
        await uow.commit()
        room_id = room.id
    async with uow_factory() as uow:
        assert await uow.cleanups.is_room_member(TEXT, BOB)
        assert await uow.cleanups.is_room_member(VOICE, BOB)
        assert not await uow.cleanups.is_room_member(7, BOB)
        bob = await uow.rooms.active_membership(room_id, BOB)
        assert bob is not None
        await uow.rooms.leave(bob, T0 + MIN)
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.cleanups.is_room_member(TEXT, BOB)
        assert await uow.cleanups.is_room_member(TEXT, ALICE)
        found = await uow.rooms.get(room_id)
        assert found is not None
        await uow.rooms.close(found, T0 + 2 * MIN)
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.cleanups.is_room_member(TEXT, ALICE)

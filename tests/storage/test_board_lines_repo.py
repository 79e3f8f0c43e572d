"""The owed board lines repository, against SQLite and PostgreSQL."""

from __future__ import annotations

from storage.uow import UnitOfWorkFactory

G = 1_234_567_890_123_456_789
ROOM, OTHER = 7, 8
ALICE = 111_111_111_111_111_111
BOB = 222_222_222_222_222_222
MESSAGE = 1_400_000_000_000_000_001
T0 = 1_767_225_600_000
MIN = 60_000
JOINED = "rooms.board.joined"


async def owe(uow_factory: UnitOfWorkFactory, room: int, user: int, at: int, **kw: str) -> int:
    async with uow_factory() as uow:
        line_id = await uow.board.owe(
            guild_id=G,
            room_id=room,
            user_id=user,
            key=JOINED,
            params=kw,
            now_ms=at,
            first_try_ms=at + MIN,
        )
        await uow.commit()
    return line_id


async def test_a_line_keeps_its_words_and_is_due_from_its_first_retry(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first = await owe(uow_factory, ROOM, BOB, T0, name="bob ✨ **x**")
    second = await owe(uow_factory, OTHER, ALICE, T0 + MIN)
    async with uow_factory() as uow:
        row = await uow.board.get(first)
        assert row is not None
        assert (row.guild_id, row.room_id, row.user_id, row.key) == (G, ROOM, BOB, JOINED)
        assert row.params == {"name": "bob ✨ **x**"} and row.created_ms == T0
        assert (row.attempts, row.next_try_ms, row.message_id) == (0, T0 + MIN, None)
        assert [r.id for r in await uow.board.due(T0 + MIN - 1)] == []
        assert [r.id for r in await uow.board.due(T0 + MIN)] == [first]
        assert [r.id for r in await uow.board.due(None)] == [first, second]  # at start-up
        assert [r.id for r in await uow.board.upcoming()] == [first, second]
        assert await uow.board.owed_count() == 2


async def test_a_posted_line_is_owed_no_more_and_its_message_stays_taken(
    uow_factory: UnitOfWorkFactory,
) -> None:
    line = await owe(uow_factory, ROOM, BOB, T0)
    async with uow_factory() as uow:
        row = await uow.board.lock(line)
        assert row is not None
        row.message_id = MESSAGE
        await uow.commit()
    async with uow_factory() as uow:
        assert list(await uow.board.due(None)) == [] and await uow.board.owed_count() == 0
        assert await uow.board.posted_messages(ROOM) == {MESSAGE}
        assert await uow.board.posted_messages(OTHER) == set()
        await uow.board.forget_posted(T0)  # not older than that: kept
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.board.posted_messages(ROOM) == {MESSAGE}
        await uow.board.forget_posted(T0 + 1)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.board.get(line) is None


async def test_an_undone_join_or_a_closed_room_drops_only_what_is_owed_there(
    uow_factory: UnitOfWorkFactory,
) -> None:
    bobs = await owe(uow_factory, ROOM, BOB, T0)
    alices = await owe(uow_factory, ROOM, ALICE, T0)
    elsewhere = await owe(uow_factory, OTHER, BOB, T0)
    async with uow_factory() as uow:
        await uow.board.drop_owed(ROOM, BOB, JOINED)
        await uow.commit()
    async with uow_factory() as uow:
        assert [r.id for r in await uow.board.due(None)] == [alices, elsewhere]
        await uow.board.drop_owed(ROOM)
        await uow.commit()
    async with uow_factory() as uow:
        assert [r.id for r in await uow.board.due(None)] == [elsewhere]
    assert bobs != alices

"""Owed Discord cleanups through the services, on SQLite + embedded store and PostgreSQL +
Redis: recorded with what made them owed, done at once, and on failure tried again after
5 s, 10 s, 20 s … at most 10 minutes apart, until done; also after a restart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.domain.rooms import RoomInfo
from bot.services.cleanups import (
    FIRST_RETRY_MS,
    MAX_ATTEMPTS,
    MAX_RETRY_MS,
    CleanupService,
    Owed,
    access_removals,
    channel_deletes,
    retry_delay_ms,
)
from storage.models import CleanupKind, DiscordCleanup
from tests.support.world import ALICE, BOB, CAROL, GUILD, World, reopen

TEXT, VOICE = 7001, 7002


class DiscordDown(RuntimeError):
    pass


class FakeDiscord:
    """The Discord side: records each call and when, failing the first ``failures`` (of the
    channel ``only``, when given)."""

    def __init__(self, failures: int = 0, only: int | None = None) -> None:
        self.failures = failures
        self.only = only
        self.calls: list[tuple[str, int, int, int]] = []  # (what, channel, user, at_ms)
        self.during_removal: Callable[[], Awaitable[object]] | None = None

    async def delete_channel(self, channel_id: int) -> None:
        self._call("delete", channel_id, 0)

    async def remove_member_access(self, channel_id: int, user_id: int) -> None:
        self._call("revoke", channel_id, user_id)
        if self.during_removal is not None:
            hook, self.during_removal = self.during_removal, None
            await hook()

    async def restore_member_access(self, channel_id: int, user_id: int) -> None:
        self._call("restore", channel_id, user_id)

    def _call(self, what: str, channel_id: int, user_id: int) -> None:
        self.calls.append((what, channel_id, user_id, SystemClock().now_ms()))
        if self.failures and self.only in (None, channel_id):
            self.failures -= 1
            raise DiscordDown("503 Service Unavailable")


async def rows(world: World) -> list[DiscordCleanup]:
    async with world.app.uow() as uow:
        return list(await uow.cleanups.upcoming())


async def room_with_channels(world: World, *members: int) -> RoomInfo:
    app = world.app
    room = await app.rooms.create(GUILD, ALICE, "Morning grind", 50, 10, 4)
    room = await app.rooms.attach_channels(room.id, TEXT, VOICE, 1)
    for user in members:
        await app.rooms.join(room.id, user)
    return room


def attach(world: World, discord: FakeDiscord) -> CleanupService:
    cleanups = world.app.cleanups
    cleanups.attach(discord)
    return cleanups


def test_the_wait_doubles_from_five_seconds_up_to_ten_minutes() -> None:
    assert [retry_delay_ms(n) // 1000 for n in range(1, 11)] == [
        5, 10, 20, 40, 80, 160, 320, 600, 600, 600,
    ]  # fmt: skip
    assert retry_delay_ms(0) == 0
    assert retry_delay_ms(10_000) == MAX_RETRY_MS
    assert FIRST_RETRY_MS == 5_000


async def test_closing_owes_the_channels_and_deletes_them_at_once(world: World) -> None:
    discord = FakeDiscord()
    attach(world, discord)
    room = await room_with_channels(world)
    await world.app.rooms.close(room.id, ALICE)
    assert [c[:3] for c in discord.calls] == [("delete", TEXT, 0), ("delete", VOICE, 0)]
    assert await rows(world) == []
    assert [e.key.room_id for e in world.seen.closed] == [room.id]


async def test_the_channels_are_deleted_even_when_live_state_cannot_be_dropped(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    discord = FakeDiscord()
    attach(world, discord)
    room = await room_with_channels(world, BOB)

    async def store_down(*_: object) -> None:
        raise ConnectionError("live store unreachable")

    monkeypatch.setattr(world.app.store, "drop_room", store_down)
    with pytest.raises(ConnectionError):
        await world.app.rooms.close(room.id, ALICE)
    assert [c[:3] for c in discord.calls] == [("delete", TEXT, 0), ("delete", VOICE, 0)]
    assert await rows(world) == []


async def test_access_is_removed_even_when_live_state_cannot_be_updated(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    discord = FakeDiscord()
    attach(world, discord)
    room = await room_with_channels(world, BOB)

    async def store_down(*_: object) -> None:
        raise ConnectionError("live store unreachable")

    monkeypatch.setattr(world.app.store, "remove_member", store_down)
    with pytest.raises(ConnectionError):
        await world.app.rooms.leave(room.id, BOB)
    assert sorted(c[:3] for c in discord.calls) == [("revoke", TEXT, BOB), ("revoke", VOICE, BOB)]
    assert await rows(world) == []


async def test_a_failed_delete_is_retried_backing_off_until_done(world: World) -> None:
    discord = FakeDiscord(failures=9, only=TEXT)
    cleanups = attach(world, discord)
    room = await room_with_channels(world)
    closed_at = world.now_ms()
    await world.app.rooms.close(room.id, ALICE)  # the text channel fails; the voice goes

    [row] = await rows(world)
    assert (row.kind, row.channel_id, row.user_id, row.guild_id) == (
        "delete_channel",
        TEXT,
        0,
        GUILD,
    )
    assert (row.attempts, row.next_try_ms, row.created_ms) == (1, closed_at + 5_000, closed_at)
    assert await cleanups.still_owed(channel_deletes([TEXT, VOICE]))
    assert not await cleanups.still_owed(channel_deletes([VOICE]))

    expected_at = closed_at
    for attempts in range(1, 9):  # tries 2..9 fail, each after a longer wait
        expected_at += retry_delay_ms(attempts)
        [row] = await rows(world)
        assert (row.attempts, row.next_try_ms) == (attempts, expected_at)
        before = len(discord.calls)
        await world.advance_to(expected_at - 1)
        assert len(discord.calls) == before  # not before it is due
        await world.advance_to(expected_at)
        assert discord.calls[-1] == ("delete", TEXT, 0, expected_at)
    [row] = await rows(world)
    assert row.attempts == 9
    assert row.next_try_ms - expected_at == MAX_RETRY_MS  # the wait stops growing

    await world.advance_to(row.next_try_ms)  # the 10th try succeeds
    assert await rows(world) == []
    assert not await cleanups.still_owed(channel_deletes([TEXT, VOICE]))
    texts = [c for c in discord.calls if c[1] == TEXT]
    assert len(texts) == 10
    await world.advance(3_600_000)
    assert len([c for c in discord.calls if c[1] == TEXT]) == 10  # done once, then forgotten


async def test_leaving_owes_the_removal_of_access_to_both_channels(world: World) -> None:
    discord = FakeDiscord(failures=2)  # both removals fail at first
    cleanups = attach(world, discord)
    room = await room_with_channels(world, BOB)
    await world.app.rooms.leave(room.id, BOB)

    owed = await rows(world)
    assert [(r.kind, r.channel_id, r.user_id, r.attempts) for r in owed] == [
        ("revoke_access", TEXT, BOB, 1),
        ("revoke_access", VOICE, BOB, 1),
    ]
    assert await cleanups.still_owed(access_removals([TEXT, VOICE], BOB))
    await world.advance(FIRST_RETRY_MS)
    assert await rows(world) == []
    assert [c[:3] for c in discord.calls] == [
        ("revoke", TEXT, BOB),
        ("revoke", VOICE, BOB),
    ] * 2


async def test_the_last_member_leaving_owes_the_channels_not_their_access(world: World) -> None:
    discord = FakeDiscord(failures=1, only=TEXT)
    attach(world, discord)
    room = await room_with_channels(world)
    outcome = await world.app.rooms.leave(room.id, ALICE)
    assert outcome.closed
    assert [(r.kind, r.channel_id) for r in await rows(world)] == [("delete_channel", TEXT)]
    await world.advance(FIRST_RETRY_MS)
    assert await rows(world) == []


async def test_a_member_back_in_the_room_keeps_access_owed_removed_before(world: World) -> None:
    discord = FakeDiscord(failures=2)
    attach(world, discord)
    room = await room_with_channels(world, BOB)
    await world.app.rooms.leave(room.id, BOB)
    await world.app.rooms.join(room.id, BOB)
    calls = len(discord.calls)

    await world.advance(FIRST_RETRY_MS)

    assert await rows(world) == []  # owed no more
    assert len(discord.calls) == calls  # and nothing was removed


async def test_a_member_who_rejoins_while_their_removal_is_on_its_way_keeps_access(
    world: World,
) -> None:
    discord = FakeDiscord()
    attach(world, discord)
    room = await room_with_channels(world, BOB, CAROL)

    # Bob is back (and granted access by his join) before Discord carries out the removal
    discord.during_removal = lambda: world.app.rooms.join(room.id, BOB)
    await world.app.rooms.leave(room.id, BOB)

    # the removal already sent is undone; the one not yet sent was cancelled by the join
    assert [c[:3] for c in discord.calls] == [("revoke", TEXT, BOB), ("restore", TEXT, BOB)]
    assert await rows(world) == []


async def test_work_owed_without_a_discord_side_waits_for_one(world: World) -> None:
    room = await room_with_channels(world)
    await world.app.rooms.close(room.id, ALICE)
    assert [(r.channel_id, r.attempts) for r in await rows(world)] == [(TEXT, 0), (VOICE, 0)]
    assert await world.app.cleanups.run_due() == 0

    discord = FakeDiscord()
    attach(world, discord).resume()  # what start-up does
    await world.settle()
    assert await rows(world) == []
    assert sorted(c[1] for c in discord.calls) == [TEXT, VOICE]


async def test_guilds_another_process_serves_are_left_to_it(world: World) -> None:
    room = await room_with_channels(world)
    await world.app.rooms.close(room.id, ALICE)
    discord = FakeDiscord()
    world.app.cleanups.attach(discord, owns=lambda guild_id: guild_id != GUILD)
    assert await world.app.cleanups.run_due() == 0
    assert discord.calls == [] and len(await rows(world)) == 2


async def test_owing_in_a_transaction_of_its_own(world: World) -> None:
    """What a failed ``/room create`` does with the channels it made."""
    discord = FakeDiscord(failures=1, only=TEXT)
    cleanups = attach(world, discord)
    work = channel_deletes([TEXT, None, VOICE])
    assert work == [Owed(CleanupKind.DELETE_CHANNEL, TEXT), Owed(CleanupKind.DELETE_CHANNEL, VOICE)]
    await cleanups.owe(GUILD, work)
    await cleanups.owe(GUILD, work)  # owing again changes nothing
    assert not await cleanups.perform(work)
    assert [(r.channel_id, r.attempts) for r in await rows(world)] == [(TEXT, 1)]
    await world.advance(FIRST_RETRY_MS)
    assert await rows(world) == []


async def test_what_was_owed_is_done_after_a_restart(sqlite_world: World, tmp_path: Path) -> None:
    attach(sqlite_world, FakeDiscord(failures=1, only=TEXT))
    room = await room_with_channels(sqlite_world)
    await sqlite_world.app.rooms.close(room.id, ALICE)
    [row] = await rows(sqlite_world)
    assert row.attempts == 1

    after = await reopen(sqlite_world, tmp_path)  # the retry's job died with the process
    try:
        discord = FakeDiscord()
        after.app.cleanups.attach(discord)
        after.app.scheduler.start()
        after.app.cleanups.resume()
        await after.settle()
        assert discord.calls == []  # not due yet: the wait survives the restart
        await after.advance_to(row.next_try_ms)
        assert [c[:2] for c in discord.calls] == [("delete", TEXT)]
        assert await rows(after) == []
    finally:
        await after.app.close()


async def test_a_delete_discord_keeps_refusing_is_given_up_once_reported(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    discord = FakeDiscord(failures=10 * MAX_ATTEMPTS, only=TEXT)
    attach(world, discord)
    room = await room_with_channels(world)
    await world.app.rooms.close(room.id, ALICE)
    while await rows(world):
        [row] = await rows(world)
        await world.advance_to(row.next_try_ms)
    tries = [c for c in discord.calls if c[1] == TEXT]
    assert len(tries) == MAX_ATTEMPTS
    given_up = [r for r in caplog.records if "giving up" in r.getMessage()]
    assert len(given_up) == 1 and given_up[0].levelname == "ERROR"
    await world.advance_to(world.now_ms() + 3 * MAX_RETRY_MS)
    assert len([c for c in discord.calls if c[1] == TEXT]) == MAX_ATTEMPTS  # and no more

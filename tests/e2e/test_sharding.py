"""A host that outgrows one process runs several, each owning a range of shards."""

from __future__ import annotations

from pathlib import Path

import pytest
from discord.ext import commands

from bot.config import Config
from bot.domain.rooms import RoomStatus
from bot.domain.timer import Pattern, Timer
from bot.services.rooms import CREATE_ABANDONED_MS
from storage.session.base import RoomKey, Run
from tests.support.studio import Studio, make_config, response_of


@pytest.fixture
def studyon_config(tmp_path: Path) -> Config:
    return make_config(tmp_path, discord={"shard_count": 2, "shard_ids": [1]})


async def test_a_sharded_process_serves_its_shards_guilds(studio: Studio) -> None:
    bot = studio.bot
    assert isinstance(bot, commands.AutoShardedBot)
    assert bot.shard_count == 2
    guild = studio.env.create_guild(shard_id=1)
    general = guild.create_text_channel("general")
    alice = guild.add_member(studio.env.create_user("alice"))
    result = await alice.slash(general, "points")
    assert "**1000**" in (response_of(result).embeds[0].description or "")

    # a guild on shard 0 belongs to another process: its rooms are not rescheduled here
    assert bot.owns_guild(guild.id)
    elsewhere = studio.env.create_guild(shard_id=0)
    assert not bot.owns_guild(elsewhere.id)
    await bot.services.store.put_run(
        RoomKey(elsewhere.id, 1), await _a_run(bot, RoomKey(guild.id, 2))
    )
    assert await bot.services.timers.restore(owns=lambda k: bot.owns_guild(k.guild_id)) == 1


async def _a_run(bot: commands.AutoShardedBot, mine: RoomKey) -> Run:
    """Store a running timer for a room of this process's guild too; return a copy."""
    state = Run(1, Timer(Pattern.from_minutes(50, 10, 4), 1_767_225_600_000))
    await bot.services.store.put_run(mine, state)  # type: ignore[attr-defined]
    return state


async def test_a_process_undoes_the_half_made_rooms_of_its_own_guilds_only(
    studio: Studio,
) -> None:
    """A room left being made in a guild of another process's shards is that process's to
    undo: it may be making it right now."""
    mine = studio.env.create_guild(shard_id=1)
    elsewhere = studio.env.create_guild(shard_id=0)
    services = studio.bot.services
    made = {}
    async with services.uow() as uow:
        for guild in (mine, elsewhere):
            room = await uow.rooms.add(
                guild_id=guild.id, owner_id=1, title="t", capacity=2, study_ms=1, break_ms=1,
                terms=1, status=RoomStatus.CREATING, created_ms=studio.now_ms(),
            )  # fmt: skip
            made[guild.id] = room.id
        await uow.commit()
    await studio.restart()
    await studio.advance(CREATE_ABANDONED_MS / 1000 + 60)
    statuses = {}
    async with studio.bot.services.uow() as uow:
        for guild_id, room_id in made.items():
            row = await uow.rooms.get(room_id)
            assert row is not None
            statuses[guild_id] = RoomStatus(row.status)
    assert statuses == {mine.id: RoomStatus.CLOSED, elsewhere.id: RoomStatus.CREATING}

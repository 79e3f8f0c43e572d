"""Servers' settings and their audit, on SQLite and PostgreSQL: a change and its audit row
are one transaction."""

from __future__ import annotations

import pytest

from bot.clock import SystemClock
from bot.domain.errors import ValidationError
from bot.services.guild_settings import GuildSettingsService
from bot.services.settings import ServiceSettings
from storage.uow import UnitOfWorkFactory

GUILD, OTHER, MOD = 10, 20, 7


async def test_put_replaces_and_audits_each_change(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.guild_settings.put(GUILD, "points.room_join_cost", "80", MOD, 1) is None
        assert await uow.guild_settings.put(GUILD, "points.room_join_cost", "90", MOD, 2) == "80"
        await uow.guild_settings.put(OTHER, "rooms.focus", "true", MOD, 3)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.guild_settings.of_guild(GUILD) == {"points.room_join_cost": "90"}
        assert await uow.guild_settings.every_guild() == {
            GUILD: {"points.room_join_cost": "90"},
            OTHER: {"rooms.focus": "true"},
        }
        rows = await uow.guild_settings.history(GUILD)
        assert [(r.key, r.old_value, r.new_value, r.user_id, r.at_ms) for r in rows] == [
            ("points.room_join_cost", "80", "90", MOD, 2),
            ("points.room_join_cost", None, "80", MOD, 1),
        ]


async def test_remove_deletes_and_audits_a_reset(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.guild_settings.put(GUILD, "rooms.max_capacity", "6", MOD, 1)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.guild_settings.remove(GUILD, "rooms.max_capacity", MOD, 2) == "6"
        assert await uow.guild_settings.remove(GUILD, "rooms.max_capacity", MOD, 3) is None
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.guild_settings.of_guild(GUILD) == {}
        rows = await uow.guild_settings.history(GUILD)
        assert [(r.old_value, r.new_value) for r in rows] == [("6", None), (None, "6")]


async def test_a_change_rolled_back_leaves_no_audit(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.guild_settings.put(GUILD, "rooms.focus", "true", MOD, 1)
        # left without commit
    async with uow_factory() as uow:
        assert await uow.guild_settings.of_guild(GUILD) == {}
        assert list(await uow.guild_settings.history(GUILD)) == []


async def test_service_overlays_the_file_and_follows_changes(
    uow_factory: UnitOfWorkFactory,
) -> None:
    defaults = ServiceSettings(room_join_cost=50, alarm_grace_seconds=60)
    service = GuildSettingsService(uow_factory, SystemClock(), defaults)
    assert await service.load() == 0
    change = await service.set(GUILD, "timer.alarm_grace_seconds", "30", MOD)
    assert (change.old, change.new, change.changed) == (60, 30, True)
    follows = defaults.following(service.current)
    assert follows.for_guild(GUILD).alarm_grace_seconds == 30
    assert follows.for_guild(OTHER).alarm_grace_seconds == 60
    same = await service.set(GUILD, "timer.alarm_grace_seconds", "30", MOD)
    assert not same.changed
    with pytest.raises(ValidationError):
        await service.set(GUILD, "timer.alarm_grace_seconds", "3", MOD)
    # another process starting now reads what was stored
    fresh = GuildSettingsService(uow_factory, SystemClock(), defaults)
    assert await fresh.load() == 1
    assert not fresh.current(GUILD).is_default("timer.alarm_grace_seconds")
    reset = await service.reset(GUILD, "timer.alarm_grace_seconds", MOD)
    assert (reset.old, reset.new, reset.changed) == (30, 60, True)
    assert follows.for_guild(GUILD).alarm_grace_seconds == 60
    assert [(e.old_value, e.new_value) for e in await service.history(GUILD)] == [
        ("30", None),
        (None, "30"),
    ]

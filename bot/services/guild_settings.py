"""A server's own settings (``/config show|set|reset``): what is in effect, changing it, and
the record of changes.

Every server's stored values are held in memory (loaded at start, a few rows a server), so
the use cases read a server's settings on their hot paths without a query
(``current``, and ``ServiceSettings.for_guild``). A change is written with its audit row in one
transaction, then the server's entry is read again from the database: the process that made
the change sees it at once. A server is served by one process (its shard), which is the one
its ``/config`` commands reach; another process sees the change after its next start (or
``refresh``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from bot.clock import Clock
from bot.domain import guild_settings as rules
from bot.domain.guild_settings import GuildSettings, Value
from bot.services.base import SqlService
from bot.services.settings import ServiceSettings
from storage.uow import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class SettingChange:
    """A change of one key: the values in effect before and after (``changed`` False when it
    was a no-op: nothing was written)."""

    key: str
    old: Value
    new: Value
    was_default: bool
    is_default: bool
    changed: bool


@dataclass(frozen=True, slots=True)
class AuditEntry:
    key: str
    old_value: str | None  # None: the default was in effect
    new_value: str | None  # None: reset to the default
    user_id: int
    at_ms: int


class GuildSettingsService(SqlService):
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, settings: ServiceSettings
    ) -> None:
        super().__init__(uow_factory, clock, settings)
        self._defaults = settings.defaults()
        self._cache: dict[int, GuildSettings] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    @property
    def defaults(self) -> GuildSettings:
        """The configuration file's values: a server's settings when it set nothing."""
        return self._defaults

    async def load(self) -> int:
        """Hold every server's stored settings in memory; how many servers set any."""
        async with self._uow() as uow:
            stored = await uow.guild_settings.every_guild()
        base = self.defaults
        cache = self._cache
        cache.clear()
        for guild_id, values in stored.items():
            cache[guild_id] = base.overlay(values)
        return len(stored)

    def current(self, guild_id: int) -> GuildSettings:
        """The settings in effect in the server, from memory."""
        return self._cache.get(guild_id) or self.defaults

    async def effective(self, guild_id: int) -> GuildSettings:
        return self.current(guild_id)

    async def refresh(self, guild_id: int) -> GuildSettings:
        """Read the server's settings from the database again."""
        async with self._uow() as uow:
            return self._remember(guild_id, await uow.guild_settings.of_guild(guild_id))

    def _remember(self, guild_id: int, stored: dict[str, str]) -> GuildSettings:
        cache = self._cache
        settings = self.defaults.overlay(stored)
        if stored:
            cache[guild_id] = settings
        else:
            cache.pop(guild_id, None)
        return settings

    def _lock(self, guild_id: int) -> asyncio.Lock:
        return self._locks.setdefault(guild_id, asyncio.Lock())

    async def set(self, guild_id: int, key: str, raw_value: str, user_id: int) -> SettingChange:
        """Set ``key`` to what the member typed (refused, changing nothing, when it is not
        within the key's bounds)."""
        spec = rules.spec_of(key)
        value = rules.parse(spec, raw_value)
        async with self._lock(guild_id):
            before = await self.refresh(guild_id)
            if not before.is_default(spec.key) and before.value(spec.key) == value:
                return SettingChange(spec.key, value, value, False, False, False)
            async with self._uow() as uow:
                await uow.guild_settings.put(
                    guild_id, spec.key, rules.encode(value), user_id, self._clock.now_ms()
                )
                await uow.commit()
            after = await self.refresh(guild_id)
        return SettingChange(
            spec.key,
            before.value(spec.key),
            after.value(spec.key),
            before.is_default(spec.key),
            after.is_default(spec.key),
            True,
        )

    async def reset(self, guild_id: int, key: str, user_id: int) -> SettingChange:
        """Back to the configuration file's value (a key already at its default is left
        alone, and nothing is written)."""
        spec = rules.spec_of(key)
        async with self._lock(guild_id):
            before = await self.refresh(guild_id)
            async with self._uow() as uow:
                removed = await self._remove(uow, guild_id, spec.key, user_id)
            after = await self.refresh(guild_id) if removed else before
        return SettingChange(
            spec.key,
            before.value(spec.key),
            after.value(spec.key),
            before.is_default(spec.key),
            True,
            removed,
        )

    async def _remove(self, uow: UnitOfWork, guild_id: int, key: str, user_id: int) -> bool:
        old = await uow.guild_settings.remove(guild_id, key, user_id, self._clock.now_ms())
        if old is None:
            return False
        await uow.commit()
        return True

    async def history(self, guild_id: int, limit: int = 20) -> Sequence[AuditEntry]:
        """The server's latest changes, newest first."""
        async with self._uow() as uow:
            rows = await uow.guild_settings.history(guild_id, limit)
            return [AuditEntry(r.key, r.old_value, r.new_value, r.user_id, r.at_ms) for r in rows]

"""A server's own settings (``/config``) and the audit of their changes. A change and its
audit row are written in the same transaction (the unit of work's)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from storage.models import GuildSetting, GuildSettingAudit
from storage.repos.base import Repository


class GuildSettingsRepository(Repository):
    async def of_guild(self, guild_id: int) -> dict[str, str]:
        """The keys this server set and their stored text."""
        stmt = select(GuildSetting.key, GuildSetting.value).where(GuildSetting.guild_id == guild_id)
        return {key: value for key, value in (await self.session.execute(stmt)).all()}

    async def every_guild(self) -> dict[int, dict[str, str]]:
        """Every server's stored settings (a few rows a server), to hold in memory."""
        stmt = select(GuildSetting.guild_id, GuildSetting.key, GuildSetting.value)
        found: dict[int, dict[str, str]] = {}
        for guild_id, key, value in (await self.session.execute(stmt)).all():
            found.setdefault(guild_id, {})[key] = value
        return found

    async def _locked(self, guild_id: int, key: str) -> GuildSetting | None:
        stmt = (
            select(GuildSetting)
            .where(GuildSetting.guild_id == guild_id, GuildSetting.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def put(
        self, guild_id: int, key: str, value: str, user_id: int, now_ms: int
    ) -> str | None:
        """Store the server's value for ``key`` and audit the change; the value it replaces
        (None: the default was in effect)."""
        row = await self._locked(guild_id, key)
        old = row.value if row is not None else None
        stmt = self.insert(GuildSetting).values(
            guild_id=guild_id, key=key, value=value, updated_ms=now_ms, updated_by=user_id
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["guild_id", "key"],
            set_={"value": value, "updated_ms": now_ms, "updated_by": user_id},
        )
        await self.session.execute(stmt)
        self._audit(guild_id, key, old, value, user_id, now_ms)
        await self.session.flush()
        return old

    async def remove(self, guild_id: int, key: str, user_id: int, now_ms: int) -> str | None:
        """Back to the default: the row deleted and the reset audited. The value removed;
        None (and nothing written) when the server had not set it."""
        row = await self._locked(guild_id, key)
        if row is None:
            return None
        old = row.value
        await self.session.execute(
            delete(GuildSetting).where(GuildSetting.guild_id == guild_id, GuildSetting.key == key)
        )
        self._audit(guild_id, key, old, None, user_id, now_ms)
        await self.session.flush()
        return old

    def _audit(
        self,
        guild_id: int,
        key: str,
        old: str | None,
        new: str | None,
        user_id: int,
        now_ms: int,
    ) -> None:
        self.session.add(
            GuildSettingAudit(
                guild_id=guild_id,
                key=key,
                old_value=old,
                new_value=new,
                user_id=user_id,
                at_ms=now_ms,
            )
        )

    async def history(self, guild_id: int, limit: int = 20) -> Sequence[GuildSettingAudit]:
        """The server's latest changes, newest first."""
        stmt = (
            select(GuildSettingAudit)
            .where(GuildSettingAudit.guild_id == guild_id)
            .order_by(GuildSettingAudit.id.desc())
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

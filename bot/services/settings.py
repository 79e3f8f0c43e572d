"""The part of the configuration the use cases need, decoupled from the config file format.

``ServiceSettings`` holds the configuration file's values; a server may override some of
them (``/config``, ``GuildSettingsService``). Use cases that know the guild read
``settings.for_guild(guild_id)``: the file's values with that server's over them (held in
memory, so this costs nothing on hot paths)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bot.domain.guild_settings import GuildSettings


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    signup_bonus: int = 1000
    room_create_cost: int = 100
    room_join_cost: int = 50
    alarm_grace_seconds: int = 60
    extend_vote_seconds: int = 300
    max_capacity: int = 25
    default_timezone: str = "UTC"
    category_name: str = "Study Rooms"
    default_locale: str = "en"
    # a server's settings in effect (None: no server overrides anything); set by the wiring
    guilds: Callable[[int], GuildSettings] | None = field(default=None, compare=False, repr=False)

    @property
    def grace_ms(self) -> int:
        return self.alarm_grace_seconds * 1000

    @property
    def vote_ms(self) -> int:
        return self.extend_vote_seconds * 1000

    def defaults(self) -> GuildSettings:
        """These values as a server's settings when it set nothing."""
        return GuildSettings(
            signup_bonus=self.signup_bonus,
            room_create_cost=self.room_create_cost,
            room_join_cost=self.room_join_cost,
            alarm_grace_seconds=self.alarm_grace_seconds,
            extend_vote_seconds=self.extend_vote_seconds,
            category_name=self.category_name,
            max_capacity=self.max_capacity,
            default_locale=self.default_locale,
            default_timezone=self.default_timezone,
        )

    def following(self, guilds: Callable[[int], GuildSettings]) -> ServiceSettings:
        """The same defaults, with each server's own settings looked up by ``guilds``."""
        return replace(self, guilds=guilds)

    def for_guild(self, guild_id: int) -> ServiceSettings:
        """The settings in effect in one server."""
        if self.guilds is None:
            return self
        g = self.guilds(guild_id)
        return replace(
            self,
            signup_bonus=g.signup_bonus,
            room_create_cost=g.room_create_cost,
            room_join_cost=g.room_join_cost,
            alarm_grace_seconds=g.alarm_grace_seconds,
            extend_vote_seconds=g.extend_vote_seconds,
            max_capacity=g.max_capacity,
            default_timezone=g.default_timezone,
            category_name=g.category_name,
            default_locale=g.default_locale,
        )

    @classmethod
    def from_config(cls, config: Any) -> ServiceSettings:
        """From a ``bot.config.Config`` (typed loosely so services never import the loader)."""
        return cls(
            signup_bonus=config.points.signup_bonus,
            room_create_cost=config.points.room_create_cost,
            room_join_cost=config.points.room_join_cost,
            alarm_grace_seconds=config.timer.alarm_grace_seconds,
            extend_vote_seconds=config.timer.extend_vote_seconds,
            max_capacity=config.rooms.max_capacity,
            default_timezone=config.i18n.default_timezone,
            category_name=config.rooms.category_name,
            default_locale=config.i18n.default_locale,
        )

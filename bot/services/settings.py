"""The part of the configuration the use cases need, decoupled from the config file format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    signup_bonus: int = 1000
    room_create_cost: int = 100
    room_join_cost: int = 50
    alarm_grace_seconds: int = 60
    extend_vote_seconds: int = 300
    max_capacity: int = 25
    default_timezone: str = "UTC"

    @property
    def grace_ms(self) -> int:
        return self.alarm_grace_seconds * 1000

    @property
    def vote_ms(self) -> int:
        return self.extend_vote_seconds * 1000

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
        )

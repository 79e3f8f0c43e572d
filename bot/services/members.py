"""A member's own settings in a guild: the time zone their days follow, their language and
their weekly study-time goal.

The time zone decides what "today" is for todos, ratings and the calendar; the language is
what every personal reply to the member is written in. Both are stored on the member
(created on first use, with the welcome bonus, like any other first use of the bot).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.domain.errors import ValidationError
from bot.domain.goals import goal_minutes
from bot.domain.members import validate_locale
from bot.domain.rooms import clean_text
from bot.services.base import SqlService
from bot.services.points import ensure_member
from storage.uow import UnitOfWork

ZONE_CHOICES_MAX = 25  # Discord shows at most 25 autocomplete choices
ZONE_NAME_MAX = 64  # the column's width; no IANA name comes close
_NOT_ZONES = frozenset({"localtime", "Factory"})


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name known here, sorted (the host's ``localtime`` left out)."""
    return tuple(sorted(available_timezones() - _NOT_ZONES))


@cache
def _by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in zone_names()}


def canonical_zone(text: str) -> str:
    """The IANA name ``text`` stands for, case-insensitively ("asia/seoul" → "Asia/Seoul");
    unknown names are refused."""
    raw = clean_text(text)
    if not raw:
        raise ValidationError("timezone", "empty")
    name = _by_folded_name().get(raw.casefold().replace(" ", "_"))
    if name is None:
        raise ValidationError("timezone", "unknown_zone", value=raw[:ZONE_NAME_MAX])
    return name


def zone_or_default(name: str | None, default: str) -> ZoneInfo:
    """The zone named (the default when unset or no longer known; UTC as a last resort)."""
    for candidate in (name, default):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


async def member_zone(uow: UnitOfWork, guild_id: int, user_id: int, default: str) -> ZoneInfo:
    """The zone the member's days follow: their own setting, else the configured default."""
    member = await uow.members.get(guild_id, user_id)
    return zone_or_default(member.timezone if member else None, default)


def search_zones(query: str, limit: int = ZONE_CHOICES_MAX) -> list[str]:
    """Zone names for autocomplete: names starting with what was typed first, then names
    with a part starting with it ("seoul" finds "Asia/Seoul"), then names containing it."""
    typed = clean_text(query).casefold().replace(" ", "_")
    if not typed:
        preferred = ["UTC", "Asia/Seoul", "Europe/London", "America/New_York"]
        rest = [n for n in zone_names() if n not in preferred]
        return (preferred + rest)[:limit]
    starts: list[str] = []
    parts: list[str] = []
    contains: list[str] = []
    for name in zone_names():
        folded = name.casefold()
        if folded.startswith(typed):
            starts.append(name)
        elif any(p.startswith(typed) for p in folded.split("/")):
            parts.append(name)
        elif typed in folded:
            contains.append(name)
    return (starts + parts + contains)[:limit]


@dataclass(frozen=True, slots=True)
class MemberSettings:
    timezone: str  # the zone in effect
    timezone_is_default: bool  # the member has not chosen one
    locale: str | None  # None: their Discord client's language


class MemberService(SqlService):
    async def get(self, guild_id: int, user_id: int) -> MemberSettings:
        async with self._uow() as uow:
            member = await uow.members.get(guild_id, user_id)
            own = member.timezone if member else None
            zone = zone_or_default(own, self._settings.for_guild(guild_id).default_timezone)
            return MemberSettings(
                timezone=zone.key,
                timezone_is_default=own is None,
                locale=member.locale if member else None,
            )

    async def set_timezone(self, guild_id: int, user_id: int, zone: str) -> str:
        """Store the member's zone; returns its canonical IANA name."""
        name = canonical_zone(zone)
        now = self._clock.now_ms()
        async with self._uow() as uow:
            await ensure_member(
                uow, guild_id, user_id, now, self._settings.for_guild(guild_id).signup_bonus
            )
            await uow.members.set_timezone(guild_id, user_id, name, now)
            await uow.commit()
        return name

    async def set_locale(self, guild_id: int, user_id: int, locale: str) -> str:
        """Store the member's language ("en" or "ko")."""
        value = validate_locale(locale)
        now = self._clock.now_ms()
        async with self._uow() as uow:
            await ensure_member(
                uow, guild_id, user_id, now, self._settings.for_guild(guild_id).signup_bonus
            )
            await uow.members.set_locale(guild_id, user_id, value, now)
            await uow.commit()
        return value

    async def set_weekly_goal(self, guild_id: int, user_id: int, hours: float) -> int | None:
        """Store the member's weekly study-time goal (0 hours clears it); returns it in
        minutes, None when cleared. A value that is no goal is refused and changes nothing."""
        minutes = goal_minutes(hours)
        now = self._clock.now_ms()
        async with self._uow() as uow:
            await ensure_member(uow, guild_id, user_id, now, self._settings.signup_bonus)
            await uow.members.set_weekly_goal(guild_id, user_id, minutes, now)
            await uow.commit()
        return minutes

    async def today(self, guild_id: int, user_id: int) -> tuple[ZoneInfo, int]:
        """The member's zone and the current instant (for "it is now 18:00 there")."""
        async with self._uow() as uow:
            zone = await member_zone(
                uow, guild_id, user_id, self._settings.for_guild(guild_id).default_timezone
            )
        return zone, self._clock.now_ms()

"""A server's own settings (``/config``): the keys, their kinds and bounds, and the values in
effect.

Every key is a TOML key of ``config.example.toml`` (the same name, the same bounds: the config
loader reads its bounds from ``SPECS`` too), plus ``rooms.focus``, the default of the focus
option of a new room. The TOML value is the default; a server that set a key overrides it. Values
are stored as text (``encode``) and read back with ``decode``, which never fails on a row that
no longer fits (a bound narrowed since it was stored): such a value is ignored, the default
applies.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Final

from bot.domain.errors import ValidationError
from bot.domain.members import LOCALES
from bot.domain.rooms import clean_text

POINTS_MAX: Final = 1_000_000
CATEGORY_NAME_MAX: Final = 100


class Kind(StrEnum):
    INT = "int"
    TEXT = "text"
    BOOL = "bool"
    LOCALE = "locale"
    ZONE = "zone"


@dataclass(frozen=True, slots=True)
class Spec:
    """One key: ``lo``/``hi`` bound an integer's value, or a text's length."""

    key: str
    kind: Kind
    lo: int = 0
    hi: int = 0

    @property
    def attr(self) -> str:
        """The ``GuildSettings`` field this key sets."""
        return self.key.split(".", 1)[1]


SPECS: Final[tuple[Spec, ...]] = (
    Spec("points.signup_bonus", Kind.INT, 0, POINTS_MAX),
    Spec("points.room_create_cost", Kind.INT, 0, POINTS_MAX),
    Spec("points.room_join_cost", Kind.INT, 0, POINTS_MAX),
    Spec("timer.alarm_grace_seconds", Kind.INT, 5, 3600),
    Spec("timer.extend_vote_seconds", Kind.INT, 10, 86400),
    Spec("rooms.category_name", Kind.TEXT, 1, CATEGORY_NAME_MAX),
    Spec("rooms.max_capacity", Kind.INT, 2, 25),
    Spec("rooms.focus", Kind.BOOL),
    Spec("i18n.default_locale", Kind.LOCALE),
    Spec("i18n.default_timezone", Kind.ZONE),
)
BY_KEY: Final[Mapping[str, Spec]] = {s.key: s for s in SPECS}
KEYS: Final = tuple(BY_KEY)

Value = int | str | bool

_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0"})


def spec_of(key: str) -> Spec:
    spec = BY_KEY.get(key.strip().lower())
    if spec is None:
        raise ValidationError("key", "unknown_setting", value=key[:60])
    return spec


def bounds(key: str) -> tuple[int, int]:
    """The bounds of an integer key (or a text key's length), for the config loader too."""
    spec = BY_KEY[key]
    return spec.lo, spec.hi


def valid_zone(name: str) -> bool:
    if not name or name != name.strip():
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def parse(spec: Spec, raw: str) -> Value:
    """What a member typed for ``spec``, checked against its bounds (``ValidationError``
    names the key and the allowed range)."""
    field = f"config.{spec.key}"
    text = clean_text(raw)
    if spec.kind is Kind.INT:
        try:
            number = int(text.replace(",", "").replace("_", ""))
        except ValueError:
            raise ValidationError(
                field, "setting_range", min=spec.lo, max=spec.hi, value=text[:30]
            ) from None
        if not spec.lo <= number <= spec.hi:
            raise ValidationError(field, "setting_range", min=spec.lo, max=spec.hi, value=text[:30])
        return number
    if spec.kind is Kind.TEXT:
        if not spec.lo <= len(text) <= spec.hi:
            raise ValidationError(field, "setting_length", min=spec.lo, max=spec.hi)
        return text
    if spec.kind is Kind.BOOL:
        folded = text.casefold()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
        raise ValidationError(field, "setting_bool")
    if spec.kind is Kind.LOCALE:
        code = text.lower()
        if code not in LOCALES:
            raise ValidationError(field, "unsupported_locale", value=text[:16])
        return code
    by_folded = {n.casefold(): n for n in zoneinfo.available_timezones()}
    zone = by_folded.get(text.casefold().replace(" ", "_"))
    if zone is None or not valid_zone(zone):
        raise ValidationError(field, "unknown_zone", value=text[:64])
    return zone


def encode(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def decode(spec: Spec, stored: str) -> Value | None:
    """A stored value read back; None when it no longer fits the key (the default applies)."""
    if spec.kind is Kind.BOOL:
        return {"true": True, "false": False}.get(stored)
    if spec.kind is Kind.TEXT:
        return stored if spec.lo <= len(stored) <= spec.hi else None
    try:
        return parse(spec, stored)
    except ValidationError:
        return None


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """The settings in effect in one server; ``overridden`` names the keys it set."""

    signup_bonus: int = 1000
    room_create_cost: int = 100
    room_join_cost: int = 50
    alarm_grace_seconds: int = 60
    extend_vote_seconds: int = 300
    category_name: str = "Study Rooms"
    max_capacity: int = 25
    focus: bool = False
    default_locale: str = "en"
    default_timezone: str = "UTC"
    overridden: frozenset[str] = frozenset()

    def value(self, key: str) -> Value:
        result: Value = getattr(self, BY_KEY[key].attr)
        return result

    def is_default(self, key: str) -> bool:
        return key not in self.overridden

    def overlay(self, stored: Mapping[str, str]) -> GuildSettings:
        """These values (the defaults) with a server's stored ones over them."""
        changes: dict[str, Value] = {}
        for key, text in stored.items():
            spec = BY_KEY.get(key)
            value = decode(spec, text) if spec is not None else None
            if spec is not None and value is not None:
                changes[spec.attr] = value
        keys = frozenset(k for k in stored if k in BY_KEY and BY_KEY[k].attr in changes)
        return replace(self, overridden=keys, **changes)  # type: ignore[arg-type]


# every key names a field, and every field (but ``overridden``) has a key
assert {s.attr for s in SPECS} == {f.name for f in fields(GuildSettings)} - {"overridden"}

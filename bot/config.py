"""StudyOn configuration: one TOML file (see ``config.example.toml``) plus the environment.

``load_config(path)`` parses and validates the file into an immutable tree of frozen
dataclasses. Every key is optional and has a default; anything unknown, of the wrong type or
out of range raises :class:`ConfigError`, whose message is one line naming the dotted key and
the problem, e.g. ``points.room_join_cost: must be an integer ≥ 0, got -5``.

The Discord token may come from the environment (``STUDYON_DISCORD_TOKEN``, which wins over the
file), and so may the shards a process runs (``STUDYON_SHARD_IDS``, e.g. ``0,1`` or ``0-3``,
which wins over ``discord.shard_ids``: the processes of one bot can share one file). The token
is held in a :class:`Secret`, whose ``repr``/``str`` never show it, so a logged or printed
config cannot leak it; ``Secret.reveal()`` is the only way to read it.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bot.domain.guild_settings import bounds, valid_zone
from bot.domain.members import LOCALES
from storage.redis_client import CLUSTER_SCHEMES, SINGLE_SCHEMES, parse_redis_url
from storage.urls import redact_url

__all__ = [
    "DATABASE_URL_PREFIXES",
    "DISCORD_GLOBAL_RATE",
    "LOCALES",
    "REDIS_URL_PREFIXES",
    "SHARD_IDS_ENV",
    "TOKEN_ENV",
    "Config",
    "ConfigError",
    "DatabaseConfig",
    "DiscordConfig",
    "I18nConfig",
    "PointsConfig",
    "RoomsConfig",
    "Secret",
    "SessionConfig",
    "TimerConfig",
    "load_config",
    "parse_config",
    "redact_url",
]

TOKEN_ENV: Final = "STUDYON_DISCORD_TOKEN"
SHARD_IDS_ENV: Final = "STUDYON_SHARD_IDS"
DATABASE_URL_PREFIXES: Final = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
# one server, or a Redis Cluster: redis+cluster://host:port[,host:port...] (storage.redis_client)
REDIS_URL_PREFIXES: Final = (*SINGLE_SCHEMES, *CLUSTER_SCHEMES)

_SHARD_COUNT_MAX: Final = 10_000
# Discord's global limit: 50 REST requests a second for one bot token, every process together
DISCORD_GLOBAL_RATE: Final = 50


class ConfigError(ValueError):
    """Bad configuration. ``str(error)`` is one line: ``<dotted key>: <problem>``."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = " ".join(problem.split())
        super().__init__(f"{key}: {self.problem}" if key else self.problem)


class Secret:
    """A string that is never shown: ``repr``/``str`` give ``Secret('***')``.

    An empty secret shows as ``Secret('<unset>')`` and is falsy. ``reveal()`` returns the value.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def is_set(self) -> bool:
        return bool(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('<unset>')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return format(repr(self), format_spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self._value == other._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))


@dataclass(frozen=True, slots=True)
class DiscordConfig:
    token: Secret = field(default_factory=Secret)
    shard_ids: tuple[int, ...] | None = None
    shard_count: int | None = None
    # the pace of REST requests, all processes of the bot together (headroom under 50/s)
    requests_per_second: int = 45


@dataclass(frozen=True, slots=True, repr=False)
class DatabaseConfig:
    url: str = "sqlite+aiosqlite:///studyon.db"

    def __repr__(self) -> str:
        return f"DatabaseConfig(url={redact_url(self.url)!r})"


@dataclass(frozen=True, slots=True, repr=False)
class SessionConfig:
    redis_url: str = ""
    embedded_path: str = "studyon-session.db"

    @property
    def uses_redis(self) -> bool:
        return bool(self.redis_url)

    def __repr__(self) -> str:
        return (
            f"SessionConfig(redis_url={redact_url(self.redis_url)!r}, "
            f"embedded_path={self.embedded_path!r})"
        )


@dataclass(frozen=True, slots=True)
class PointsConfig:
    signup_bonus: int = 1000
    room_create_cost: int = 100
    room_join_cost: int = 50


@dataclass(frozen=True, slots=True)
class TimerConfig:
    alarm_grace_seconds: int = 60
    extend_vote_seconds: int = 300


@dataclass(frozen=True, slots=True)
class RoomsConfig:
    category_name: str = "Study Rooms"
    max_capacity: int = 25


@dataclass(frozen=True, slots=True)
class I18nConfig:
    default_locale: str = "en"
    default_timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Config:
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    points: PointsConfig = field(default_factory=PointsConfig)
    timer: TimerConfig = field(default_factory=TimerConfig)
    rooms: RoomsConfig = field(default_factory=RoomsConfig)
    i18n: I18nConfig = field(default_factory=I18nConfig)

    def describe(self) -> str:
        """A one-line summary for the start-up log. Never contains the token or a password."""
        d = self.discord
        if d.shard_count is None:
            shards = "auto"
        elif d.shard_ids is None:
            shards = f"all of {d.shard_count}"
        else:
            shards = f"{','.join(map(str, d.shard_ids))} of {d.shard_count}"
        session = (
            f"redis {redact_url(self.session.redis_url)}"
            if self.session.uses_redis
            else f"embedded {self.session.embedded_path}"
        )
        p, t, r, i = self.points, self.timer, self.rooms, self.i18n
        return (
            f"token={'set' if d.token else 'unset'} shards={shards} pace={d.requests_per_second}/s"
            f" database={redact_url(self.database.url)} session={session}"
            f" points=signup {p.signup_bonus}/create {p.room_create_cost}/join {p.room_join_cost}"
            f" timer=grace {t.alarm_grace_seconds}s/extend vote {t.extend_vote_seconds}s"
            f" rooms={r.category_name!r} max {r.max_capacity}"
            f" i18n={i.default_locale} {i.default_timezone}"
        )


# --------------------------------------------------------------------------------------------
# Parsing


_SECTIONS: Final[dict[str, tuple[str, ...]]] = {
    "discord": ("token", "shard_ids", "shard_count", "requests_per_second"),
    "database": ("url",),
    "session": ("redis_url", "embedded_path"),
    "points": ("signup_bonus", "room_create_cost", "room_join_cost"),
    "timer": ("alarm_grace_seconds", "extend_vote_seconds"),
    "rooms": ("category_name", "max_capacity"),
    "i18n": ("default_locale", "default_timezone"),
}


def _show(value: object) -> str:
    """A short, single-line rendering of a TOML value for an error message."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value!r} (a float)"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return repr(text)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"  # dates and times


def _kind(value: object) -> str:
    """What ``value`` is, without showing it (for secrets)."""
    if isinstance(value, bool):
        return "a boolean"
    return {
        int: "an integer",
        float: "a float",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), f"a {type(value).__name__}")


def _suggest(word: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"(known: {', '.join(known)}){hint}"


class _Section:
    def __init__(self, name: str, data: Mapping[str, Any]) -> None:
        self.name = name
        self.data = data
        known = _SECTIONS[name]
        for key in data:
            if key not in known:
                raise ConfigError(f"{name}.{key}", f"unknown key {_suggest(key, known)}")

    def key(self, key: str) -> str:
        return f"{self.name}.{key}"

    def bounds(self, key: str) -> tuple[int, int]:
        """The bounds of a key a server may also set (one table: ``guild_settings.SPECS``)."""
        return bounds(self.key(key))

    def get_int(self, key: str, default: int, lo: int, hi: int) -> int:
        if key not in self.data:
            return default
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(
                self.key(key), f"must be an integer from {lo} to {hi}, got {_show(value)}"
            )
        if value < lo:
            raise ConfigError(self.key(key), f"must be an integer ≥ {lo}, got {value}")
        if value > hi:
            raise ConfigError(self.key(key), f"must be an integer ≤ {hi}, got {value}")
        return value

    def opt_int(self, key: str, lo: int, hi: int) -> int | None:
        return self.get_int(key, lo, lo, hi) if key in self.data else None

    def get_str(self, key: str, default: str, *, secret: bool = False) -> str:
        if key not in self.data:
            return default
        value = self.data[key]
        if not isinstance(value, str):
            shown = _kind(value) if secret else _show(value)
            raise ConfigError(self.key(key), f"must be a string, got {shown}")
        return value


def _section(raw: Mapping[str, Any], name: str) -> _Section:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(name, f"must be a table ([{name}]), got {_show(value)}")
    return _Section(name, value)


def _check_token(token: str, where: str) -> Secret:
    token = token.strip()
    if any(ch.isspace() for ch in token):
        raise ConfigError(
            where, "must be the bare token, without spaces (do not prefix it with 'Bot ')"
        )
    return Secret(token)


def _check_shard_ids(raw: list[Any], shard_count: int | None, key: str) -> tuple[int, ...]:
    if not raw:
        raise ConfigError(key, "must list at least one shard (or be left out)")
    if shard_count is None:
        raise ConfigError(key, "requires discord.shard_count to be set too")
    seen: set[int] = set()
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, int):
            raise ConfigError(key, f"must contain only integers, got {_show(item)}")
        if item < 0:
            raise ConfigError(key, f"shard numbers must be ≥ 0, got {item}")
        if item >= shard_count:
            raise ConfigError(
                key, f"shard {item} is out of range: must be < shard_count {shard_count}"
            )
        if item in seen:
            raise ConfigError(key, f"shard {item} is listed twice")
        seen.add(item)
    return tuple(raw)


def _shard_list(text: str) -> list[Any]:
    """``STUDYON_SHARD_IDS``: shard numbers and inclusive ranges, comma-separated
    (``0,1``, ``0-3``, ``0-3,8``); a part that is neither is kept as text, to be refused."""
    shards: list[Any] = []
    for part in (p.strip() for p in text.split(",")):
        matched = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part, re.ASCII)
        if matched is None:
            shards.append(part)
        elif matched[2] is None:
            shards.append(int(part))
        else:
            first, last = int(matched[1]), int(matched[2])
            if last < first:
                raise ConfigError(SHARD_IDS_ENV, f"the range {part!r} ends before it starts")
            if last - first >= _SHARD_COUNT_MAX:
                raise ConfigError(SHARD_IDS_ENV, f"the range {part!r} is too long")
            shards.extend(range(first, last + 1))
    return shards


def _parse_discord(s: _Section, env: Mapping[str, str]) -> DiscordConfig:
    token = _check_token(s.get_str("token", "", secret=True), s.key("token"))
    env_token = env.get(TOKEN_ENV, "").strip()
    if env_token:
        token = _check_token(env_token, TOKEN_ENV)

    shard_count = s.opt_int("shard_count", 1, _SHARD_COUNT_MAX)
    shard_ids: tuple[int, ...] | None = None
    if "shard_ids" in s.data:
        key = s.key("shard_ids")
        raw = s.data["shard_ids"]
        if not isinstance(raw, list):
            raise ConfigError(key, f"must be a list of shard numbers, got {_show(raw)}")
        shard_ids = _check_shard_ids(raw, shard_count, key)
    env_shards = env.get(SHARD_IDS_ENV, "").strip()
    if env_shards:
        shard_ids = _check_shard_ids(_shard_list(env_shards), shard_count, SHARD_IDS_ENV)
    rate = s.get_int(
        "requests_per_second", DiscordConfig().requests_per_second, 1, DISCORD_GLOBAL_RATE
    )
    return DiscordConfig(
        token=token, shard_ids=shard_ids, shard_count=shard_count, requests_per_second=rate
    )


def _scheme_of(url: str) -> str:
    """Only the scheme of a URL: the rest may hold a password."""
    scheme, sep, _ = url.partition("://")
    if sep:
        return repr(f"{scheme}://...")
    if "@" in url or ":" in url:
        return "a value that is not a URL"
    return _show(url)


def _parse_database(s: _Section) -> DatabaseConfig:
    url = s.get_str("url", DatabaseConfig().url)
    if not url.startswith(DATABASE_URL_PREFIXES):
        raise ConfigError(
            s.key("url"),
            f"must start with {' or '.join(map(repr, DATABASE_URL_PREFIXES))},"
            f" got {_scheme_of(url)}",
        )
    return DatabaseConfig(url=url)


def _parse_session(s: _Section) -> SessionConfig:
    redis_url = s.get_str("redis_url", "")
    if redis_url and not redis_url.startswith(REDIS_URL_PREFIXES):
        raise ConfigError(
            s.key("redis_url"),
            f"must be empty (embedded store) or start with"
            f" {', '.join(map(repr, REDIS_URL_PREFIXES))}, got {_scheme_of(redis_url)}",
        )
    try:
        parse_redis_url(redis_url)
    except ValueError as exc:  # its message never holds the password
        raise ConfigError(
            s.key("redis_url"),
            f"{exc}; write redis+cluster://host:port[,host:port...]",
        ) from None
    embedded_path = s.get_str("embedded_path", SessionConfig().embedded_path)
    if not embedded_path.strip() or "\x00" in embedded_path:
        raise ConfigError(s.key("embedded_path"), "must be a non-empty file path")
    return SessionConfig(redis_url=redis_url, embedded_path=embedded_path)


def _parse_points(s: _Section) -> PointsConfig:
    d = PointsConfig()
    return PointsConfig(
        signup_bonus=s.get_int("signup_bonus", d.signup_bonus, *s.bounds("signup_bonus")),
        room_create_cost=s.get_int(
            "room_create_cost", d.room_create_cost, *s.bounds("room_create_cost")
        ),
        room_join_cost=s.get_int("room_join_cost", d.room_join_cost, *s.bounds("room_join_cost")),
    )


def _parse_timer(s: _Section) -> TimerConfig:
    d = TimerConfig()
    return TimerConfig(
        alarm_grace_seconds=s.get_int(
            "alarm_grace_seconds", d.alarm_grace_seconds, *s.bounds("alarm_grace_seconds")
        ),
        extend_vote_seconds=s.get_int(
            "extend_vote_seconds", d.extend_vote_seconds, *s.bounds("extend_vote_seconds")
        ),
    )


def _parse_rooms(s: _Section) -> RoomsConfig:
    d = RoomsConfig()
    name = s.get_str("category_name", d.category_name)
    lo, hi = s.bounds("category_name")
    if not name.strip() or not lo <= len(name) <= hi:
        raise ConfigError(
            s.key("category_name"),
            f"must be {lo} to {hi} characters and not blank, got {_show(name)}"
            f" ({len(name)} characters)",
        )
    return RoomsConfig(
        category_name=name,
        max_capacity=s.get_int("max_capacity", d.max_capacity, *s.bounds("max_capacity")),
    )


def _parse_i18n(s: _Section) -> I18nConfig:
    d = I18nConfig()
    locale = s.get_str("default_locale", d.default_locale)
    if locale not in LOCALES:
        raise ConfigError(
            s.key("default_locale"),
            f"must be one of {', '.join(map(repr, LOCALES))}, got {_show(locale)}",
        )
    zone = s.get_str("default_timezone", d.default_timezone)
    if not valid_zone(zone):
        raise ConfigError(
            s.key("default_timezone"),
            f"must be an IANA time zone name such as 'UTC' or 'Asia/Seoul', got {_show(zone)}",
        )
    return I18nConfig(default_locale=locale, default_timezone=zone)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(path), "no such file") from None
    except IsADirectoryError:
        raise ConfigError(str(path), "is a directory, not a file") from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(str(path), f"is not valid UTF-8 (at line {line})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"invalid TOML: {exc}") from None


def parse_config(raw: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Validate an already-parsed TOML document (a mapping) into a :class:`Config`."""
    if env is None:
        env = os.environ
    known = tuple(_SECTIONS)
    for name in raw:
        if name not in known:
            raise ConfigError(name, f"unknown section {_suggest(name, known)}")
    return Config(
        discord=_parse_discord(_section(raw, "discord"), env),
        database=_parse_database(_section(raw, "database")),
        session=_parse_session(_section(raw, "session")),
        points=_parse_points(_section(raw, "points")),
        timer=_parse_timer(_section(raw, "timer")),
        rooms=_parse_rooms(_section(raw, "rooms")),
        i18n=_parse_i18n(_section(raw, "i18n")),
    )


def load_config(path: str | Path | None, env: Mapping[str, str] | None = None) -> Config:
    """Load and validate the configuration.

    ``path`` None means "no file": every value takes its default (the token may still come
    from the environment). A given path that does not exist is an error. ``env`` defaults to
    ``os.environ``; ``STUDYON_DISCORD_TOKEN`` there wins over ``discord.token``.
    """
    raw: dict[str, Any] = {} if path is None else _read_toml(Path(path))
    return parse_config(raw, env)

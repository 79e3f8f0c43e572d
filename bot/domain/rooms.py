"""Room rules: what a title, notice, tag list and capacity may be, and who owns a room.

User text is never trusted. Every check here first removes whitespace and zero-width
characters from both ends (they render as nothing, so a title of only U+200B would otherwise
pass as non-empty), then measures the length in code points. Inside the text they are kept:
a zero-width joiner holds an emoji sequence together ("👩\u200d💻") and a zero-width
non-joiner is part of the spelling of Persian words ("می\u200cخوانم"). The cleaned value is
what callers store.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import RoomFull, ValidationError
from bot.domain.run import RoomKey
from bot.domain.timer import Mode, Pattern

TITLE_MAX = 50
NOTICE_MAX = 500
TAGS_MAX = 5
TAG_MAX = 20
CAPACITY_MIN = 2
CAPACITY_MAX = 25


class RoomStatus(StrEnum):
    """Where a room is in its life. ``CREATING``: paid for, its channels and card still being
    made (not listed, not joinable; undone if the making fails or the process dies)."""

    CREATING = "creating"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """A room as the services hand it out: plain values, detached from any session."""

    id: int
    guild_id: int
    owner_id: int
    title: str
    notice: str
    tags: tuple[str, ...]
    capacity: int
    study_ms: int
    break_ms: int
    terms: int
    status: RoomStatus
    text_channel_id: int | None
    voice_channel_id: int | None
    card_message_id: int | None
    created_ms: int
    closed_ms: int | None = None
    long_break_ms: int | None = None  # a long break after every ``long_every``-th period
    long_every: int | None = None
    starts_at_ms: int | None = None  # a scheduled start of the next run, when there is one
    focus: bool = False  # nobody speaks in the voice channel during study phases
    mode: Mode = Mode.POMODORO
    break_share: int | None = None  # flowtime: the break is this fraction of the study

    @property
    def key(self) -> RoomKey:
        return RoomKey(self.guild_id, self.id)

    @property
    def pattern(self) -> Pattern:
        return Pattern(
            self.study_ms,
            self.break_ms,
            self.terms,
            self.long_break_ms,
            self.long_every,
            self.mode,
            self.break_share,
        )

    @property
    def is_open(self) -> bool:
        return self.status is RoomStatus.OPEN

    @property
    def channel_ids(self) -> tuple[int | None, int | None]:
        return (self.text_channel_id, self.voice_channel_id)


@dataclass(frozen=True, slots=True)
class Stay:
    """A member's current stay in a room: who, since when, and which of their stays it is."""

    user_id: int
    joined_ms: int
    membership_no: int


@dataclass(frozen=True, slots=True)
class RoomView:
    """A room with the members in it now."""

    room: RoomInfo
    members: tuple[Stay, ...]

    @property
    def key(self) -> RoomKey:
        return self.room.key

    def has_member(self, user_id: int) -> bool:
        return any(m.user_id == user_id for m in self.members)


ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_WHITESPACE_RUN = re.compile(r"\s+")
# tags are separated by commas, or by whitespace in front of a "#": "#math #exam, reading"
_TAG_SEPARATOR = re.compile(r",|\s+(?=#)")


def _blank(char: str) -> bool:
    return char.isspace() or char in ZERO_WIDTH


def clean_text(text: str) -> str:
    """``text`` without whitespace and zero-width characters at either end; those inside
    are kept. Empty when ``text`` holds nothing else."""
    start, end = 0, len(text)
    while start < end and _blank(text[start]):
        start += 1
    while end > start and _blank(text[end - 1]):
        end -= 1
    return text[start:end]


def has_control_chars(text: str, *, allowed: str = "") -> bool:
    """Whether ``text`` holds a control character (Unicode category Cc) not in ``allowed``."""
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def validate_title(text: str) -> str:
    """The cleaned room title: 1–50 characters, one line, no control characters."""
    title = clean_text(text)
    if not title:
        raise ValidationError("title", "empty")
    if has_control_chars(title):
        raise ValidationError("title", "control_chars")
    if len(title) > TITLE_MAX:
        raise ValidationError("title", "too_long", max=TITLE_MAX, length=len(title))
    return title


def validate_notice(text: str | None) -> str:
    """The cleaned notice: at most 500 characters, possibly empty. Line breaks are kept
    (``\\r\\n`` and ``\\r`` become ``\\n``); tabs and other control characters are refused."""
    if text is None:
        return ""
    notice = clean_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    if has_control_chars(notice, allowed="\n"):
        raise ValidationError("notice", "control_chars")
    if len(notice) > NOTICE_MAX:
        raise ValidationError("notice", "too_long", max=NOTICE_MAX, length=len(notice))
    return notice


def normalize_tag(text: str) -> str:
    """One tag as stored and searched: cleaned, leading ``#`` dropped, lowercased, inner
    whitespace runs collapsed to one space. May be empty; length is not checked here."""
    tag = clean_text(clean_text(text).lstrip("#"))
    return _WHITESPACE_RUN.sub(" ", tag).lower()


def validate_tag(text: str) -> str:
    """One tag (e.g. a ``/room list`` filter): normalised, 1–20 characters."""
    tag = normalize_tag(text)
    if not tag:
        raise ValidationError("tag", "empty")
    if has_control_chars(tag):
        raise ValidationError("tag", "control_chars")
    if len(tag) > TAG_MAX:
        raise ValidationError("tag", "too_long", max=TAG_MAX, length=len(tag), tag=tag)
    return tag


def validate_tags(tags: str | Iterable[str] | None) -> tuple[str, ...]:
    """A room's tags: a comma-separated string (``"#math, exam prep"``, ``"#math #exam"``) or
    a sequence of tags. Empty entries are ignored; the rest are normalised, deduplicated in
    order, each 1–20 characters, at most 5 of them."""
    if tags is None:
        return ()
    pieces = _TAG_SEPARATOR.split(tags) if isinstance(tags, str) else list(tags)
    out: list[str] = []
    for piece in pieces:
        tag = normalize_tag(piece)
        if not tag:
            continue
        if has_control_chars(tag):
            raise ValidationError("tags", "control_chars")
        if len(tag) > TAG_MAX:
            raise ValidationError("tags", "tag_too_long", max=TAG_MAX, length=len(tag), tag=tag)
        if tag not in out:
            out.append(tag)
    if len(out) > TAGS_MAX:
        raise ValidationError("tags", "too_many", max=TAGS_MAX, count=len(out))
    return tuple(out)


def validate_capacity(capacity: int, guild_max: int = CAPACITY_MAX) -> int:
    """A room's capacity: 2 … the guild's maximum (itself at most 25)."""
    if not CAPACITY_MIN <= guild_max <= CAPACITY_MAX:
        raise ValueError(f"guild max capacity must be {CAPACITY_MIN}..{CAPACITY_MAX}")
    if isinstance(capacity, bool) or not CAPACITY_MIN <= capacity <= guild_max:
        raise ValidationError(
            "capacity", "out_of_range", min=CAPACITY_MIN, max=guild_max, value=capacity
        )
    return capacity


# -- membership ----------------------------------------------------------------------------


def next_owner(members: Mapping[int, int], leaving_owner: int) -> int | None:
    """Who owns the room once ``leaving_owner`` leaves: the longest-present remaining member
    (earliest ``joined_ms``; on a tie the smaller user id), or None when nobody remains and
    the room closes. ``members`` maps user id → joined_ms and may include the leaver."""
    remaining = [(joined, uid) for uid, joined in members.items() if uid != leaving_owner]
    if not remaining:
        return None
    return min(remaining)[1]


def can_join(member_count: int, capacity: int) -> None:
    """Refuse a join that would exceed ``capacity``."""
    if member_count >= capacity:
        raise RoomFull(capacity)

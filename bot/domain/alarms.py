"""Alarms and the end of a run: who dismissed what, on time, and who is a study king.

An alarm is a boundary of a run. A member's first dismissal is the one recorded; it is on
time when it came no later than the grace window after the alarm *reached the channel* (the
alarm message's creation time), never counted from the boundary instant: a member never loses
"on time" because the bot or Discord was slow.

A study king dismissed, on time, every alarm of the run from the moment they first joined
during it (or from its start, if they were in the room already) to its end, and there was at
least one. So a king is in the room at the run's last alarm: an alarm that fell while they
had left counts as missed. A member who leaves and rejoins pays again for the new stay; a
king gets back every payment they made for the stays of that run, each payment once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.domain.timer import Boundary

DEFAULT_GRACE_S = 60


def is_on_time(rang_at_ms: int, dismissed_at_ms: int, grace_s: int) -> bool:
    """Whether a dismissal at ``dismissed_at_ms`` is on time for an alarm that reached the
    channel at ``rang_at_ms``. A dismissal before the alarm cannot happen and is not on time."""
    if grace_s < 0:
        raise ValueError("grace must not be negative")
    return 0 <= dismissed_at_ms - rang_at_ms <= grace_s * 1000


def rang_at(boundary: Boundary, reached: Mapping[int, int]) -> int:
    """When the alarm of ``boundary`` reached the channel: the instant its message was
    created (``reached`` maps boundary index → that instant), never before the boundary
    itself; the boundary's instant while no delivery is known."""
    return max(boundary.at_ms, reached.get(boundary.index, boundary.at_ms))


@dataclass(frozen=True, slots=True)
class MemberSpan:
    """One stay of a member in a room: ``[joined_ms, left_ms)``, open while still there."""

    user_id: int
    joined_ms: int
    left_ms: int | None = None

    def __post_init__(self) -> None:
        if self.left_ms is not None and self.left_ms < self.joined_ms:
            raise ValueError("a member cannot leave before joining")

    def covers(self, at_ms: int) -> bool:
        return self.joined_ms <= at_ms and (self.left_ms is None or at_ms < self.left_ms)


@dataclass(frozen=True, slots=True)
class MemberResult:
    """One member's record of a run, as stored."""

    user_id: int
    alarms: int  # alarms they answer for: from their first join in the run to its end
    dismissed: int  # of those, how many they dismissed (on time or late)
    on_time: int  # of those, how many on time
    is_king: bool


def alarms_owed(
    boundaries: Iterable[Boundary], spans_of_user: Iterable[MemberSpan]
) -> list[Boundary]:
    """The boundaries (in order) a member answers for in a run: every one from their first
    stay's start on, including those that fell while they had left."""
    starts = [s.joined_ms for s in spans_of_user]
    if not starts:
        return []
    first = min(starts)
    return [b for b in boundaries if b.at_ms >= first]


def run_results(
    boundaries: Sequence[Boundary],
    spans: Mapping[int, Sequence[MemberSpan]],
    dismissals: Mapping[tuple[int, int], int],
    grace_s: int = DEFAULT_GRACE_S,
    reached: Mapping[int, int] | None = None,
) -> list[MemberResult]:
    """Every member's result (everyone with a span in ``spans``, the stays that overlap the
    run), by user id. ``dismissals`` maps (boundary index, user id) → the instant of the
    recorded dismissal; ``reached`` maps boundary index → when its alarm reached the channel."""
    reached = reached or {}
    results: list[MemberResult] = []
    for user_id in sorted(spans):
        mine = alarms_owed(boundaries, spans[user_id])
        dismissed = on_time = 0
        for b in mine:
            at = dismissals.get((b.index, user_id))
            if at is None:
                continue
            dismissed += 1
            if is_on_time(rang_at(b, reached), at, grace_s):
                on_time += 1
        is_king = bool(mine) and on_time == len(mine)
        results.append(MemberResult(user_id, len(mine), dismissed, on_time, is_king))
    return results


@dataclass(frozen=True, slots=True)
class AlarmDismissal:
    """One member's recorded dismissal of one alarm, judged against when it reached the
    channel: what that alarm's message shows."""

    user_id: int
    at_ms: int
    on_time: bool


def dismissals_of_alarm(
    dismissals: Mapping[tuple[int, int], int], boundary: int, rang_ms: int, grace_s: int
) -> list[AlarmDismissal]:
    """The recorded dismissals of alarm #``boundary`` (``dismissals`` maps (boundary index,
    user id) → instant), in the order they came, each on time or late. The list only grows
    as members dismiss, so its length orders any two renderings of it."""
    mine = [
        AlarmDismissal(user_id, at, is_on_time(rang_ms, at, grace_s))
        for (index, user_id), at in dismissals.items()
        if index == boundary
    ]
    return sorted(mine, key=lambda d: (d.at_ms, d.user_id))

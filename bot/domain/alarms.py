"""Alarms and the end of a run: who dismissed what, on time, and who is a study king.

An alarm is a boundary of a run. It concerns the members who were in the room at the
boundary's instant. A member's first dismissal is the one recorded; it is on time when it
came no later than the grace window after the boundary. A study king dismissed, on time,
every alarm of the run that fell while they were a member, and there was at least one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.domain.timer import Boundary

DEFAULT_GRACE_S = 60


def is_on_time(boundary_at_ms: int, dismissed_at_ms: int, grace_s: int) -> bool:
    """Whether a dismissal at ``dismissed_at_ms`` is on time for a boundary at
    ``boundary_at_ms``. A dismissal before its boundary cannot happen and is not on time."""
    if grace_s < 0:
        raise ValueError("grace must not be negative")
    return 0 <= dismissed_at_ms - boundary_at_ms <= grace_s * 1000


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


def alarms_for(
    boundaries: Iterable[Boundary], spans_of_user: Iterable[MemberSpan]
) -> list[Boundary]:
    """The boundaries (in their order) whose instant fell while the user was a member."""
    spans = list(spans_of_user)
    return [b for b in boundaries if any(s.covers(b.at_ms) for s in spans)]


@dataclass(frozen=True, slots=True)
class MemberResult:
    """One member's record of a run, as stored."""

    user_id: int
    alarms: int  # alarms that fell while they were a member
    dismissed: int  # of those, how many they dismissed (on time or late)
    on_time: int  # of those, how many on time
    is_king: bool


def run_results(
    boundaries: Sequence[Boundary],
    spans: Mapping[int, Sequence[MemberSpan]],
    dismissals: Mapping[tuple[int, int], int],
    grace_s: int = DEFAULT_GRACE_S,
) -> list[MemberResult]:
    """Every member's result (everyone with a span in ``spans``), by user id.
    ``dismissals`` maps (boundary index, user id) → the instant of the recorded dismissal."""
    results: list[MemberResult] = []
    for user_id in sorted(spans):
        mine = alarms_for(boundaries, spans[user_id])
        dismissed = on_time = 0
        for b in mine:
            at = dismissals.get((b.index, user_id))
            if at is None:
                continue
            dismissed += 1
            if is_on_time(b.at_ms, at, grace_s):
                on_time += 1
        is_king = bool(mine) and on_time == len(mine)
        results.append(MemberResult(user_id, len(mine), dismissed, on_time, is_king))
    return results


def study_kings(
    boundaries: Sequence[Boundary],
    spans: Mapping[int, Sequence[MemberSpan]],
    dismissals: Mapping[tuple[int, int], int],
    grace_s: int = DEFAULT_GRACE_S,
) -> list[int]:
    """The run's study kings' user ids, sorted."""
    return [r.user_id for r in run_results(boundaries, spans, dismissals, grace_s) if r.is_king]

"""A member's weekly study-time goal, and how far this week's study has come towards it.

A goal is set in hours: from ``GOAL_MIN_HOURS`` to ``GOAL_MAX_HOURS`` (every hour of a
week), in whole or half hours; 0 clears it. It is kept as whole minutes, so half hours are
exact. Progress is this week's study time (the member's own week, Monday to Monday in their
time zone, ``bot.domain.periods``) against the goal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.domain.errors import ValidationError

GOAL_MIN_HOURS = 1
GOAL_MAX_HOURS = 168  # the hours of a week
GOAL_STEP_MINUTES = 30  # whole or half hours
MINUTE_MS = 60_000


def goal_minutes(hours: float) -> int | None:
    """The goal ``hours`` stand for, in minutes; None for 0 (no goal). Out of range, or not
    a whole or half hour, is refused."""
    if not math.isfinite(hours):
        raise ValidationError("goal", "out_of_range", min=GOAL_MIN_HOURS, max=GOAL_MAX_HOURS)
    if hours == 0:
        return None
    if not GOAL_MIN_HOURS <= hours <= GOAL_MAX_HOURS:
        raise ValidationError("goal", "out_of_range", min=GOAL_MIN_HOURS, max=GOAL_MAX_HOURS)
    minutes = hours * 60
    if minutes % GOAL_STEP_MINUTES:
        raise ValidationError("goal", "half_hours")
    return int(minutes)


@dataclass(frozen=True, slots=True)
class GoalProgress:
    """This week's study time against the weekly goal."""

    goal_ms: int
    done_ms: int

    @property
    def fraction(self) -> float:
        """0 to 1: how much of the goal is done (past the goal is 1)."""
        if self.goal_ms <= 0:
            return 0.0
        return max(0.0, min(1.0, self.done_ms / self.goal_ms))

    @property
    def percent(self) -> int:
        """Whole percent done, rounded down; may pass 100."""
        return max(0, self.done_ms) * 100 // self.goal_ms if self.goal_ms > 0 else 0

    @property
    def reached(self) -> bool:
        return self.done_ms >= self.goal_ms


def progress(goal_minutes: int | None, week_ms: int) -> GoalProgress | None:
    """Progress towards a goal of ``goal_minutes`` (None: no goal, no progress)."""
    if goal_minutes is None:
        return None
    return GoalProgress(goal_minutes * MINUTE_MS, week_ms)

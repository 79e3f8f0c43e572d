"""The weekly goal: which values are a goal, and progress towards it."""

from __future__ import annotations

import pytest

from bot.domain.errors import ValidationError
from bot.domain.goals import GOAL_MAX_HOURS, GoalProgress, goal_minutes, progress

H = 3_600_000


def test_goals_are_whole_or_half_hours_from_one_to_a_whole_week() -> None:
    assert goal_minutes(1) == 60
    assert goal_minutes(20) == 1200
    assert goal_minutes(12.5) == 750
    assert goal_minutes(GOAL_MAX_HOURS) == 168 * 60
    assert goal_minutes(0) is None  # clears the goal


@pytest.mark.parametrize("hours", [-1, 0.5, 168.5, 1000, float("inf"), float("nan")])
def test_out_of_range_is_refused(hours: float) -> None:
    with pytest.raises(ValidationError) as refused:
        goal_minutes(hours)
    assert refused.value.code == "error.validation.out_of_range"
    assert refused.value.params == {"field": "goal", "min": 1, "max": 168}


@pytest.mark.parametrize("hours", [2.25, 7.1, 1.75])
def test_other_fractions_are_refused(hours: float) -> None:
    with pytest.raises(ValidationError) as refused:
        goal_minutes(hours)
    assert refused.value.code == "error.validation.half_hours"


def test_progress() -> None:
    assert progress(None, 5 * H) is None
    half = progress(20 * 60, 10 * H)
    assert half == GoalProgress(20 * H, 10 * H)
    assert half.fraction == 0.5 and half.percent == 50 and not half.reached
    over = progress(60, 3 * H)
    assert over is not None and over.fraction == 1.0 and over.percent == 300 and over.reached
    assert GoalProgress(H, 0).fraction == 0.0

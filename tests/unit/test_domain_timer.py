"""Example tests for the timer: the 4 × (50 + 10) run and each control by hand."""

from __future__ import annotations

import pytest

from bot.domain.errors import InvalidTimerAction, ValidationError
from bot.domain.timer import (
    MINUTE_MS,
    EventKind,
    Pattern,
    PhaseKind,
    Status,
    Timer,
    TimerEvent,
)

START = 1_767_225_600_000  # 2026-01-01T00:00Z
M = MINUTE_MS


@pytest.fixture
def pomodoro() -> Timer:
    return Timer(Pattern.from_minutes(50, 10, 4), START)


def minutes(timer: Timer) -> list[int]:
    return [(b.at_ms - timer.started_at_ms) // M for b in timer.boundaries()]


def test_four_terms_of_fifty_and_ten(pomodoro: Timer) -> None:
    bs = pomodoro.boundaries()
    assert minutes(pomodoro) == [50, 60, 110, 120, 170, 180, 230]
    assert [b.index for b in bs] == [1, 2, 3, 4, 5, 6, 7]
    assert [b.ends for b in bs] == [PhaseKind.STUDY, PhaseKind.BREAK] * 3 + [PhaseKind.STUDY]
    assert [b.term for b in bs] == [1, 1, 2, 2, 3, 3, 4]
    assert [b.last for b in bs] == [False] * 6 + [True]
    assert not any(b.skipped for b in bs)
    assert pomodoro.ends_at_ms == START + 230 * M
    assert pomodoro.pattern.total_ms == 230 * M
    assert pomodoro.pattern.boundary_count == 7


def test_states_through_the_run(pomodoro: Timer) -> None:
    s = pomodoro.state_at(START)
    assert s.status is Status.RUNNING
    assert s.phase is not None and s.phase.kind is PhaseKind.STUDY and s.phase.term == 1
    assert s.phase_started_ms == START and s.phase_ends_ms == START + 50 * M
    assert s.remaining_ms == 50 * M and s.next_boundary == 1

    s = pomodoro.state_at(START + 50 * M - 1)
    assert s.phase is not None and s.phase.index == 1 and s.remaining_ms == 1

    s = pomodoro.state_at(START + 50 * M)  # the boundary belongs to the next phase
    assert s.phase is not None and s.phase.index == 2 and s.phase.kind is PhaseKind.BREAK
    assert s.phase.term == 1 and s.remaining_ms == 10 * M and s.next_boundary == 2

    s = pomodoro.state_at(START + 200 * M)
    assert s.phase is not None and s.phase.index == 7 and s.phase.term == 4
    assert s.phase_ends_ms == START + 230 * M

    s = pomodoro.state_at(START + 230 * M)
    assert s.status is Status.FINISHED and s.phase is None and s.next_boundary is None


def test_state_before_start_is_an_error(pomodoro: Timer) -> None:
    with pytest.raises(ValueError):
        pomodoro.state_at(START - 1)


def test_pause_and_resume_shift_later_boundaries(pomodoro: Timer) -> None:
    t = pomodoro.pause(START + 20 * M)
    s = t.state_at(START + 25 * M)
    assert s.status is Status.PAUSED and s.phase_ends_ms is None
    assert s.remaining_ms == 30 * M and s.next_boundary == 1
    assert t.boundaries() == ()  # nothing known while paused
    assert t.ends_at_ms is None
    assert t.next_boundary_after(START + 25 * M) is None
    t = t.resume(START + 27 * M)
    assert minutes(t) == [57, 67, 117, 127, 177, 187, 237]
    s = t.state_at(START + 27 * M)
    assert s.status is Status.RUNNING and s.remaining_ms == 30 * M


def test_skip_ends_the_phase_now(pomodoro: Timer) -> None:
    t = pomodoro.skip(START + 30 * M)
    bs = t.boundaries()
    assert bs[0].at_ms == START + 30 * M and bs[0].skipped
    assert minutes(t) == [30, 40, 90, 100, 150, 160, 210]
    assert not any(b.skipped for b in bs[1:])


def test_skip_while_paused_resumes(pomodoro: Timer) -> None:
    t = pomodoro.pause(START + 10 * M).skip(START + 15 * M)
    assert t.state_at(START + 15 * M).status is Status.RUNNING
    assert minutes(t) == [15, 25, 75, 85, 135, 145, 195]


def test_skip_at_phase_start_is_refused(pomodoro: Timer) -> None:
    with pytest.raises(InvalidTimerAction) as exc:
        pomodoro.skip(START)
    assert exc.value.reason == "phase_just_started"
    with pytest.raises(InvalidTimerAction):
        pomodoro.skip(START + 50 * M)
    with pytest.raises(InvalidTimerAction):
        pomodoro.skip(START + 10 * M).skip(START + 10 * M)


def test_skipping_every_phase_finishes(pomodoro: Timer) -> None:
    t = pomodoro
    for i in range(1, 8):
        t = t.skip(START + i * M)
    assert t.status is Status.FINISHED
    assert t.ends_at_ms == START + 7 * M
    assert t.state_at(START + 7 * M).status is Status.FINISHED
    with pytest.raises(InvalidTimerAction):
        t.skip(START + 8 * M)


def test_stop(pomodoro: Timer) -> None:
    t = pomodoro.stop(START + 70 * M)
    assert t.status is Status.STOPPED
    assert minutes(t) == [50, 60]
    assert t.ends_at_ms is None
    assert t.state_at(START + 69 * M).status is Status.RUNNING
    assert t.state_at(START + 70 * M).status is Status.STOPPED
    for action in (t.pause, t.resume, t.skip, t.stop):
        with pytest.raises(InvalidTimerAction) as exc:
            action(START + 71 * M)
        assert exc.value.reason == "not_running"


def test_controls_after_finish_are_refused(pomodoro: Timer) -> None:
    for action in (pomodoro.pause, pomodoro.resume, pomodoro.skip, pomodoro.stop):
        with pytest.raises(InvalidTimerAction):
            action(START + 230 * M)


def test_pause_twice_and_resume_running_are_refused(pomodoro: Timer) -> None:
    with pytest.raises(InvalidTimerAction) as exc:
        pomodoro.resume(START + M)
    assert exc.value.reason == "not_paused"
    t = pomodoro.pause(START + M)
    with pytest.raises(InvalidTimerAction) as exc:
        t.pause(START + 2 * M)
    assert exc.value.reason == "already_paused"


def test_control_before_the_last_event_is_an_error(pomodoro: Timer) -> None:
    t = pomodoro.pause(START + 10 * M)
    with pytest.raises(ValueError):
        t.resume(START + 5 * M)


def test_events_must_be_in_order() -> None:
    p = Pattern.from_minutes(50, 10, 4)
    with pytest.raises(ValueError):
        Timer(p, START, (TimerEvent(EventKind.PAUSE, START - 1),))
    with pytest.raises(ValueError):
        Timer(
            p,
            START,
            (TimerEvent(EventKind.PAUSE, START + 2), TimerEvent(EventKind.RESUME, START + 1)),
        )


def test_state_at_ignores_later_events(pomodoro: Timer) -> None:
    t = pomodoro.pause(START + 20 * M).resume(START + 40 * M)
    # before the pause the run was projected without it
    s = t.state_at(START + 10 * M)
    assert s.phase_ends_ms == START + 50 * M
    assert t.state_at(START + 60 * M).phase_ends_ms == START + 70 * M


def test_due_and_next_boundary(pomodoro: Timer) -> None:
    assert [b.index for b in pomodoro.due(0, START + 60 * M)] == [1, 2]
    assert [b.index for b in pomodoro.due(1, START + 60 * M)] == [2]
    assert pomodoro.due(2, START + 60 * M) == []
    nb = pomodoro.next_boundary_after(START + 50 * M)
    assert nb is not None and nb.index == 2
    assert pomodoro.next_boundary_after(START + 230 * M) is None


def test_a_late_wake_up_sees_every_missed_boundary(pomodoro: Timer) -> None:
    # asleep from minute 45 to minute 130: three alarms are due at once, in order
    assert [b.index for b in pomodoro.due(0, START + 130 * M)] == [1, 2, 3, 4]


def test_pattern_ranges() -> None:
    assert Pattern.from_minutes(1, 1, 1).total_ms == M
    assert Pattern.from_minutes(180, 60, 12).boundary_count == 23
    for args in ((0, 10, 4), (181, 10, 4), (50, 0, 4), (50, 61, 4), (50, 10, 0), (50, 10, 13)):
        with pytest.raises(ValidationError):
            Pattern.from_minutes(*args)
    with pytest.raises(ValidationError):
        Pattern(0, 1, 1)
    with pytest.raises(IndexError):
        Pattern(1, 1, 2).phase(4)


def test_single_term_has_one_boundary() -> None:
    t = Timer(Pattern.from_minutes(25, 5, 1), START)
    (b,) = t.boundaries()
    assert b.index == 1 and b.last and b.ends is PhaseKind.STUDY
    assert b.at_ms == START + 25 * M


# -- long breaks ---------------------------------------------------------------------------


@pytest.fixture
def long_pomodoro() -> Timer:
    """8 × (25 + 5), a 20-minute break after every 4th study period (only after the 4th: the
    8th ends the run)."""
    return Timer(Pattern.from_minutes(25, 5, 8, long_break=20, long_every=4), START)


def test_a_long_break_after_every_kth_study_period(long_pomodoro: Timer) -> None:
    p = long_pomodoro.pattern
    breaks = [p.phase(i) for i in range(2, p.boundary_count + 1, 2)]
    assert [b.nominal_ms // M for b in breaks] == [5, 5, 5, 20, 5, 5, 5]
    assert [b.long for b in breaks] == [False, False, False, True, False, False, False]
    assert minutes(long_pomodoro) == [
        *(25, 30, 55, 60, 85, 90, 115, 135),
        *(160, 165, 190, 195, 220, 225, 250),
    ]
    assert p.total_ms == 250 * M and p.long_break_count == 1
    assert long_pomodoro.boundaries()[-1].last


def test_the_last_study_period_is_never_followed_by_a_long_break() -> None:
    p = Pattern.from_minutes(25, 5, 4, long_break=30, long_every=2)
    assert [p.phase(i).long for i in (2, 4, 6)] == [False, True, False]
    assert p.long_break_count == 1  # after study 2; study 4 ends the run
    two = Pattern.from_minutes(25, 5, 2, long_break=30, long_every=2)
    assert two.long_break_count == 0 and two.total_ms == 55 * M


def test_pause_and_skip_across_a_long_break(long_pomodoro: Timer) -> None:
    # into the long break (it starts at 115), pause 7 minutes in it, resume, then skip it
    t = long_pomodoro.pause(START + 120 * M)
    state = t.state_at(START + 121 * M)
    assert state.phase is not None and state.phase.long and state.remaining_ms == 15 * M
    t = t.resume(START + 127 * M)
    assert t.state_at(START + 127 * M).phase_ends_ms == START + 142 * M
    assert minutes(t)[7] == 142  # the long break ends 7 minutes later
    t = t.skip(START + 130 * M)
    b8 = t.boundaries()[7]
    assert b8.skipped and b8.at_ms == START + 130 * M
    # the rest of the run keeps its short breaks
    assert minutes(t)[8:] == [155, 160, 185, 190, 215, 220, 245]


@pytest.mark.parametrize(
    ("long_break", "long_every", "field"),
    [
        (20, None, "long_break"),
        (None, 4, "long_break"),
        (0, 4, "long_break"),
        (61, 4, "long_break"),
        (20, 1, "long_every"),
        (20, 13, "long_every"),
    ],
)
def test_long_break_options_are_checked(
    long_break: int | None, long_every: int | None, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Pattern.from_minutes(25, 5, 8, long_break=long_break, long_every=long_every)
    assert refused.value.field == field
    code = "pair" if long_break is None or long_every is None else "out_of_range"
    assert refused.value.problem == code


def test_a_pattern_needs_both_long_break_values() -> None:
    with pytest.raises(ValidationError):
        Pattern(M, M, 4, long_break_ms=M)
    with pytest.raises(ValidationError):
        Pattern(M, M, 4, long_every=2)

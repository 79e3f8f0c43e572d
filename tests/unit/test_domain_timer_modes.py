"""The flowtime and count-up modes of the timer, by hand: what each control does and what the
run's boundaries, phases and study time are."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.errors import InvalidTimerAction, ValidationError
from bot.domain.run import Run
from bot.domain.study import study_spans, total
from bot.domain.timer import (
    MINUTE_MS,
    Mode,
    Pattern,
    PhaseKind,
    Status,
    Timer,
)
from storage.session.codec import run_from_json, run_to_json

START = 1_767_225_600_000  # 2026-01-01T00:00Z
M = MINUTE_MS


def flow(longest: int = 120, terms: int = 3, share: int = 5) -> Timer:
    return Timer(
        Pattern.for_mode(Mode.FLOWTIME, study=longest, terms=terms, break_share=share), START
    )


def countup(every: int = 10, terms: int = 6) -> Timer:
    return Timer(Pattern.for_mode(Mode.COUNTUP, check_every=every, terms=terms), START)


def offsets(timer: Timer) -> list[int]:
    return [(b.at_ms - START) // M for b in timer.boundaries()]


# -- the pattern of each mode --------------------------------------------------------------


def test_each_mode_fills_in_its_defaults() -> None:
    assert Pattern.for_mode(Mode.POMODORO) == Pattern.from_minutes(25, 5, 4)
    f = Pattern.for_mode(Mode.FLOWTIME)
    assert (f.mode, f.study_ms, f.terms, f.break_share) == (Mode.FLOWTIME, 120 * M, 4, 5)
    assert f.break_ms == 24 * M  # the longest break: a fifth of two hours
    c = Pattern.for_mode(Mode.COUNTUP)
    assert (c.mode, c.check_every_ms, c.terms, c.boundary_count) == (Mode.COUNTUP, 30 * M, 12, 12)


@pytest.mark.parametrize(
    ("mode", "option"),
    [
        (Mode.POMODORO, {"break_share": 4}),
        (Mode.POMODORO, {"check_every": 20}),
        (Mode.FLOWTIME, {"break_": 5}),
        (Mode.FLOWTIME, {"long_break": 20, "long_every": 2}),
        (Mode.COUNTUP, {"study": 50}),
        (Mode.COUNTUP, {"break_share": 5}),
    ],
)
def test_an_option_of_another_mode_is_refused(mode: Mode, option: dict[str, int]) -> None:
    with pytest.raises(ValidationError) as refused:
        Pattern.for_mode(mode, **option)
    assert refused.value.code == "error.validation.not_in_mode"
    assert refused.value.params["mode"] == mode.value


@pytest.mark.parametrize(
    ("mode", "option", "field"),
    [
        (Mode.FLOWTIME, {"break_share": 1}, "break_share"),
        (Mode.FLOWTIME, {"break_share": 11}, "break_share"),
        (Mode.FLOWTIME, {"study": 181}, "study"),
        (Mode.COUNTUP, {"check_every": 9}, "check_every"),
        (Mode.COUNTUP, {"check_every": 121}, "check_every"),
        (Mode.COUNTUP, {"terms": 13}, "terms"),
    ],
)
def test_out_of_range_options_are_refused(mode: Mode, option: dict[str, int], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Pattern.for_mode(mode, **option)
    assert refused.value.field == field


# -- flowtime ----------------------------------------------------------------------------


def test_flowtime_break_is_a_share_of_the_study_just_done() -> None:
    timer = flow()
    timer = timer.call_break(START + 40 * M)  # studied 40 min: the break is 8
    bs = timer.boundaries()
    assert offsets(timer)[:2] == [40, 48]
    assert bs[0].ends is PhaseKind.STUDY and not bs[0].skipped
    state = timer.state_at(START + 41 * M)
    assert state.phase is not None and state.phase.kind is PhaseKind.BREAK
    assert state.phase_ends_ms == START + 48 * M
    # the next study period is projected at its longest until the owner calls its break
    assert offsets(timer)[2] == 48 + 120


def test_a_pause_does_not_count_towards_the_flowtime_break() -> None:
    timer = flow().pause(START + 10 * M).resume(START + 30 * M)
    timer = timer.call_break(START + 50 * M)  # 30 min studied, 20 paused
    assert offsets(timer)[:2] == [50, 56]


def test_flowtime_breaks_stay_within_one_and_thirty_minutes() -> None:
    short = flow(share=10).call_break(START + 3 * M)  # a tenth of 3 min: 18 s → 1 min
    assert offsets(short)[:2] == [3, 4]
    long = flow(longest=180, share=2).call_break(START + 100 * M)  # half: 50 → 30 min
    assert offsets(long)[:2] == [100, 130]


def test_a_study_period_nobody_ends_ends_at_its_longest() -> None:
    timer = flow(longest=60)
    state = timer.state_at(START + 61 * M)
    assert state.phase is not None and state.phase.kind is PhaseKind.BREAK
    assert offsets(timer)[:2] == [60, 72]


def test_the_break_call_after_the_last_study_period_ends_the_run() -> None:
    timer = flow(terms=2).call_break(START + 30 * M)  # break of 6 until 36
    timer = timer.call_break(START + 80 * M)
    assert timer.status is Status.FINISHED
    assert timer.boundaries()[-1].last
    assert offsets(timer) == [30, 36, 80]
    assert timer.state_at(START + 80 * M).status is Status.FINISHED


def test_flowtime_controls_are_checked() -> None:
    timer = flow()
    with pytest.raises(InvalidTimerAction) as refused:
        timer.skip(START + 5 * M)
    assert refused.value.code == "error.timer.flow_use_break"
    on_break = timer.call_break(START + 20 * M)
    with pytest.raises(InvalidTimerAction) as refused:
        on_break.call_break(START + 21 * M)
    assert refused.value.code == "error.timer.not_studying"
    # a break can be cut short like any phase
    assert offsets(on_break.skip(START + 22 * M))[:2] == [20, 22]
    with pytest.raises(InvalidTimerAction) as refused:
        Timer(Pattern.from_minutes(25, 5, 2), START).call_break(START + M)
    assert refused.value.code == "error.timer.not_flowtime"


def test_calling_the_break_while_paused_resumes_and_counts_no_pause() -> None:
    timer = flow().pause(START + 20 * M).call_break(START + 30 * M)
    assert offsets(timer)[:2] == [30, 34]  # 20 min studied: 4 min of break


def test_flowtime_study_time_is_the_study_actually_done() -> None:
    timer = flow(terms=2).call_break(START + 25 * M).call_break(START + 70 * M)
    # study 0–25, break 25–30, study 30–70
    assert study_spans(timer, START + 200 * M) == [
        (START, START + 25 * M),
        (START + 30 * M, START + 70 * M),
    ]


@given(st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=5))
def test_flowtime_boundaries_always_increase(calls: list[int]) -> None:
    timer = flow(terms=6)
    at = START
    for step in calls:
        at += step * 30_000
        state = timer.state_at(at)
        if state.status is not Status.RUNNING or state.phase is None:
            break
        if state.phase.kind is PhaseKind.STUDY and at > (state.phase_started_ms or at):
            timer = timer.call_break(at)
    instants = [b.at_ms for b in timer.boundaries()]
    assert instants == sorted(set(instants))
    assert len(instants) == timer.pattern.boundary_count


# -- count-up ----------------------------------------------------------------------------


def test_countup_checks_in_at_a_steady_interval() -> None:
    timer = countup()
    bs = timer.boundaries()
    assert offsets(timer) == [10, 20, 30, 40, 50, 60]
    assert all(b.ends is PhaseKind.STUDY for b in bs)
    assert [b.term for b in bs] == [1, 2, 3, 4, 5, 6]
    assert bs[-1].last  # the last check-in is the run's longest
    spans = study_spans(timer, START + 90 * M)  # one span per check-in period, end to end
    assert spans[0][0] == START and spans[-1][1] == START + 60 * M
    assert total(spans) == 60 * M


def test_a_pause_moves_every_later_check_in() -> None:
    timer = countup().pause(START + 5 * M).resume(START + 12 * M)
    assert offsets(timer)[:3] == [17, 27, 37]


def test_ending_a_countup_run_keeps_the_check_ins_so_far() -> None:
    timer = countup()
    assert not timer.ends_with_results(START + 9 * M)
    with pytest.raises(InvalidTimerAction) as refused:
        timer.end(START + 9 * M)
    assert refused.value.code == "error.timer.nothing_to_end"
    assert timer.ends_with_results(START + 25 * M)
    ended = timer.end(START + 25 * M)
    assert ended.status is Status.FINISHED
    assert offsets(ended) == [10, 20]
    assert ended.boundary_count == 2
    assert ended.state_at(START + 26 * M).status is Status.FINISHED
    assert ended.ended_early_at_ms == START + 25 * M
    # study counts up to the end, not to the last check-in
    assert total(study_spans(ended, START + 90 * M)) == 25 * M
    with pytest.raises(InvalidTimerAction):
        ended.pause(START + 30 * M)


def test_an_ended_countup_run_is_all_fired_once_its_check_ins_are() -> None:
    run = Run(1, countup().end(START + 25 * M))
    assert not run.all_fired
    run = run.claim_alarm(1, "p", START + 25 * M).claim_alarm(2, "p", START + 25 * M)
    assert run.all_fired
    assert run.due(START + 90 * M) == []


def test_only_countup_runs_end_with_results_when_stopped() -> None:
    pomodoro = Timer(Pattern.from_minutes(25, 5, 2), START)
    assert not pomodoro.ends_with_results(START + 40 * M)
    assert not flow().call_break(START + 5 * M).ends_with_results(START + 40 * M)


def test_runs_of_every_mode_survive_the_store_codec() -> None:
    for timer in (
        flow().pause(START + M).call_break(START + 30 * M),
        countup().end(START + 25 * M),
    ):
        run = Run(7, timer, fired_through=1, run_no=2)
        back = run_from_json(run_to_json(run))
        assert back == run
        assert back.timer.boundaries() == timer.boundaries()


# -- what a boundary says, and what of the schedule is fixed -------------------------------


def test_a_flowtime_boundary_says_whether_the_owner_called_the_break() -> None:
    timer = flow(longest=60, terms=3).call_break(START + 40 * M)  # called; break 8 min
    timer = timer.skip(START + 45 * M)  # the break cut short
    bs = timer.boundaries()
    assert [(b.called, b.skipped) for b in bs[:2]] == [(True, False), (False, True)]
    # study 2 is not called: it runs to its longest, 60 min after the skip, at 105
    passed = timer.passed(START + 106 * M)
    assert (passed[2].ends, passed[2].called, passed[2].at_ms) == (
        PhaseKind.STUDY,
        False,
        START + 105 * M,
    )
    # nothing else is ever "called"
    pomodoro = Timer(Pattern.from_minutes(25, 5, 2), START).skip(START + 10 * M)
    assert not any(b.called for b in pomodoro.boundaries())
    assert not any(b.called for b in countup().boundaries())


def test_a_countup_run_cannot_be_skipped_only_stopped() -> None:
    timer = countup()
    for at in (START + 5 * M, START + 15 * M):  # before and after a check-in
        with pytest.raises(InvalidTimerAction) as refused:
            timer.skip(at)
        assert refused.value.code == "error.timer.countup_use_stop"
    paused = timer.pause(START + 3 * M)
    with pytest.raises(InvalidTimerAction):
        paused.skip(START + 4 * M)
    assert paused.status is Status.PAUSED  # the refusal changed nothing
    assert offsets(timer) == [10, 20, 30, 40, 50, 60]


def test_the_schedule_is_fixed_up_to_the_last_control_or_alarm() -> None:
    timer = flow(longest=60, terms=2)
    run = Run(1, timer)
    assert run.schedule_fixed_until(START + 30 * M) == START  # only the start so far
    # study 1 runs to its longest at 60: fixed once it has passed, fired or not
    assert run.schedule_fixed_until(START + 61 * M) == START + 60 * M
    fired = run.claim_alarm(1, "p", START + 60 * M)
    assert fired.schedule_fixed_until(START + 60 * M) == START + 60 * M
    # a control later than every alarm is what fixes the schedule then
    paused = fired.with_timer(timer.pause(START + 65 * M))
    assert paused.schedule_fixed_until(START + 66 * M) == START + 65 * M
    # an alarm fired after the last control counts: the break ends at 72 (a fifth of 60)
    later = fired.with_timer(timer.pause(START + 65 * M).resume(START + 66 * M))
    later = later.claim_alarm(2, "p", START + 73 * M)
    assert later.schedule_fixed_until(START + 73 * M) == START + 73 * M

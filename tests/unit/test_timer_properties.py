"""Property tests for the timer math.

Runs are generated as a pattern, a start and a sequence of owner controls at non-decreasing
instants (some landing exactly on, just before or just after a boundary). Each control is
tried through the Timer's own methods; the ones it refuses are left out. An independent
reference replay (which accounts for *active* time per phase rather than paused time) says
which controls are legal and where every boundary must fall.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.errors import InvalidTimerAction
from bot.domain.timer import (
    EventKind,
    Pattern,
    PhaseKind,
    Status,
    Timer,
    TimerEvent,
)

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# -- reference replay ---------------------------------------------------------------------


@dataclass
class Ref:
    """A straightforward replay: a phase ends once it has been *active* for its nominal
    length; a skip ends it at once; a stop ends the run."""

    pattern: Pattern
    start: int
    idx: int = 1
    phase_start: int = 0
    seg_start: int = 0  # when the current running stretch began
    active: int = 0  # active ms of the current phase before seg_start
    paused: bool = False
    paused_since: int | None = None
    stopped: bool = False
    boundaries: list[tuple[int, int, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.phase_start = self.seg_start = self.start

    @property
    def n(self) -> int:
        return 2 * self.pattern.terms - 1

    def nominal(self, idx: int) -> int:
        p = self.pattern
        if idx % 2 == 1:
            return p.study_ms
        # break j follows study period j; every long_every-th one is long
        j = idx // 2
        if p.long_break_ms is not None and p.long_every is not None and j % p.long_every == 0:
            return p.long_break_ms
        return p.break_ms

    @property
    def finished(self) -> bool:
        return self.idx > self.n

    def _end_phase(self, at: int, skipped: bool) -> None:
        self.boundaries.append((self.idx, at, skipped))
        self.idx += 1
        self.phase_start = self.seg_start = at
        self.active = 0
        self.paused = False
        self.paused_since = None

    def advance_to(self, t: int) -> None:
        while not (self.stopped or self.paused or self.finished):
            end = self.seg_start + self.nominal(self.idx) - self.active
            if end > t:
                break
            self._end_phase(end, skipped=False)

    def legal(self, kind: EventKind, t: int) -> bool:
        self.advance_to(t)
        if self.stopped or self.finished:
            return False
        if kind is EventKind.PAUSE:
            return not self.paused
        if kind is EventKind.RESUME:
            return self.paused
        if kind is EventKind.SKIP:
            return t > self.phase_start
        return True

    def apply(self, kind: EventKind, t: int) -> None:
        assert self.legal(kind, t)
        if kind is EventKind.PAUSE:
            self.active += t - self.seg_start
            self.paused, self.paused_since = True, t
        elif kind is EventKind.RESUME:
            self.seg_start = t
            self.paused, self.paused_since = False, None
        elif kind is EventKind.SKIP:
            self._end_phase(t, skipped=True)
        else:
            self.stopped = True

    def projected(self) -> list[tuple[int, int, bool]]:
        """Passed boundaries plus, while running, the rest with no further controls."""
        out = list(self.boundaries)
        if self.stopped or self.paused or self.finished:
            return out
        end = self.seg_start + self.nominal(self.idx) - self.active
        out.append((self.idx, end, False))
        for j in range(self.idx + 1, self.n + 1):
            end += self.nominal(j)
            out.append((j, end, False))
        return out


def ref_at(pattern: Pattern, start: int, events: tuple[TimerEvent, ...], t: int) -> Ref:
    ref = Ref(pattern, start)
    for ev in events:
        if ev.at_ms > t:
            break
        ref.apply(ev.kind, ev.at_ms)
    ref.advance_to(t)
    return ref


# -- generation -----------------------------------------------------------------------------


@dataclass
class Run:
    timer: Timer
    tried: list[tuple[EventKind, int, bool]]  # (kind, instant, accepted)
    end_t: int  # the last instant a control was tried at


def apply_control(timer: Timer, kind: EventKind, t: int) -> Timer:
    if kind is EventKind.PAUSE:
        return timer.pause(t)
    if kind is EventKind.RESUME:
        return timer.resume(t)
    if kind is EventKind.SKIP:
        return timer.skip(t)
    return timer.stop(t)


# mostly phases long against the steps between controls, sometimes tiny ones
phase_ms = st.one_of(st.integers(1, 3_000), st.integers(800, 3_000), st.integers(800, 3_000))
short_patterns = st.builds(Pattern, study_ms=phase_ms, break_ms=phase_ms, terms=st.integers(1, 5))
# with a long break after every k-th study period (k up to the number of terms and beyond)
long_patterns = st.builds(
    Pattern,
    study_ms=phase_ms,
    break_ms=phase_ms,
    terms=st.integers(1, 7),
    long_break_ms=phase_ms,
    long_every=st.integers(2, 8),
)
patterns = st.one_of(short_patterns, long_patterns)
starts = st.integers(0, 2_000_000_000_000)
steps = st.one_of(
    st.integers(0, 400),
    st.integers(0, 4_000),
    st.sampled_from(["boundary", "boundary-1", "boundary+1"]),
)
# "toggle" pauses a running timer and resumes a paused one, so most runs get real pauses;
# the plain kinds also produce refused controls
TOGGLE = "toggle"
kinds = st.sampled_from(
    [
        *(TOGGLE, TOGGLE, TOGGLE),
        *(EventKind.PAUSE, EventKind.RESUME),
        *(EventKind.SKIP, EventKind.SKIP, EventKind.STOP),
    ]
)


def next_instant(timer: Timer, t: int, step: int | str) -> int:
    if isinstance(step, int):
        return t + step
    nb = timer.next_boundary_after(t)
    if nb is None:
        return t + 1
    target = {"boundary": nb.at_ms, "boundary-1": nb.at_ms - 1, "boundary+1": nb.at_ms + 1}[step]
    return max(t, target)


@st.composite
def runs(
    draw: st.DrawFn,
    kinds: st.SearchStrategy[EventKind | str] = kinds,
    max_controls: int = 14,
) -> Run:
    pattern = draw(patterns)
    start = draw(starts)
    timer = Timer(pattern, start)
    ref = Ref(pattern, start)
    tried: list[tuple[EventKind, int, bool]] = []
    t = start
    for step, choice in draw(st.lists(st.tuples(steps, kinds), min_size=1, max_size=max_controls)):
        t = next_instant(timer, t, step)
        if isinstance(choice, EventKind):
            kind = choice
        else:
            paused = timer.state_at(t).status is Status.PAUSED
            kind = EventKind.RESUME if paused else EventKind.PAUSE
        expected = ref.legal(kind, t)
        try:
            timer = apply_control(timer, kind, t)
        except InvalidTimerAction:
            accepted = False
        else:
            accepted = True
        assert accepted == expected, (kind, t, timer)
        if accepted:
            ref.apply(kind, t)
        tried.append((kind, t, accepted))
    return Run(timer, tried, t)


def sample_instants(run: Run, draw_extra: list[int]) -> list[int]:
    """Instants worth asking about: around every boundary and event, plus random ones."""
    timer = run.timer
    start = timer.started_at_ms
    ts = {start}
    for b in timer.boundaries():
        ts.update((b.at_ms - 1, b.at_ms, b.at_ms + 1))
    for ev in timer.events:
        ts.update((ev.at_ms - 1, ev.at_ms, ev.at_ms + 1))
    horizon = max([*ts, run.end_t]) + 1
    ts.update(start + x % (horizon - start + 1) for x in draw_extra)
    return sorted(t for t in ts if t >= start)


def pause_intervals(timer: Timer) -> list[tuple[int, int | None]]:
    """[pause, end) for every pause; it ends at a resume, skip or stop (None: still paused)."""
    out: list[tuple[int, int | None]] = []
    since: int | None = None
    for ev in timer.events:
        if ev.kind is EventKind.PAUSE:
            since = ev.at_ms
        elif since is not None:
            out.append((since, ev.at_ms))
            since = None
    if since is not None:
        out.append((since, None))
    return out


def paused_within(intervals: list[tuple[int, int | None]], lo: int, hi: int) -> int:
    total = 0
    for a, b in intervals:
        end = hi if b is None else min(b, hi)
        total += max(0, end - max(a, lo))
    return total


# -- properties -----------------------------------------------------------------------------


@SETTINGS
@given(runs())
def test_boundaries_match_reference_replay(run: Run) -> None:
    timer = run.timer
    ref = ref_at(timer.pattern, timer.started_at_ms, timer.events, run.end_t)
    # the timer knows the boundaries of all its events; the reference at the last control
    # instant has passed those up to then and projects the rest the same way
    got = [(b.index, b.at_ms, b.skipped) for b in timer.boundaries()]
    assert got == ref.projected()
    for b in timer.boundaries():
        phase = timer.pattern.phase(b.index)
        assert b.ends is phase.kind
        assert b.term == phase.term
        assert b.last == (b.index == timer.pattern.boundary_count)


@SETTINGS
@given(runs())
def test_boundaries_strictly_increase(run: Run) -> None:
    bs = run.timer.boundaries()
    assert [b.index for b in bs] == list(range(1, len(bs) + 1))
    instants = [run.timer.started_at_ms] + [b.at_ms for b in bs]
    assert all(a < b for a, b in itertools.pairwise(instants))


@SETTINGS
@given(patterns, starts)
def test_without_controls_phases_add_up_to_the_pattern(pattern: Pattern, start: int) -> None:
    timer = Timer(pattern, start)
    bs = timer.boundaries()
    assert len(bs) == pattern.boundary_count
    assert bs[-1].last and bs[-1].at_ms - start == pattern.total_ms
    assert timer.ends_at_ms == start + pattern.total_ms
    prev = start
    for b in bs:
        assert b.at_ms - prev == pattern.phase(b.index).nominal_ms
        assert not b.skipped
        prev = b.at_ms


@SETTINGS
@given(runs())
def test_phase_durations_account_for_pauses_and_skips(run: Run) -> None:
    timer = run.timer
    pauses = pause_intervals(timer)
    prev = timer.started_at_ms
    total_paused = total_cut = 0
    for b in timer.boundaries():
        nominal = timer.pattern.phase(b.index).nominal_ms
        paused = paused_within(pauses, prev, b.at_ms)
        active = b.at_ms - prev - paused
        if b.skipped:
            # a skip cuts the phase short, never to nothing
            assert b.at_ms - prev > 0
            assert active < nominal
            total_cut += nominal - active
        else:
            assert active == nominal
        total_paused += paused
        prev = b.at_ms
    if timer.ends_at_ms is not None:  # the run's end is known: it ran (or will run) out
        assert timer.ends_at_ms - timer.started_at_ms == (
            timer.pattern.total_ms + total_paused - total_cut
        )


@SETTINGS
@given(runs(kinds=st.sampled_from([TOGGLE, EventKind.PAUSE, EventKind.RESUME]), max_controls=10))
def test_pauses_only_lengthen_the_run_by_the_paused_time(run: Run) -> None:
    timer = run.timer
    if timer.ends_at_ms is None:  # still paused: the end is not known yet
        assert timer.status is Status.PAUSED
        return
    paused = paused_within(pause_intervals(timer), timer.started_at_ms, timer.ends_at_ms)
    assert timer.ends_at_ms - timer.started_at_ms == timer.pattern.total_ms + paused


@SETTINGS
@given(runs(), st.data())
def test_a_pause_shifts_every_later_boundary_by_its_length(run: Run, data: st.DataObject) -> None:
    timer = run.timer
    start = timer.started_at_ms
    horizon = max([start, run.end_t] + [b.at_ms for b in timer.boundaries()])
    p = data.draw(st.integers(start, horizon), label="pause at")
    d = data.draw(st.integers(0, 5_000), label="pause length")
    state = timer.state_at(p)
    if state.status is not Status.RUNNING:
        return  # a pause is only possible while running
    before = [ev for ev in timer.events if ev.at_ms <= p]
    after = [TimerEvent(ev.kind, ev.at_ms + d) for ev in timer.events if ev.at_ms > p]
    paused = Timer(
        timer.pattern,
        start,
        (*before, TimerEvent(EventKind.PAUSE, p), TimerEvent(EventKind.RESUME, p + d), *after),
    )
    # the same run built through the controls
    built = Timer(timer.pattern, start, tuple(before)).pause(p).resume(p + d)
    for ev in after:
        built = apply_control(built, ev.kind, ev.at_ms)
    assert built == paused

    orig = timer.boundaries()
    shifted = paused.boundaries()
    assert len(orig) == len(shifted)
    for a, b in zip(orig, shifted, strict=True):
        assert (a.index, a.skipped, a.last) == (b.index, b.skipped, b.last)
        assert b.at_ms == (a.at_ms if a.at_ms <= p else a.at_ms + d)


@SETTINGS
@given(runs(), st.lists(st.integers(0, 10**9), max_size=20))
def test_phase_at_agrees_with_the_boundaries(run: Run, extra: list[int]) -> None:
    timer = run.timer
    bs = timer.boundaries()
    starts_ = [timer.started_at_ms] + [b.at_ms for b in bs]
    stop_at = next((ev.at_ms for ev in timer.events if ev.kind is EventKind.STOP), None)
    pause_at = timer.events[-1].at_ms if timer.status is Status.PAUSED else None
    for t in sample_instants(run, extra):
        phase = timer.phase_at(t)
        if stop_at is not None and t >= stop_at:
            assert phase is None
            continue
        if pause_at is not None and t >= pause_at:
            # no boundary comes while paused at the end: the paused phase is next
            assert phase is not None and phase.index == len(bs) + 1
            continue
        k = sum(1 for b in bs if b.at_ms <= t) + 1  # phase k: boundary k-1 <= t < boundary k
        if bs and bs[-1].last and t >= bs[-1].at_ms:
            assert phase is None
            assert timer.state_at(t).status is Status.FINISHED
            continue
        assert phase is not None
        assert phase.index == k, t
        assert starts_[k - 1] <= t
        if k <= len(bs):
            assert t < bs[k - 1].at_ms


@SETTINGS
@given(runs(), st.lists(st.integers(0, 10**9), max_size=20))
def test_state_at_matches_reference(run: Run, extra: list[int]) -> None:
    timer = run.timer
    for t in sample_instants(run, extra):
        state = timer.state_at(t)
        ref = ref_at(timer.pattern, timer.started_at_ms, timer.events, t)
        if ref.stopped:
            assert state.status is Status.STOPPED
        elif ref.finished:
            assert state.status is Status.FINISHED
        elif ref.paused:
            assert state.status is Status.PAUSED
            assert state.phase is not None and state.phase.index == ref.idx
            assert state.phase_started_ms == ref.phase_start
            assert state.phase_ends_ms is None
            assert state.remaining_ms == ref.nominal(ref.idx) - ref.active
            assert state.next_boundary == ref.idx
        else:
            assert state.status is Status.RUNNING
            assert state.phase is not None and state.phase.index == ref.idx
            assert state.phase_started_ms == ref.phase_start
            end = ref.seg_start + ref.nominal(ref.idx) - ref.active
            assert state.phase_ends_ms == end
            assert state.remaining_ms == end - t > 0
            assert state.next_boundary == ref.idx
        if state.status in (Status.STOPPED, Status.FINISHED):
            assert state.phase is None and state.next_boundary is None


@SETTINGS
@given(runs(), st.lists(st.integers(0, 10**9), max_size=20))
def test_state_at_is_monotone(run: Run, extra: list[int]) -> None:
    timer = run.timer
    last_index = 0
    ended = False
    for t in sample_instants(run, extra):
        state = timer.state_at(t)
        if state.phase is None:
            ended = True
            continue
        assert not ended, "a phase after the run ended"
        assert state.phase.index >= last_index
        last_index = state.phase.index


@SETTINGS
@given(runs())
def test_skip_never_makes_an_empty_phase(run: Run) -> None:
    timer = run.timer
    for kind, t, accepted in run.tried:
        if kind is EventKind.SKIP and accepted:
            skipped = [b for b in timer.boundaries() if b.at_ms == t]
            assert len(skipped) == 1 and skipped[0].skipped
    # a skip exactly at a boundary (the next phase's first instant) is refused
    for b in timer.boundaries():
        if b.last or (timer.events and b.at_ms < timer.events[-1].at_ms):
            continue
        if timer.state_at(b.at_ms).status is not Status.RUNNING:
            continue
        with pytest.raises(InvalidTimerAction):
            timer.skip(b.at_ms)


@SETTINGS
@given(runs(), st.integers(0, 10_000), st.sampled_from(list(EventKind)))
def test_controls_after_the_end_are_refused(run: Run, later: int, kind: EventKind) -> None:
    timer = run.timer
    if timer.status is Status.STOPPED:
        end = timer.events[-1].at_ms
    elif timer.ends_at_ms is not None:
        end = max(timer.ends_at_ms, timer.events[-1].at_ms if timer.events else 0)
    else:
        return  # still paused: not over
    with pytest.raises(InvalidTimerAction):
        apply_control(timer, kind, end + later)


@SETTINGS
@given(runs())
def test_stop_ends_the_run_with_no_later_boundary(run: Run) -> None:
    timer = run.timer
    t = max(run.end_t, timer.started_at_ms)
    if timer.state_at(t).status not in (Status.RUNNING, Status.PAUSED):
        return
    stopped = timer.stop(t)
    assert stopped.status is Status.STOPPED
    assert stopped.ends_at_ms is None or stopped.ends_at_ms <= t
    assert all(b.at_ms <= t for b in stopped.boundaries())
    assert stopped.next_boundary_after(t) is None
    assert stopped.state_at(t).status is Status.STOPPED
    assert stopped.state_at(t + 10**6).phase is None


@SETTINGS
@given(runs(), st.integers(0, 10**7))
def test_due_lists_each_boundary_once(run: Run, later: int) -> None:
    """Asking what is due after the last alarm sent never repeats or skips an alarm."""
    timer = run.timer
    sent: list[int] = []
    t = timer.started_at_ms
    horizon = max(
        [t + later, run.end_t + 1] + [b.at_ms for b in timer.boundaries()],
    )
    step = max(1, (horizon - t) // 7)
    while t <= horizon:
        for b in timer.due(sent[-1] if sent else 0, t):
            sent.append(b.index)
        t += step
    for b in timer.due(sent[-1] if sent else 0, horizon):
        sent.append(b.index)
    assert sent == [b.index for b in timer.boundaries()]


def test_kinds_of_phases_alternate() -> None:
    p = Pattern(3, 2, 4)
    kinds_ = [p.phase(i).kind for i in range(1, p.boundary_count + 1)]
    assert kinds_ == [PhaseKind.STUDY, PhaseKind.BREAK] * 3 + [PhaseKind.STUDY]


@SETTINGS
@given(long_patterns, starts)
def test_long_breaks_fall_after_every_kth_study_period(pattern: Pattern, start: int) -> None:
    bs = Timer(pattern, start).boundaries()
    assert len(bs) == 2 * pattern.terms - 1
    assert all(a.at_ms < b.at_ms for a, b in itertools.pairwise(bs))
    assert pattern.long_every is not None
    prev, longs = start, 0
    for b in bs:
        length = b.at_ms - prev
        phase = pattern.phase(b.index)
        if phase.kind is PhaseKind.STUDY:
            assert length == pattern.study_ms and not phase.long
        else:
            expect_long = phase.term % pattern.long_every == 0
            assert phase.long == expect_long
            assert length == (pattern.long_break_ms if expect_long else pattern.break_ms)
            assert phase.term < pattern.terms  # no break after the last study period
            longs += expect_long
        prev = b.at_ms
    assert longs == (pattern.terms - 1) // pattern.long_every == pattern.long_break_count
    assert bs[-1].last and bs[-1].at_ms - start == pattern.total_ms


@SETTINGS
@given(long_patterns, starts, st.integers(0, 10**7))
def test_another_run_repeats_the_long_breaks(pattern: Pattern, start: int, gap: int) -> None:
    """Extend starts a new run of the same pattern: its phases are the first run's."""
    first = Timer(pattern, start).boundaries()
    second_start = first[-1].at_ms + gap
    second = Timer(pattern, second_start).boundaries()
    assert [b.at_ms - start for b in first] == [b.at_ms - second_start for b in second]
    assert [pattern.phase(b.index) for b in first] == [pattern.phase(b.index) for b in second]

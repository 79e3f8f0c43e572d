"""Study spans: a run's study time, clipping to a window, and the bound of a session across an
outage. Examples first, then properties over runs with random owner controls."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.errors import InvalidTimerAction
from bot.domain.study import Span, clip, end_after_outage, session_end, study_spans, total
from bot.domain.timer import MINUTE_MS, Pattern, Timer

M = MINUTE_MS
P = Pattern(50 * M, 10 * M, 3)  # study 0-50, break 50-60, study 60-110, break, study 120-170
FAR = 10**9

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- examples ---------------------------------------------------------------------------------


def test_study_phases_only() -> None:
    assert study_spans(Timer(P, 0), FAR) == [(0, 50 * M), (60 * M, 110 * M), (120 * M, 170 * M)]
    assert study_spans(Timer(P, 0), 55 * M) == [(0, 50 * M)]
    assert study_spans(Timer(P, 0), 0) == []


def test_a_run_started_later_is_shifted() -> None:
    assert study_spans(Timer(P, 7), 7 + 60 * M) == [(7, 7 + 50 * M)]


def test_paused_until_now() -> None:
    paused = Timer(P, 0).pause(10 * M)
    assert study_spans(paused, 10 * M) == [(0, 10 * M)]
    assert study_spans(paused, 500 * M) == [(0, 10 * M)]  # however long it stays paused


def test_clip_and_total() -> None:
    assert clip([(0, 10), (20, 30)], 5, 25) == [(5, 10), (20, 25)]
    assert clip([(0, 10)], 10, 20) == []
    assert clip([], 0, 10) == []
    assert total([(0, 10), (20, 25)]) == 15
    assert total([]) == 0


def test_session_end_never_before_its_start() -> None:
    assert session_end(100, 250) == 250
    assert session_end(100, 40) == 100


def test_outage_bound() -> None:
    # the last stamp says the member was there until 500; the bot came back at 900
    assert end_after_outage(100, 500, 900) == 500
    # no stamp: only what was already accounted
    assert end_after_outage(100, None, 900) == 100
    # a stamp older than the session (it opened after the last stamp): nothing more
    assert end_after_outage(100, 50, 900) == 100
    # a stamp "from the future" (clocks): never past now
    assert end_after_outage(100, 2000, 900) == 900


# -- properties -------------------------------------------------------------------------------

patterns = st.builds(
    Pattern,
    st.integers(1, 60).map(lambda m: m * M),
    st.integers(1, 30).map(lambda m: m * M),
    st.integers(1, 4),
)


@st.composite
def timers(draw: st.DrawFn) -> Timer:
    """A run with random controls; the ones the timer refuses are left out."""
    timer = Timer(draw(patterns), draw(st.integers(0, 10**6)))
    at = timer.started_at_ms
    for _ in range(draw(st.integers(0, 8))):
        at += draw(st.integers(0, 90 * M))
        control = draw(st.sampled_from(["pause", "resume", "skip", "stop"]))
        try:
            timer = getattr(timer, control)(at)
        except InvalidTimerAction:
            continue
    return timer


def last_event_ms(timer: Timer) -> int:
    return timer.events[-1].at_ms if timer.events else timer.started_at_ms


def well_formed(spans: list[Span]) -> bool:
    return all(s < e for s, e in spans) and all(a[1] <= b[0] for a, b in pairwise(spans))


def as_spans(points: list[int]) -> list[Span]:
    """Sorted, disjoint, non-empty spans from distinct instants taken two by two."""
    ends = sorted(set(points))
    return list(zip(ends[::2], ends[1::2], strict=False))


spans_lists = st.lists(st.integers(-1000, 1000), max_size=20).map(as_spans)


@SETTINGS
@given(timers(), st.integers(0, 1000 * M))
def test_study_spans_are_sorted_disjoint_and_inside_the_run(timer: Timer, after: int) -> None:
    until = last_event_ms(timer) + after
    spans = study_spans(timer, until)
    assert well_formed(spans)
    assert all(timer.started_at_ms <= s and e <= until for s, e in spans)


@SETTINGS
@given(timers(), st.integers(0, 1000 * M))
def test_a_run_never_studies_more_than_its_study_phases(timer: Timer, after: int) -> None:
    spans = study_spans(timer, last_event_ms(timer) + after)
    assert total(spans) <= timer.pattern.terms * timer.pattern.study_ms


@SETTINGS
@given(st.builds(Timer, patterns, st.integers(0, 10**6)))
def test_an_uncontrolled_run_studies_exactly_its_study_phases(timer: Timer) -> None:
    spans = study_spans(timer, FAR)
    assert total(spans) == timer.pattern.terms * timer.pattern.study_ms
    assert len(spans) == timer.pattern.terms


@SETTINGS
@given(timers(), st.integers(0, 500 * M), st.integers(0, 500 * M))
def test_accounting_in_steps_counts_what_accounting_at_once_does(
    timer: Timer, first: int, second: int
) -> None:
    """Crediting up to one instant, then to a later one, adds up to crediting once: the
    spans up to the earlier instant are those up to the later one, clipped."""
    early = last_event_ms(timer) + first
    late = early + second
    assert study_spans(timer, early) == clip(study_spans(timer, late), 0, early)


@SETTINGS
@given(spans_lists, st.integers(-1200, 1200), st.integers(0, 2400))
def test_clipped_spans_never_exceed_the_window(spans: list[Span], start: int, width: int) -> None:
    end = start + width
    clipped = clip(spans, start, end)
    assert well_formed(clipped)
    assert all(start <= s and e <= end for s, e in clipped)
    assert total(clipped) <= min(width, total(spans))
    assert clip(clipped, start, end) == clipped


@SETTINGS
@given(spans_lists, st.lists(st.integers(-1200, 1200), min_size=2, max_size=6))
def test_clipping_to_adjacent_windows_adds_up(spans: list[Span], cuts: list[int]) -> None:
    """Days of a week, weeks of a month: the parts of contiguous windows sum to the whole."""
    cuts = sorted(cuts)
    parts = sum(total(clip(spans, a, b)) for a, b in pairwise(cuts))
    assert parts == total(clip(spans, cuts[0], cuts[-1]))


@SETTINGS
@given(st.integers(0, 10**9), st.none() | st.integers(0, 2 * 10**9), st.integers(0, 10**9))
def test_a_session_across_an_outage_ends_between_its_start_and_now(
    since: int, alive: int | None, later: int
) -> None:
    now = since + later
    end = end_after_outage(since, alive, now)
    assert since <= end <= now
    if alive is None or alive <= since:
        assert end == since
    else:
        assert end == min(alive, now)

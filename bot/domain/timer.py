"""The shared study timer as a pure function of (pattern, start, control events, instant).

Nothing here counts down. Every question ("which phase is it?", "when is the next alarm?") is
answered by replaying the owner's control events over the pattern, so a restart, a reconnect
or a late wake-up cannot make the timer drift. Instants are integer milliseconds since the
Unix epoch: exact arithmetic, so "a pause of d shifts every later boundary by exactly d"
holds to the millisecond.

A run of ``terms`` = n is the phases study₁ break₁ study₂ … breakₙ₋₁ studyₙ. Boundary k
(1 … 2n−1) is the end of phase k; the last boundary ends the run. A pattern may have a long
break: break j (the one after study period j) is long when j is a multiple of ``long_every``;
the last study period has no break after it, so it never does.

Three modes share this model:

- *pomodoro*: every phase has its fixed length.
- *flowtime*: a study period lasts until the owner calls the break (a ``BREAK`` event), at
  most ``study_ms``; the break after it lasts ``1/break_share`` of the time actually studied
  (pauses not counted), kept within 1–30 minutes. Until the owner calls it, the rest of the
  run is projected as if every study period ran to its longest.
- *countup*: one stretch of study counted up, with a presence check-in every ``study_ms``:
  ``terms`` check-ins at most, all of them study phases, no breaks. The owner ends it with an
  ``END`` event, which closes the run at that instant with the check-ins so far; the run's
  end (kings, refunds, ratings) follows as after its last check-in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from bot.domain.errors import InvalidTimerAction, ValidationError

MINUTE_MS = 60_000

STUDY_MINUTES = (1, 180)
BREAK_MINUTES = (1, 60)
TERMS = (1, 12)
LONG_BREAK_MINUTES = (1, 60)
LONG_EVERY = (2, 12)
# flowtime: the break is one ``break_share``-th of the study period just ended, within bounds
BREAK_SHARE = (2, 10)
DEFAULT_BREAK_SHARE = 5
FLOW_BREAK_MINUTES = (1, 30)
# count-up: a presence check-in every ``check_every`` minutes
CHECK_EVERY_MINUTES = (10, 120)

# what a member gets who leaves an option out, per mode
POMODORO_DEFAULTS = (25, 5, 4)  # study, break, terms
FLOWTIME_DEFAULTS = (120, 4)  # longest study period, study periods
COUNTUP_DEFAULTS = (30, 12)  # check every, check-ins at most


class Mode(StrEnum):
    POMODORO = "pomodoro"
    FLOWTIME = "flowtime"
    COUNTUP = "countup"


class PhaseKind(StrEnum):
    STUDY = "study"
    BREAK = "break"


class EventKind(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    SKIP = "skip"
    STOP = "stop"
    BREAK = "break"  # flowtime: the owner ends the study period now
    END = "end"  # count-up: the owner ends the run now, with the check-ins so far


class Status(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"  # the last boundary has passed
    STOPPED = "stopped"  # the owner stopped the run early


@dataclass(frozen=True, slots=True)
class Pattern:
    study_ms: int
    break_ms: int
    terms: int
    # a long break after every ``long_every``-th study period; both set or neither
    long_break_ms: int | None = None
    long_every: int | None = None
    mode: Mode = Mode.POMODORO
    # flowtime only: the break is this fraction's denominator of the study period before it
    break_share: int | None = None

    def __post_init__(self) -> None:
        if self.study_ms <= 0 or self.break_ms <= 0:
            raise ValidationError("pattern", "non_positive")
        if (self.break_share is not None) != (self.mode is Mode.FLOWTIME):
            raise ValidationError("break_share", "mode")
        if self.break_share is not None and self.break_share < 1:
            raise ValidationError("pattern", "non_positive")
        if self.mode is not Mode.POMODORO and self.long_every is not None:
            raise ValidationError("long_break", "mode")
        if not TERMS[0] <= self.terms <= TERMS[1]:
            raise ValidationError("terms", "out_of_range", min=TERMS[0], max=TERMS[1])
        if (self.long_break_ms is None) != (self.long_every is None):
            raise ValidationError("long_break", "pair")
        if self.long_break_ms is not None and self.long_break_ms <= 0:
            raise ValidationError("pattern", "non_positive")
        if self.long_every is not None and self.long_every < 1:
            raise ValidationError("pattern", "non_positive")

    @classmethod
    def from_minutes(
        cls,
        study: int,
        break_: int,
        terms: int,
        long_break: int | None = None,
        long_every: int | None = None,
    ) -> Pattern:
        """The pattern a user asked for, checked against the product's ranges. A long break
        needs both its length and how often it comes, or neither."""
        if (long_break is None) != (long_every is None):
            raise ValidationError("long_break", "pair")
        checks: list[tuple[str, int, tuple[int, int]]] = [
            ("study", study, STUDY_MINUTES),
            ("break", break_, BREAK_MINUTES),
            ("terms", terms, TERMS),
        ]
        if long_break is not None and long_every is not None:
            checks.append(("long_break", long_break, LONG_BREAK_MINUTES))
            checks.append(("long_every", long_every, LONG_EVERY))
        for name, value, (lo, hi) in checks:
            if not lo <= value <= hi:
                raise ValidationError(name, "out_of_range", min=lo, max=hi, value=value)
        return cls(
            study * MINUTE_MS,
            break_ * MINUTE_MS,
            terms,
            long_break * MINUTE_MS if long_break is not None else None,
            long_every,
        )

    @classmethod
    def for_mode(
        cls,
        mode: Mode,
        *,
        study: int | None = None,
        break_: int | None = None,
        terms: int | None = None,
        long_break: int | None = None,
        long_every: int | None = None,
        break_share: int | None = None,
        check_every: int | None = None,
    ) -> Pattern:
        """The pattern a member asked for in ``mode``, options left out taking the mode's
        defaults. An option another mode uses is refused rather than ignored, so what the
        room does is what its owner asked for."""
        given = {
            "study": study,
            "break": break_,
            "long_break": long_break,
            "long_every": long_every,
            "break_share": break_share,
            "check_every": check_every,
        }
        allowed = {
            Mode.POMODORO: {"study", "break", "long_break", "long_every"},
            Mode.FLOWTIME: {"study", "break_share"},
            Mode.COUNTUP: {"check_every"},
        }[mode]
        for name, value in given.items():
            if value is not None and name not in allowed:
                raise ValidationError(name, "not_in_mode", mode=mode.value)
        if mode is Mode.POMODORO:
            d_study, d_break, d_terms = POMODORO_DEFAULTS
            return cls.from_minutes(
                d_study if study is None else study,
                d_break if break_ is None else break_,
                d_terms if terms is None else terms,
                long_break,
                long_every,
            )
        checks: list[tuple[str, int, tuple[int, int]]]
        if mode is Mode.FLOWTIME:
            longest = FLOWTIME_DEFAULTS[0] if study is None else study
            n = FLOWTIME_DEFAULTS[1] if terms is None else terms
            share = DEFAULT_BREAK_SHARE if break_share is None else break_share
            checks = [
                ("study", longest, STUDY_MINUTES),
                ("terms", n, TERMS),
                ("break_share", share, BREAK_SHARE),
            ]
        else:
            every = COUNTUP_DEFAULTS[0] if check_every is None else check_every
            n = COUNTUP_DEFAULTS[1] if terms is None else terms
            checks = [("check_every", every, CHECK_EVERY_MINUTES), ("terms", n, TERMS)]
        for name, value, (lo, hi) in checks:
            if not lo <= value <= hi:
                raise ValidationError(name, "out_of_range", min=lo, max=hi, value=value)
        if mode is Mode.FLOWTIME:
            study_ms = longest * MINUTE_MS
            # break_ms holds the longest break the pattern can give (what SQL keeps)
            return cls(study_ms, flow_break_ms(study_ms, share), n, None, None, mode, share)
        every_ms = every * MINUTE_MS
        return cls(every_ms, every_ms, n, None, None, mode)

    @property
    def has_long_breaks(self) -> bool:
        return self.long_break_ms is not None and self.long_every is not None

    def is_long_break(self, term: int) -> bool:
        """Whether the break after study period ``term`` is a long one (the last study
        period has no break after it)."""
        return (
            self.long_every is not None
            and self.long_break_ms is not None
            and 1 <= term < self.terms
            and term % self.long_every == 0
        )

    def break_after(self, term: int) -> int:
        """The length of the break after study period ``term``."""
        if self.is_long_break(term):
            assert self.long_break_ms is not None
            return self.long_break_ms
        return self.break_ms

    @property
    def boundary_count(self) -> int:
        if self.mode is Mode.COUNTUP:
            return self.terms  # one per check-in
        return 2 * self.terms - 1

    @property
    def check_every_ms(self) -> int | None:
        """Count-up: how often members check in."""
        return self.study_ms if self.mode is Mode.COUNTUP else None

    def flow_break_after(self, studied_ms: int) -> int:
        """Flowtime: the break after a study period of ``studied_ms``."""
        assert self.break_share is not None
        return flow_break_ms(studied_ms, self.break_share)

    def phase(self, index: int) -> Phase:
        """Phase ``index`` (1-based; phase k ends at boundary k). In flowtime a break's
        length is its longest here; the timer's boundaries give the real one."""
        if not 1 <= index <= self.boundary_count:
            raise IndexError(index)
        if self.mode is Mode.COUNTUP:
            return Phase(index, PhaseKind.STUDY, index, self.study_ms)
        if index % 2 == 1:
            return Phase(index, PhaseKind.STUDY, (index + 1) // 2, self.study_ms)
        term = index // 2
        return Phase(
            index, PhaseKind.BREAK, term, self.break_after(term), long=self.is_long_break(term)
        )

    @property
    def long_break_count(self) -> int:
        return sum(1 for j in range(1, self.terms) if self.is_long_break(j))

    @property
    def total_ms(self) -> int:
        """The run's length with no controls (flowtime: at most this)."""
        if self.mode is Mode.COUNTUP:
            return self.terms * self.study_ms
        return self.terms * self.study_ms + sum(self.break_after(j) for j in range(1, self.terms))


def flow_break_ms(studied_ms: int, break_share: int) -> int:
    """One ``break_share``-th of ``studied_ms``, to the whole second, within 1–30 minutes."""
    lo, hi = FLOW_BREAK_MINUTES
    share = studied_ms // break_share // 1000 * 1000
    return max(lo * MINUTE_MS, min(hi * MINUTE_MS, share))


@dataclass(frozen=True, slots=True)
class Phase:
    index: int  # 1-based; boundary ``index`` ends it
    kind: PhaseKind
    term: int  # which study period (1 … n) this phase is or follows
    nominal_ms: int
    long: bool = False  # a long break


@dataclass(frozen=True, slots=True)
class TimerEvent:
    kind: EventKind
    at_ms: int


@dataclass(frozen=True, slots=True)
class Boundary:
    index: int  # 1 … 2n−1: alarm #index
    at_ms: int
    ends: PhaseKind  # the kind of phase this boundary ends
    term: int
    skipped: bool = False  # the owner ended the phase early
    last: bool = False  # ends the run
    # flowtime: the owner called the break (``BREAK``); False when the study period ran to
    # its longest (or for any other boundary)
    called: bool = False


@dataclass(frozen=True, slots=True)
class TimerState:
    """What the timer shows at one instant."""

    status: Status
    phase: Phase | None  # None once finished or stopped
    phase_started_ms: int | None
    phase_ends_ms: int | None  # None while paused, finished or stopped
    remaining_ms: int | None  # of the current phase; frozen while paused
    next_boundary: int | None  # index of the next alarm, None when none is coming


@dataclass(frozen=True, slots=True)
class _Replay:
    boundaries: tuple[Boundary, ...]  # known so far (passed, and projected while running)
    status: Status
    phase_index: int | None
    phase_started_ms: int | None
    phase_end_ms: int | None  # projected end of the current phase if running
    paused_since_ms: int | None
    remaining_ms: int | None


@dataclass(frozen=True)
class Timer:
    """One run: the pattern, when it started and the owner's controls since, in order."""

    pattern: Pattern
    started_at_ms: int
    events: tuple[TimerEvent, ...] = field(default=())

    def __post_init__(self) -> None:
        last = self.started_at_ms
        for ev in self.events:
            if ev.at_ms < last:
                raise ValueError("timer events must be in time order, after the start")
            last = ev.at_ms

    # -- queries ---------------------------------------------------------------------------

    def boundaries(self) -> tuple[Boundary, ...]:
        """Every boundary known from the events: those passed and, unless paused or ended,
        the projected rest. Strictly increasing in time."""
        return self._replay.boundaries

    def state_at(self, now_ms: int) -> TimerState:
        """The timer as it is at ``now_ms``, counting only the events up to that instant."""
        if now_ms < self.started_at_ms:
            raise ValueError("instant before the run started")
        timer = self if self._events_until(now_ms) == len(self.events) else self._until(now_ms)
        r = timer._replay
        if r.status is Status.STOPPED:
            return TimerState(Status.STOPPED, None, None, None, None, None)
        # the running projection may have passed more boundaries by now_ms
        passed = [b for b in r.boundaries if b.at_ms <= now_ms]
        if r.status is Status.PAUSED:
            # replay stopped at the pause; no boundary after it is known
            assert r.phase_index is not None
            phase = self.pattern.phase(r.phase_index)
            return TimerState(
                Status.PAUSED, phase, r.phase_started_ms, None, r.remaining_ms, phase.index
            )
        if (passed and passed[-1].last) or r.status is Status.FINISHED:
            # the last boundary passed, or a count-up run's owner ended it
            return TimerState(Status.FINISHED, None, None, None, None, None)
        index = passed[-1].index + 1 if passed else 1
        started = passed[-1].at_ms if passed else self.started_at_ms
        end = next(b.at_ms for b in r.boundaries if b.index == index)
        phase = self.pattern.phase(index)
        return TimerState(Status.RUNNING, phase, started, end, end - now_ms, index)

    def phase_at(self, now_ms: int) -> Phase | None:
        return self.state_at(now_ms).phase

    def next_boundary_after(self, now_ms: int) -> Boundary | None:
        """The first boundary strictly after ``now_ms`` given the events so far, if known."""
        for b in self.boundaries():
            if b.at_ms > now_ms:
                return b
        return None

    def due(self, after_index: int, now_ms: int) -> list[Boundary]:
        """Boundaries with index > ``after_index`` whose instant has come by ``now_ms``."""
        return [b for b in self.boundaries() if b.index > after_index and b.at_ms <= now_ms]

    @property
    def status(self) -> Status:
        """Status once every event so far has been applied (not tied to an instant)."""
        return self._replay.status

    @property
    def ends_at_ms(self) -> int | None:
        """When the run's last boundary falls, if known (running, or already passed)."""
        bs = self._replay.boundaries
        return bs[-1].at_ms if bs and bs[-1].last else None

    # -- owner controls: each returns a new Timer, or raises with nothing changed ------------

    def pause(self, now_ms: int) -> Timer:
        state = self._require_current(now_ms)
        if state.status is Status.PAUSED:
            raise InvalidTimerAction("already_paused")
        return self._with(EventKind.PAUSE, now_ms)

    def resume(self, now_ms: int) -> Timer:
        state = self._require_current(now_ms)
        if state.status is not Status.PAUSED:
            raise InvalidTimerAction("not_paused")
        return self._with(EventKind.RESUME, now_ms)

    def skip(self, now_ms: int) -> Timer:
        """End the current phase now (an alarm falls now). Skipping while paused resumes.
        A count-up run has no phase to skip: a check-in skipped would be one nobody could
        dismiss in time; its owner ends the run with ``stop`` (``end``) instead."""
        state = self._require_current(now_ms)
        if self.pattern.mode is Mode.COUNTUP:
            raise InvalidTimerAction("countup_use_stop")
        if (
            self.pattern.mode is Mode.FLOWTIME
            and state.phase is not None
            and state.phase.kind is PhaseKind.STUDY
        ):
            raise InvalidTimerAction("flow_use_break")  # a study period ends by its break
        self._require_started_phase(state, now_ms)
        return self._with(EventKind.SKIP, now_ms)

    def call_break(self, now_ms: int) -> Timer:
        """Flowtime: the owner ends the study period now; its break (or, after the last
        study period, the run's end) begins. Calling it while paused resumes."""
        state = self._require_current(now_ms)
        if self.pattern.mode is not Mode.FLOWTIME:
            raise InvalidTimerAction("not_flowtime")
        if state.phase is None or state.phase.kind is not PhaseKind.STUDY:
            raise InvalidTimerAction("not_studying")
        self._require_started_phase(state, now_ms)
        return self._with(EventKind.BREAK, now_ms)

    def stop(self, now_ms: int) -> Timer:
        self._require_current(now_ms)
        return self._with(EventKind.STOP, now_ms)

    def ends_with_results(self, now_ms: int) -> bool:
        """Whether the owner stopping now ends the run with its results (kings, refunds,
        ratings): a count-up run once a check-in has fallen, for that is how it is meant
        to end. Any other stop ends the run early, with none."""
        return self.pattern.mode is Mode.COUNTUP and bool(self._until(now_ms).passed(now_ms))

    def end(self, now_ms: int) -> Timer:
        """Count-up: the run ends now with the check-ins so far (see ``ends_with_results``)."""
        self._require_current(now_ms)
        if not self.ends_with_results(now_ms):
            raise InvalidTimerAction("nothing_to_end")
        return self._with(EventKind.END, now_ms)

    def passed(self, now_ms: int) -> tuple[Boundary, ...]:
        """The boundaries that have fallen by ``now_ms``."""
        return tuple(b for b in self.boundaries() if b.at_ms <= now_ms)

    @property
    def boundary_count(self) -> int:
        """How many alarms the run has: its pattern's, or the check-ins a count-up run had
        when its owner ended it."""
        if self.events and self.events[-1].kind is EventKind.END:
            return len(self._replay.boundaries)
        return self.pattern.boundary_count

    @property
    def ended_early_at_ms(self) -> int | None:
        """When the owner ended the run (stopped it, or ended a count-up run), if they did."""
        if self.events and self.events[-1].kind in (EventKind.STOP, EventKind.END):
            return self.events[-1].at_ms
        return None

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _require_started_phase(state: TimerState, now_ms: int) -> None:
        if state.phase_started_ms is not None and now_ms <= state.phase_started_ms:
            # a zero-length phase would give two alarms at one instant
            raise InvalidTimerAction("phase_just_started")

    def _require_current(self, now_ms: int) -> TimerState:
        if self.events and now_ms < self.events[-1].at_ms:
            raise ValueError("control before the last event")
        if now_ms < self.started_at_ms:
            raise ValueError("control before the run started")
        state = self.state_at(now_ms)
        if state.status in (Status.FINISHED, Status.STOPPED):
            raise InvalidTimerAction("not_running")
        return state

    def _with(self, kind: EventKind, at_ms: int) -> Timer:
        return Timer(self.pattern, self.started_at_ms, (*self.events, TimerEvent(kind, at_ms)))

    def _events_until(self, now_ms: int) -> int:
        n = 0
        for ev in self.events:
            if ev.at_ms > now_ms:
                break
            n += 1
        return n

    def _until(self, now_ms: int) -> Timer:
        return Timer(self.pattern, self.started_at_ms, self.events[: self._events_until(now_ms)])

    @cached_property
    def _replay(self) -> _Replay:
        p = self.pattern
        n = p.boundary_count
        out: list[Boundary] = []
        idx = 1  # current phase
        start = self.started_at_ms  # wall instant the current phase began
        paused_in_phase = 0  # ms paused during the current phase (closed pauses)
        paused_since: int | None = None
        studied = p.study_ms  # flowtime: what the last study period lasted, pauses left out

        def length(index: int, studied_before: int) -> int:
            """Phase ``index``'s length: fixed, but a flowtime break's follows the study
            period before it."""
            phase = p.phase(index)
            if p.mode is Mode.FLOWTIME and phase.kind is PhaseKind.BREAK:
                return p.flow_break_after(studied_before)
            return phase.nominal_ms

        def boundary(index: int, at: int, skipped: bool = False, called: bool = False) -> Boundary:
            ph = p.phase(index)
            return Boundary(index, at, ph.kind, ph.term, skipped, index == n, called)

        def end_phase(at: int) -> None:
            nonlocal idx, start, paused_in_phase, studied
            if p.phase(idx).kind is PhaseKind.STUDY:
                studied = at - start - paused_in_phase
            idx, start, paused_in_phase = idx + 1, at, 0

        for ev in self.events:
            # phases that ended (while running) before this event
            while paused_since is None and idx <= n:
                end = start + length(idx, studied) + paused_in_phase
                if end > ev.at_ms:
                    break
                out.append(boundary(idx, end))
                end_phase(end)
            if idx > n:
                raise ValueError("timer event after the run finished")
            at = ev.at_ms
            if ev.kind is EventKind.PAUSE:
                if paused_since is not None:
                    raise ValueError("pause while paused")
                paused_since = at
            elif ev.kind is EventKind.RESUME:
                if paused_since is None:
                    raise ValueError("resume while running")
                paused_in_phase += at - paused_since
                paused_since = None
            elif ev.kind in (EventKind.SKIP, EventKind.BREAK):
                if at <= start:
                    raise ValueError("skip at the instant the phase started")
                if paused_since is not None:  # the pause ends here, and is not study
                    paused_in_phase += at - paused_since
                    paused_since = None
                skip = ev.kind is EventKind.SKIP
                out.append(boundary(idx, at, skipped=skip, called=not skip))
                end_phase(at)
                if idx > n:
                    return _Replay(tuple(out), Status.FINISHED, None, None, None, None, None)
            elif ev.kind is EventKind.END:
                return _Replay(tuple(out), Status.FINISHED, None, None, None, None, None)
            else:  # STOP
                return _Replay(tuple(out), Status.STOPPED, None, None, None, None, None)

        if idx > n:
            return _Replay(tuple(out), Status.FINISHED, None, None, None, None, None)
        if paused_since is not None:
            nominal_end = start + length(idx, studied) + paused_in_phase
            remaining = nominal_end - paused_since
            return _Replay(tuple(out), Status.PAUSED, idx, start, None, paused_since, remaining)
        # running: project the rest with no further controls (flowtime: every study period
        # running to its longest)
        current_end = start + length(idx, studied) + paused_in_phase
        end = current_end
        projected = [boundary(idx, end)]
        if p.phase(idx).kind is PhaseKind.STUDY:
            studied = current_end - start - paused_in_phase
        for j in range(idx + 1, n + 1):
            end += length(j, studied)
            if p.phase(j).kind is PhaseKind.STUDY:
                studied = p.study_ms
            projected.append(boundary(j, end))
        status = Status.RUNNING
        return _Replay(
            tuple(out + projected), status, idx, start, current_end, None, current_end - start
        )

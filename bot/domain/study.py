"""Study time as spans of time: when a run's timer counted study, and which part of a member's
stay in the voice channel falls in it.

A span is ``(start, end)`` in epoch ms, half-open: ``[start, end)``. The timer is a pure
function of its pattern, start and the owner's controls, so the study spans of any past
interval are known exactly; a member's study time is their stay clipped to those spans, and a
ranking's or a profile's is that clipped again to the period shown. Everything here is
arithmetic on instants given as arguments: the services decide *when* to account.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.domain.timer import EventKind, PhaseKind, Timer

Span = tuple[int, int]  # [start, end) in epoch ms


def _subtract(spans: Sequence[Span], holes: Sequence[Span]) -> list[Span]:
    """``spans`` with every part inside a hole removed (both sorted, non-overlapping)."""
    out: list[Span] = []
    for start, end in spans:
        cursor = start
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                out.append((cursor, h_start))
            cursor = max(cursor, h_end)
            if cursor >= end:
                break
        if cursor < end:
            out.append((cursor, end))
    return out


def study_spans(timer: Timer, until_ms: int) -> list[Span]:
    """When the run's timer counted study time, up to ``until_ms``: its study phases, minus
    the time it was paused, and nothing after a stop. Sorted, non-overlapping, non-empty.

    Breaks do not count, and neither does paused time: a member sitting in voice while the
    owner paused is not studying by the room's clock."""
    bounds = timer.boundaries()
    stop_at = timer.ended_early_at_ms
    phases: list[tuple[int, int, int]] = []  # (phase index, start, end)
    start = timer.started_at_ms
    for b in bounds:
        phases.append((b.index, start, b.at_ms))
        start = b.at_ms
    if not (bounds and bounds[-1].last):
        # a running timer projects every boundary, so this is the phase a paused or stopped
        # run is in: it lasts until the stop, or (paused) for as long as we look
        end = stop_at if stop_at is not None else until_ms
        phases.append((len(bounds) + 1, start, end))
    study = [
        (s, min(e, until_ms))
        for index, s, e in phases
        if timer.pattern.phase(index).kind is PhaseKind.STUDY and s < min(e, until_ms)
    ]
    pauses: list[Span] = []
    paused_at: int | None = None
    for ev in timer.events:
        if ev.kind is EventKind.PAUSE:
            paused_at = ev.at_ms
        elif paused_at is not None:  # resume, skip (which resumes) or stop
            pauses.append((paused_at, ev.at_ms))
            paused_at = None
    if paused_at is not None:
        pauses.append((paused_at, max(paused_at, until_ms)))
    return [(s, e) for s, e in _subtract(study, pauses) if s < e]


def clip(spans: Iterable[Span], start_ms: int, end_ms: int) -> list[Span]:
    """The parts of ``spans`` inside ``[start_ms, end_ms)``, empty parts left out.

    One rule for every window: a member's stay (what of the run's study they sat through)
    and a period (what of their study fell in a day, a week or a month)."""
    out = []
    for s, e in spans:
        lo, hi = max(s, start_ms), min(e, end_ms)
        if lo < hi:
            out.append((lo, hi))
    return out


def total(spans: Iterable[Span]) -> int:
    """How long ``spans`` last together, in ms (they are assumed not to overlap)."""
    return sum(e - s for s, e in spans)


def session_end(since_ms: int, at_ms: int) -> int:
    """Up to when a session accounted up to ``since_ms`` is credited when it ends at
    ``at_ms``: never before ``since_ms``, so a leave reported for an earlier instant (an
    event late, or accounting already moved on) credits nothing rather than a negative span."""
    return max(since_ms, at_ms)


def end_after_outage(since_ms: int, alive_ms: int | None, now_ms: int) -> int:
    """Up to when a session is credited whose member left while the bot was down.

    ``alive_ms`` is the bot's last "still up" stamp on the room (None when it never stamped
    one). The member was there at least until that stamp, so the session lasted until then;
    when they left after it is unknown, so nothing past it is counted. The result lies in
    ``[since_ms, now_ms]`` whenever ``since_ms <= now_ms``: never before the session was
    accounted to, never in the future."""
    return min(now_ms, max(since_ms, alive_ms if alive_ms is not None else since_ms))

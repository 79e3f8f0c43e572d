"""A room's live run as one typed aggregate: its timer, what has been announced, what is still
owed to the channel, when each alarm appeared, the vote, the outcome.

The session store persists a ``Run`` whole (one read and one write per wake-up); the timer
service changes it only through the methods here, each returning a new value. What is owed is
recorded *before* it is delivered and settled once *after*: a crash in between leaves it owed,
and the next wake-up delivers it (the Discord side is idempotent per announcement).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

from bot.domain.alarms import MemberResult, rang_at
from bot.domain.timer import Boundary, Timer

if TYPE_CHECKING:
    from bot.domain.liveness import Liveness


class RunStatus(StrEnum):
    """A run's durable record: running until its end is settled (``FINISHED``) or it is
    stopped early or dropped with its room (``STOPPED``). A pause is live timer state only."""

    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True, order=True)
class RoomKey:
    """A room, with the guild it is in (live state is grouped, and sharded, by guild)."""

    guild_id: int
    room_id: int

    def __str__(self) -> str:
        return f"{self.guild_id}:{self.room_id}"

    @classmethod
    def parse(cls, text: str) -> RoomKey:
        g, r = text.split(":")
        return cls(int(g), int(r))


@dataclass(frozen=True, slots=True)
class Owed:
    """An announcement claimed for delivery and not yet delivered: the attempt in progress,
    the process making it and when it began."""

    attempt: int
    by: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What the end of a run announces: the kings, everyone's result, the refunds paid."""

    kings: tuple[int, ...]
    results: tuple[MemberResult, ...]
    refunds: Mapping[int, int] = field(default_factory=dict)  # user id → points refunded


def _frozen(mapping: Mapping[int, int] | Mapping[int, Owed]) -> Mapping[int, object]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Run:
    run_id: int
    timer: Timer
    fired_through: int = 0  # the highest boundary index claimed for posting
    finished: bool = False  # kings and refunds are settled (the vote may be open)
    vote_until_ms: int | None = None  # the extension vote closes then
    owed_alarms: Mapping[int, Owed] = field(default_factory=dict)  # boundary index → attempt
    owed_results: Owed | None = None
    outcome: RunOutcome | None = None  # kept while the results are owed
    reached: Mapping[int, int] = field(default_factory=dict)  # boundary index → appeared at
    # which run of its room this is (1, 2, … as SQL numbers them); None for a run stored
    # before the number was kept with it, until the next start fills it in from SQL
    run_no: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "owed_alarms", _frozen(self.owed_alarms))
        object.__setattr__(self, "reached", _frozen(self.reached))

    # -- questions ----------------------------------------------------------------------

    @property
    def owes_anything(self) -> bool:
        return bool(self.owed_alarms) or self.owed_results is not None

    @property
    def later_run(self) -> bool:
        """Not the room's first run: its alarms say which run they belong to, so they cannot
        be taken for the earlier runs' alarms of the same number."""
        return self.run_no is not None and self.run_no > 1

    def rang_at(self, boundary: Boundary) -> int:
        """When the alarm of ``boundary`` reached the channel (its boundary's instant while
        no delivery is known)."""
        return rang_at(boundary, self.reached)

    def boundary(self, index: int) -> Boundary:
        return self.timer.boundaries()[index - 1]

    def schedule_fixed_until(self, now_ms: int) -> int:
        """Up to when the run's schedule is known for good: its start, the owner's last
        control, an alarm already fired and a boundary already passed, whichever came last.
        A flowtime study period that ran to its longest fixes its end (and so its break's)
        when it falls, with no control; only what comes after this instant may still move."""
        timer = self.timer
        fixed = timer.events[-1].at_ms if timer.events else timer.started_at_ms
        bounds = timer.boundaries()
        fired = min(self.fired_through, len(bounds))
        if fired:
            fixed = max(fixed, bounds[fired - 1].at_ms)
        passed = timer.passed(now_ms)
        if passed:
            fixed = max(fixed, passed[-1].at_ms)
        return fixed

    def due(self, now_ms: int) -> list[Boundary]:
        """Boundaries that have come and are not claimed yet, in order."""
        return self.timer.due(self.fired_through, now_ms)

    @property
    def all_fired(self) -> bool:
        return self.fired_through >= self.timer.boundary_count

    def last_alarm_settled_ms(self, grace_ms: int) -> int | None:
        """When the last alarm's grace window ends, counted from when it appeared; None while
        it is still owed (its grace has not begun)."""
        last = self.timer.boundaries()[-1]
        if last.index in self.owed_alarms:
            return None
        return self.rang_at(last) + grace_ms

    def owed_by_others(self, me: str) -> bool:
        """Whether a claim of another process is owed (who is alive then matters)."""
        owed = [*self.owed_alarms.values(), *([self.owed_results] if self.owed_results else [])]
        return any(o.by != me for o in owed)

    def owed_retry_ms(self, retry_ms: int, liveness: Liveness | None = None) -> int | None:
        """When what is owed is next tried: ``retry_ms`` after the oldest attempt began, so a
        restart or a passing failure never leaves it waiting for a later event. Knowing who is
        alive (``liveness``), another process's claim is looked at when its process's beat
        runs out instead: at once if it is gone."""
        owed = [*self.owed_alarms.values(), *([self.owed_results] if self.owed_results else [])]
        if not owed:
            return None
        if liveness is None:
            return min(o.at_ms for o in owed) + retry_ms
        return min(liveness.next_try_ms(o, retry_ms) for o in owed)

    def next_wakeup(
        self,
        grace_ms: int,
        retry_ms: int,
        woke_ms: int | None = None,
        liveness: Liveness | None = None,
    ) -> int | None:
        """When the room next needs attention: a retry of what is owed, its next boundary,
        the end of the last alarm's grace window, or the end of the vote. None while paused
        with nothing owed.

        ``woke_ms``: the room is being rescheduled from a wake-up at that instant. What is
        owed may not have been tried then (another process holds it), leaving the retry due
        already; the room then next wakes ``retry_ms`` later, never at once, so a wake-up
        that cannot make progress never spins. ``liveness``: who was alive, when it was read
        (``owed_retry_ms``)."""
        at: int | None
        if self.finished:
            at = self.vote_until_ms
        elif self.all_fired:
            at = self.last_alarm_settled_ms(grace_ms)
        else:
            nxt = self.fired_through + 1
            at = next((b.at_ms for b in self.timer.boundaries() if b.index == nxt), None)
        retry = self.owed_retry_ms(retry_ms, liveness)
        candidates = [t for t in (at, retry) if t is not None]
        if not candidates:
            return None
        soonest = min(candidates)
        if woke_ms is not None and soonest <= woke_ms:
            return woke_ms + retry_ms
        return soonest

    def ready_to_finish(self, now_ms: int, grace_ms: int) -> bool:
        if self.finished or not self.all_fired:
            return False
        settled = self.last_alarm_settled_ms(grace_ms)
        return settled is not None and now_ms >= settled

    def vote_open(self, now_ms: int) -> bool:
        return self.finished and self.vote_until_ms is not None and now_ms < self.vote_until_ms

    def vote_over(self, now_ms: int) -> bool:
        return self.finished and self.vote_until_ms is not None and now_ms >= self.vote_until_ms

    # -- changes --------------------------------------------------------------------------

    def with_timer(self, timer: Timer) -> Run:
        return replace(self, timer=timer)

    def claim_alarm(self, index: int, by: str, now_ms: int) -> Run:
        """Boundary ``index`` fell and is this process's to post: owed from now."""
        return replace(
            self,
            fired_through=max(self.fired_through, index),
            owed_alarms={**self.owed_alarms, index: Owed(1, by, now_ms)},
        )

    def skip_alarm(self, index: int) -> Run:
        """Boundary ``index`` fell and another process posts it."""
        return replace(self, fired_through=max(self.fired_through, index))

    def retry_alarm(self, index: int, by: str, now_ms: int) -> Run:
        owed = self.owed_alarms[index]
        return replace(
            self, owed_alarms={**self.owed_alarms, index: Owed(owed.attempt + 1, by, now_ms)}
        )

    def attempt_taken(self, index: int | None, now_ms: int) -> Run:
        """Someone claimed the next attempt at alarm ``index`` (None: the results) and left
        no trace of it, as a process that died right after claiming would: count it as made,
        from now, so the next attempt has a claim of its own and waits its turn."""
        if index is None:
            assert self.owed_results is not None
            owed = self.owed_results
            return replace(self, owed_results=Owed(owed.attempt + 1, owed.by, now_ms))
        owed = self.owed_alarms[index]
        return replace(
            self,
            owed_alarms={**self.owed_alarms, index: Owed(owed.attempt + 1, owed.by, now_ms)},
        )

    def alarm_delivered(self, index: int, appeared_ms: int | None) -> Run:
        """The alarm is in the channel (``appeared_ms``: its message's creation time, when the
        Discord side knows it)."""
        owed = {k: v for k, v in self.owed_alarms.items() if k != index}
        reached = dict(self.reached)
        if appeared_ms is not None:
            reached[index] = appeared_ms
        return replace(self, owed_alarms=owed, reached=reached)

    def give_up_alarm(self, index: int) -> Run:
        return replace(self, owed_alarms={k: v for k, v in self.owed_alarms.items() if k != index})

    def finish(self, outcome: RunOutcome | None, by: str, now_ms: int, vote_ms: int) -> Run:
        """Kings and refunds are settled; the results are owed when this process computed
        them (``outcome``), or another process announces them (None)."""
        return replace(
            self,
            finished=True,
            vote_until_ms=now_ms + vote_ms,
            outcome=outcome,
            owed_results=Owed(1, by, now_ms) if outcome is not None else None,
        )

    def attempt_results(self, by: str, now_ms: int, vote_ms: int) -> Run:
        """Another attempt at posting the results; the vote opens when they can be seen."""
        assert self.owed_results is not None
        return replace(
            self,
            owed_results=Owed(self.owed_results.attempt + 1, by, now_ms),
            vote_until_ms=now_ms + vote_ms,
        )

    def open_vote_at(self, now_ms: int, vote_ms: int) -> Run:
        return replace(self, vote_until_ms=now_ms + vote_ms)

    def vote_from(self, appeared_ms: int, vote_ms: int) -> Run:
        """The vote lasts ``vote_ms`` from when the results appeared, however much later an
        attempt found them posted: a retry never opens it again."""
        if self.vote_until_ms is None:
            return self
        return replace(self, vote_until_ms=min(self.vote_until_ms, appeared_ms + vote_ms))

    def results_delivered(self) -> Run:
        return replace(self, owed_results=None, outcome=None)

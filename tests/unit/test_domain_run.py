"""The run aggregate: what is owed, when the room wakes, when it finishes, and its JSON form."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.alarms import MemberResult
from bot.domain.liveness import Liveness
from bot.domain.run import Owed, Run, RunOutcome
from bot.domain.timer import MINUTE_MS, Pattern, Timer
from storage.session.codec import run_from_json, run_to_json

START = 1_767_225_600_000
GRACE = 60_000
RETRY = 5_000
VOTE = 300_000
# 2 × (5 + 5): alarms at minutes 5, 10 and 15
TIMER = Timer(Pattern.from_minutes(5, 5, 2), START)


def at(minute: float) -> int:
    return START + int(minute * MINUTE_MS)


def test_a_fresh_run_wakes_at_its_first_boundary() -> None:
    run = Run(1, TIMER)
    assert run.next_wakeup(GRACE, RETRY) == at(5)
    assert [b.index for b in run.due(at(10))] == [1, 2]


def test_an_owed_alarm_is_retried_before_the_next_boundary() -> None:
    run = Run(1, TIMER).claim_alarm(1, "p1", at(5))
    assert run.fired_through == 1 and run.owes_anything
    assert run.next_wakeup(GRACE, RETRY) == at(5) + RETRY
    delivered = run.alarm_delivered(1, at(5) + 800)
    assert not delivered.owes_anything
    assert delivered.next_wakeup(GRACE, RETRY) == at(10)
    assert delivered.rang_at(delivered.boundary(1)) == at(5) + 800


def test_the_run_finishes_a_grace_after_its_last_alarm_appeared() -> None:
    run = Run(1, TIMER, fired_through=2).claim_alarm(3, "p1", at(15))
    assert run.last_alarm_settled_ms(GRACE) is None  # still owed: its grace has not begun
    assert not run.ready_to_finish(at(30), GRACE)
    late = run.alarm_delivered(3, at(17))  # Discord took it two minutes late
    assert late.next_wakeup(GRACE, RETRY) == at(17) + GRACE
    assert not late.ready_to_finish(at(17) + GRACE - 1, GRACE)
    assert late.ready_to_finish(at(17) + GRACE, GRACE)


def test_results_open_the_vote_when_they_are_attempted_and_are_kept_until_delivered() -> None:
    outcome = RunOutcome((7,), (MemberResult(7, 3, 3, 3, True),), {7: 50})
    run = Run(1, TIMER, fired_through=3).finish(outcome, "p1", at(16), VOTE)
    assert run.finished and run.vote_until_ms == at(16) + VOTE
    assert run.next_wakeup(GRACE, RETRY) == at(16) + RETRY  # the results are owed
    retried = run.attempt_results("p2", at(20), VOTE)
    assert retried.owed_results == Owed(2, "p2", at(20))
    assert retried.vote_until_ms == at(20) + VOTE
    done = retried.results_delivered()
    assert done.outcome is None and not done.owes_anything
    assert done.next_wakeup(GRACE, RETRY) == at(20) + VOTE
    assert done.vote_open(at(20) + VOTE - 1) and done.vote_over(at(20) + VOTE)


def test_another_process_s_claim_is_tried_when_its_heartbeat_runs_out() -> None:
    run = Run(1, TIMER).claim_alarm(1, "p2", at(5))
    assert run.owed_by_others("p1") and not run.owed_by_others("p2")
    alive = Liveness("p1", {"p2": at(5) + 3_000})
    assert not alive.takes_over(run.owed_alarms[1], at(5) + 2_999)
    assert run.next_wakeup(GRACE, RETRY, None, alive) == at(5) + 3_000  # not a retry later
    assert alive.takes_over(run.owed_alarms[1], at(5) + 3_000)
    # its beat ran out before this process looked, or was deleted at a clean exit: at once
    gone = Liveness("p1", {"p2": at(4)})
    assert gone.takes_over(run.owed_alarms[1], at(5) + 100)
    assert run.next_wakeup(GRACE, RETRY, None, gone) == at(4)
    stopped = Liveness("p1")
    assert stopped.takes_over(run.owed_alarms[1], at(5) + 100)
    assert run.next_wakeup(GRACE, RETRY, None, stopped) == at(5)
    # but a wake-up that could not take it (a claim of the attempt left no trace) never spins
    assert run.next_wakeup(GRACE, RETRY, at(5) + 100, stopped) == at(5) + 100 + RETRY
    # this process's own claim is its own retry, whatever its beat
    mine = Liveness("p2")
    assert mine.takes_over(run.owed_alarms[1], at(5))
    assert run.next_wakeup(GRACE, RETRY, None, mine) == at(5) + RETRY


def test_an_attempt_someone_else_claimed_counts_as_made_from_then() -> None:
    run = Run(1, TIMER).claim_alarm(1, "p1", at(5))
    passed = run.attempt_taken(1, at(6))
    assert passed.owed_alarms[1] == Owed(2, "p1", at(6))
    assert passed.next_wakeup(GRACE, RETRY) == at(6) + RETRY
    outcome = RunOutcome((7,), (MemberResult(7, 3, 3, 3, True),), {7: 50})
    ended = Run(1, TIMER, fired_through=3).finish(outcome, "p1", at(16), VOTE)
    assert ended.attempt_taken(None, at(17)).owed_results == Owed(2, "p1", at(17))
    assert ended.attempt_taken(None, at(17)).vote_until_ms == ended.vote_until_ms


def test_a_wake_up_that_could_not_deliver_waits_a_retry_and_never_spins() -> None:
    # another process holds the owed alarm, whose retry is already due when the room wakes
    run = Run(1, TIMER).claim_alarm(1, "p2", at(5))
    woke = at(5) + RETRY + 700
    assert run.next_wakeup(GRACE, RETRY) == at(5) + RETRY  # already passed
    assert run.next_wakeup(GRACE, RETRY, woke) == woke + RETRY
    # a wake-up before anything is due changes nothing
    delivered = run.alarm_delivered(1, at(5))
    assert delivered.next_wakeup(GRACE, RETRY, at(6)) == at(10)
    # paused with nothing owed: no wake-up, whenever the room woke
    paused = Run(1, TIMER.pause(at(1)))
    assert paused.next_wakeup(GRACE, RETRY, at(2)) is None


@given(
    st.integers(0, 3),
    st.booleans(),
    st.integers(0, 30 * MINUTE_MS),
    st.integers(0, 30 * MINUTE_MS),
)
def test_rescheduling_from_a_wake_up_is_always_after_it(
    fired: int, owed: bool, claimed_after: int, woke_after: int
) -> None:
    run = Run(1, TIMER, fired_through=fired)
    if owed and fired:
        run = Run(1, TIMER, fired_through=fired - 1).claim_alarm(fired, "p2", START + claimed_after)
    woke = START + woke_after
    plain = run.next_wakeup(GRACE, RETRY)
    after = run.next_wakeup(GRACE, RETRY, woke)
    if plain is None:
        assert after is None
    else:
        assert after is not None and after > woke
        assert after == (plain if plain > woke else woke + RETRY)


def test_the_json_form_round_trips() -> None:
    outcome = RunOutcome((7, 8), (MemberResult(7, 3, 3, 3, True),), {7: 50})
    run = (
        Run(4, TIMER.pause(at(2)).resume(at(3)))
        .claim_alarm(1, "p1", at(6))
        .alarm_delivered(1, at(6) + 10)
        .claim_alarm(2, "p1", at(11))
    )
    assert run_from_json(run_to_json(run)) == run
    finished = run.finish(outcome, "p1", at(20), VOTE)
    assert run_from_json(run_to_json(finished)) == finished


def test_a_run_stored_by_the_earlier_format_reads_the_same() -> None:
    earlier = {
        "run_id": 4,
        "pattern": [5 * MINUTE_MS, 5 * MINUTE_MS, 2],
        "started_at_ms": START,
        "events": [],
        "fired_through": 3,
        "finished": True,
        "extra": {
            "vote_until_ms": at(21),
            "owed": {
                "b:3": {"n": 2, "by": "p1", "at": at(15)},
                "end": {"n": 1, "by": "p1", "at": at(16)},
            },
            "announce": {"kings": [7], "results": [[7, 3, 3, 3, True]], "refunds": {"7": 50}},
            "reached": {"1": at(5) + 100},
        },
    }
    run = run_from_json(json.dumps(earlier))
    assert run == Run(
        4,
        TIMER,
        fired_through=3,
        finished=True,
        vote_until_ms=at(21),
        owed_alarms={3: Owed(2, "p1", at(15))},
        owed_results=Owed(1, "p1", at(16)),
        outcome=RunOutcome((7,), (MemberResult(7, 3, 3, 3, True),), {7: 50}),
        reached={1: at(5) + 100},
    )


def test_long_breaks_and_the_run_number_round_trip() -> None:
    pattern = Pattern(5 * MINUTE_MS, MINUTE_MS, 6, 15 * MINUTE_MS, 3)
    run = Run(9, Timer(pattern, START).pause(at(2)), run_no=3).claim_alarm(1, "p1", at(6))
    stored = json.loads(run_to_json(run))
    assert stored["pattern"] == [5 * MINUTE_MS, MINUTE_MS, 6, 15 * MINUTE_MS, 3]
    assert stored["run_no"] == 3
    back = run_from_json(run_to_json(run))
    assert back == run and back.timer.pattern.phase(6).long and back.later_run


def test_a_run_stored_before_long_breaks_and_run_numbers_reads_without_them() -> None:
    stored = json.loads(run_to_json(Run(4, TIMER)))
    assert len(stored["pattern"]) == 3 and "run_no" not in stored
    run = run_from_json(json.dumps(stored))
    assert run.timer.pattern == TIMER.pattern and not run.timer.pattern.has_long_breaks
    assert run.run_no is None and not run.later_run
    assert not Run(4, TIMER, run_no=1).later_run and Run(4, TIMER, run_no=2).later_run

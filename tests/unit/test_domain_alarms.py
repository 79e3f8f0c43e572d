from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from bot.domain.alarms import (
    AlarmDismissal,
    MemberResult,
    MemberSpan,
    alarms_owed,
    dismissals_of_alarm,
    is_on_time,
    rang_at,
    run_results,
)
from bot.domain.timer import MINUTE_MS, Boundary, Pattern, Timer

START = 1_767_225_600_000
M = MINUTE_MS
GRACE = 60

# 4 × (50 + 10): alarms at minutes 50, 60, 110, 120, 170, 180, 230
BOUNDARIES = Timer(Pattern.from_minutes(50, 10, 4), START).boundaries()


def kings(
    boundaries: Sequence[Boundary],
    spans: Mapping[int, Sequence[MemberSpan]],
    dismissals: Mapping[tuple[int, int], int],
    grace_s: int = GRACE,
    reached: Mapping[int, int] | None = None,
) -> list[int]:
    """The kings as the end of a run counts them (``run_results``), sorted."""
    return [
        r.user_id for r in run_results(boundaries, spans, dismissals, grace_s, reached) if r.is_king
    ]


def at(minute: float) -> int:
    return START + int(minute * M)


def on_time_for(user_id: int, indexes: list[int]) -> dict[tuple[int, int], int]:
    """Dismissals by ``user_id`` 5 s after each of the given boundaries."""
    return {(i, user_id): BOUNDARIES[i - 1].at_ms + 5_000 for i in indexes}


# -- on time -------------------------------------------------------------------------------


def test_is_on_time() -> None:
    b = at(50)
    assert is_on_time(b, b, GRACE)
    assert is_on_time(b, b + 60_000, GRACE)
    assert not is_on_time(b, b + 60_001, GRACE)
    assert not is_on_time(b, b - 1, GRACE)  # before the alarm: impossible
    assert is_on_time(b, b, 0)
    assert not is_on_time(b, b + 1, 0)


def test_negative_grace_is_an_error() -> None:
    with pytest.raises(ValueError):
        is_on_time(0, 0, -1)


# -- spans ---------------------------------------------------------------------------------


def test_span_covers_half_open() -> None:
    s = MemberSpan(1, at(10), at(60))
    assert not s.covers(at(10) - 1)
    assert s.covers(at(10))
    assert s.covers(at(60) - 1)
    assert not s.covers(at(60))
    assert MemberSpan(1, at(10)).covers(at(10_000))


def test_span_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError):
        MemberSpan(1, 10, 9)
    MemberSpan(1, 10, 10)  # joined and left at once: covers nothing


def test_a_member_answers_for_every_alarm_of_the_run_once_in_the_room() -> None:
    assert alarms_owed(BOUNDARIES, [MemberSpan(1, START)]) == list(BOUNDARIES)


def test_a_late_joiner_answers_from_their_join_and_a_leaver_to_the_end() -> None:
    late = alarms_owed(BOUNDARIES, [MemberSpan(1, at(100))])
    assert [b.index for b in late] == [3, 4, 5, 6, 7]
    # leaving does not end what a member answers for: the alarms after it count as missed
    early = alarms_owed(BOUNDARIES, [MemberSpan(1, START, at(110))])
    assert [b.index for b in early] == [1, 2, 3, 4, 5, 6, 7]


def test_joining_at_the_boundary_instant_counts() -> None:
    assert [b.index for b in alarms_owed(BOUNDARIES, [MemberSpan(1, at(230))])] == [7]


def test_leave_and_rejoin_answers_from_the_first_join() -> None:
    spans = [MemberSpan(1, at(55), at(57)), MemberSpan(1, at(115), at(175))]
    assert [b.index for b in alarms_owed(BOUNDARIES, spans)] == [2, 3, 4, 5, 6, 7]


def test_nobody_answers_for_nothing() -> None:
    assert alarms_owed(BOUNDARIES, []) == []


# -- when an alarm rang ------------------------------------------------------------------------


def test_an_alarm_rings_when_it_reached_the_channel() -> None:
    b = BOUNDARIES[0]
    assert rang_at(b, {}) == b.at_ms
    assert rang_at(b, {1: b.at_ms + 90_000}) == b.at_ms + 90_000
    assert rang_at(b, {2: b.at_ms + 90_000}) == b.at_ms  # another alarm's delivery
    assert rang_at(b, {1: b.at_ms - 500}) == b.at_ms  # never before the boundary


def test_an_alarm_delivered_90_s_late_is_on_time_30_s_after_it_appeared() -> None:
    spans = {1: [MemberSpan(1, START)]}
    bs: list[Boundary] = list(BOUNDARIES[:1])
    delivered = bs[0].at_ms + 90_000
    dismissals = {(1, 1): delivered + 30_000}
    assert kings(bs, spans, dismissals, GRACE) == []  # counted from the boundary: late
    assert kings(bs, spans, dismissals, GRACE, {1: delivered}) == [1]
    [result] = run_results(bs, spans, dismissals, GRACE, {1: delivered})
    assert result == MemberResult(1, alarms=1, dismissed=1, on_time=1, is_king=True)


# -- kings ---------------------------------------------------------------------------------


def test_everyone_on_time_are_kings() -> None:
    spans = {1: [MemberSpan(1, START)], 2: [MemberSpan(2, START)]}
    dismissals = on_time_for(1, list(range(1, 8))) | on_time_for(2, list(range(1, 8)))
    assert kings(BOUNDARIES, spans, dismissals, GRACE) == [1, 2]


def test_one_missed_alarm_is_not_king() -> None:
    spans = {1: [MemberSpan(1, START)]}
    assert kings(BOUNDARIES, spans, on_time_for(1, [1, 2, 3, 4, 5, 6]), GRACE) == []


def test_one_late_alarm_is_not_king() -> None:
    spans = {1: [MemberSpan(1, START)]}
    dismissals = on_time_for(1, list(range(1, 8)))
    dismissals[(4, 1)] = BOUNDARIES[3].at_ms + GRACE * 1000 + 1
    assert kings(BOUNDARIES, spans, dismissals, GRACE) == []
    dismissals[(4, 1)] = BOUNDARIES[3].at_ms + GRACE * 1000
    assert kings(BOUNDARIES, spans, dismissals, GRACE) == [1]


def test_late_joiner_only_owes_their_alarms() -> None:
    spans = {3: [MemberSpan(3, at(150))]}
    assert kings(BOUNDARIES, spans, on_time_for(3, [5, 6, 7]), GRACE) == [3]


def test_a_member_who_left_before_the_end_is_not_king() -> None:
    spans = {4: [MemberSpan(4, START, at(65))]}
    assert kings(BOUNDARIES, spans, on_time_for(4, [1, 2]), GRACE) == []


def test_leaving_and_rejoining_between_alarms_can_still_be_king() -> None:
    spans = {4: [MemberSpan(4, START, at(65)), MemberSpan(4, at(70))]}
    assert kings(BOUNDARIES, spans, on_time_for(4, list(range(1, 8))), GRACE) == [4]


def test_an_alarm_that_fell_while_away_is_missed() -> None:
    spans = {4: [MemberSpan(4, START, at(65)), MemberSpan(4, at(115))]}  # away at #3
    assert kings(BOUNDARIES, spans, on_time_for(4, [1, 2, 4, 5, 6, 7]), GRACE) == []


def test_no_alarm_no_king() -> None:
    spans = {5: [MemberSpan(5, at(231))], 6: [MemberSpan(6, at(10), at(20))]}
    assert kings(BOUNDARIES, spans, {}, GRACE) == []


def test_dismissals_of_other_runs_or_users_do_not_count() -> None:
    spans = {1: [MemberSpan(1, at(100))]}
    # user 1 "dismissed" alarms 1 and 2 from before they joined, and user 2 dismissed #3
    dismissals = on_time_for(1, [1, 2, 4, 5, 6, 7]) | on_time_for(2, [3])
    assert kings(BOUNDARIES, spans, dismissals, GRACE) == []


def test_a_dismissal_before_the_alarm_is_not_on_time() -> None:
    spans = {1: [MemberSpan(1, START)]}
    dismissals = on_time_for(1, list(range(1, 8)))
    dismissals[(2, 1)] = BOUNDARIES[1].at_ms - 1
    assert kings(BOUNDARIES, spans, dismissals, GRACE) == []


def test_kings_are_sorted() -> None:
    spans = {uid: [MemberSpan(uid, START)] for uid in (30, 4, 12)}
    dismissals: dict[tuple[int, int], int] = {}
    for uid in spans:
        dismissals |= on_time_for(uid, list(range(1, 8)))
    assert kings(BOUNDARIES, spans, dismissals, GRACE) == [4, 12, 30]


def test_skipped_and_partial_runs() -> None:
    timer = Timer(Pattern.from_minutes(50, 10, 4), START).skip(at(20)).stop(at(25))
    bs = timer.boundaries()
    assert [b.index for b in bs] == [1]  # only the skip's alarm fell before the stop
    spans = {1: [MemberSpan(1, START)], 2: [MemberSpan(2, at(21))]}
    dismissals = {(1, 1): at(20) + 1000}
    assert kings(bs, spans, dismissals, GRACE) == [1]


def test_run_results() -> None:
    spans = {
        1: [MemberSpan(1, START)],
        2: [MemberSpan(2, START, at(115))],
        3: [MemberSpan(3, at(240))],
    }
    dismissals = on_time_for(1, list(range(1, 8))) | on_time_for(2, [1, 3])
    dismissals[(2, 2)] = BOUNDARIES[1].at_ms + 61_000  # late
    results = run_results(BOUNDARIES, spans, dismissals, GRACE)
    assert results == [
        MemberResult(1, alarms=7, dismissed=7, on_time=7, is_king=True),
        MemberResult(2, alarms=7, dismissed=3, on_time=2, is_king=False),
        MemberResult(3, alarms=0, dismissed=0, on_time=0, is_king=False),
    ]


def test_default_grace_is_sixty_seconds() -> None:
    spans = {1: [MemberSpan(1, START)]}
    bs: list[Boundary] = list(BOUNDARIES[:1])
    assert kings(bs, spans, {(1, 1): bs[0].at_ms + 60_000}) == [1]
    assert kings(bs, spans, {(1, 1): bs[0].at_ms + 60_001}) == []


def test_an_alarm_shows_its_dismissals_in_order_judged_from_delivery() -> None:
    delivered = BOUNDARIES[2].at_ms + 90_000  # alarm #3 reached the channel 90 s late
    dismissals = {
        (3, 7): delivered + 61_000,  # past the window after delivery: late
        (3, 5): delivered + 30_000,  # 120 s after the boundary, 30 s after delivery: on time
        (2, 5): delivered,  # another alarm
    }
    assert dismissals_of_alarm(dismissals, 3, delivered, GRACE) == [
        AlarmDismissal(5, delivered + 30_000, True),
        AlarmDismissal(7, delivered + 61_000, False),
    ]
    assert dismissals_of_alarm(dismissals, 4, delivered, GRACE) == []

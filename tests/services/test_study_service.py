"""Study time accounting: voice presence clipped to the study phases of the room's run.

The pure span arithmetic first, then the service over real storage and the real scheduler:
joins and leaves around phases, pauses, stops, room closes, runs that finish and are
extended, and the start-up reconciliation after a restart.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from bot.domain.run import RunStatus
from bot.domain.timer import MINUTE_MS, Pattern, Timer
from bot.services.leaderboard import LeaderboardService, Period, period_bounds, ranked
from bot.services.profile import STREAK_STUDY_MS, ProfileService
from bot.services.study import (
    StudyListener,
    StudyService,
    clip,
    study_spans,
    total,
)
from storage.models import RunResult
from storage.session.base import RoomKey
from tests.support.world import ALICE, BOB, CAROL, GUILD, World, reopen

M = MINUTE_MS
P = Pattern(50 * M, 10 * M, 3)  # study 0-50, break 50-60, study 60-110, break, study 120-170


# -- pure -------------------------------------------------------------------------------------


def test_a_running_run_studies_in_its_study_phases_only() -> None:
    timer = Timer(P, 0)
    assert study_spans(timer, 10**9) == [(0, 50 * M), (60 * M, 110 * M), (120 * M, 170 * M)]
    assert study_spans(timer, 65 * M) == [(0, 50 * M), (60 * M, 65 * M)]
    assert study_spans(timer, 55 * M) == [(0, 50 * M)]  # in the break: nothing more


def test_paused_time_does_not_count_and_shifts_the_rest() -> None:
    timer = Timer(P, 0).pause(10 * M).resume(30 * M)
    spans = study_spans(timer, 10**9)
    assert spans[:2] == [(0, 10 * M), (30 * M, 70 * M)]  # 40 more minutes after the pause
    assert total(spans) == 3 * 50 * M
    still_paused = Timer(P, 0).pause(10 * M)
    assert study_spans(still_paused, 99 * M) == [(0, 10 * M)]


def test_a_pause_in_the_break_changes_no_study_time() -> None:
    timer = Timer(P, 0).pause(55 * M).resume(75 * M)
    assert total(study_spans(timer, 10**9)) == 150 * M
    assert study_spans(timer, 10**9)[1] == (80 * M, 130 * M)


def test_skip_and_stop() -> None:
    skipped = Timer(P, 0).skip(20 * M)  # study 1 ends early, the break starts at 20
    assert study_spans(skipped, 10**9)[:2] == [(0, 20 * M), (30 * M, 80 * M)]
    stopped = Timer(P, 0).stop(70 * M)
    assert study_spans(stopped, 10**9) == [(0, 50 * M), (60 * M, 70 * M)]
    paused_then_stopped = Timer(P, 0).pause(20 * M).stop(40 * M)
    assert study_spans(paused_then_stopped, 10**9) == [(0, 20 * M)]
    skip_while_paused = Timer(P, 0).pause(20 * M).skip(40 * M)  # the break starts at 40
    assert study_spans(skip_while_paused, 10**9)[:2] == [(0, 20 * M), (50 * M, 100 * M)]


def test_clip() -> None:
    assert clip([(0, 10), (20, 30)], 5, 25) == [(5, 10), (20, 25)]
    assert clip([(0, 10)], 10, 20) == []


# -- the service ------------------------------------------------------------------------------


def attach(world: World) -> StudyService:
    study = StudyService(world.app.uow, world.app.store, world.app.clock)
    world.app.events.add_room_listener(StudyListener(study))
    return study


async def make_room(
    world: World, study_min: int = 50, break_min: int = 10, terms: int = 3
) -> RoomKey:
    room = await world.app.rooms.create(GUILD, ALICE, "Focus", study_min, break_min, terms)
    await world.app.rooms.join(room.id, BOB)
    return RoomKey(GUILD, room.id)


async def written(world: World, user: int) -> int:
    async with world.app.uow() as uow:
        return await uow.study.total_ms(GUILD, user, 0, 2**53)


async def test_time_in_voice_during_study_is_written_when_leaving(world: World) -> None:
    study = attach(world)
    key = await make_room(world)
    await world.app.timers.start(key.room_id, ALICE)
    await world.advance(5 * M)
    await study.join(key, BOB)
    await world.advance(20 * M)
    credit = await study.leave(key, BOB)
    assert credit is not None and credit.ms == 20 * M
    assert await written(world, BOB) == 20 * M
    assert await study.leave(key, BOB) is None  # nothing open any more


async def test_breaks_do_not_count_and_sessions_span_phases(world: World) -> None:
    study = attach(world)
    key = await make_room(world)
    start = (await world.app.timers.start(key.room_id, ALICE)).now_ms
    await world.advance(52 * M)  # in the break (study 1 ended at 50)
    await study.join(key, BOB)
    await world.advance(5 * M)
    assert await study.total_ms(GUILD, BOB, 0, 2**53) == 0  # break: nothing yet
    await world.advance(20 * M)  # 77: study 2 began at 60
    assert await study.total_ms(GUILD, BOB, 0, 2**53) == 17 * M  # written + live
    await world.advance(40 * M)  # 117: study 2 ended at 110 (the boundary credited it)
    assert await written(world, BOB) == 50 * M
    await study.leave(key, BOB)
    assert await written(world, BOB) == 50 * M
    async with world.app.uow() as uow:
        rows = await uow.study.sessions(GUILD, BOB, 0, 2**53)
    assert sum(r.end_ms - r.start_ms for r in rows) == 50 * M
    assert rows[0].start_ms == start + 60 * M and rows[-1].end_ms == start + 110 * M
    assert all(r.room_id == key.room_id for r in rows)


async def test_paused_time_does_not_count(world: World) -> None:
    study = attach(world)
    key = await make_room(world)
    await study.join(key, BOB)
    await world.app.timers.start(key.room_id, ALICE)
    await world.advance(10 * M)
    await world.app.timers.pause(key.room_id, ALICE)
    await world.advance(30 * M)
    assert await study.total_ms(GUILD, BOB, 0, 2**53) == 10 * M
    await world.app.timers.resume(key.room_id, ALICE)
    await world.advance(5 * M)
    await study.leave(key, BOB)
    assert await written(world, BOB) == 15 * M


async def test_no_run_no_study_time(world: World) -> None:
    study = attach(world)
    key = await make_room(world)
    await study.join(key, BOB)
    await world.advance(30 * M)
    await world.app.timers.start(key.room_id, ALICE)  # counting starts with the run
    await world.advance(10 * M)
    await study.leave(key, BOB)
    assert await written(world, BOB) == 10 * M


async def test_a_stopped_run_counts_until_the_stop(world: World) -> None:
    study = attach(world)
    key = await make_room(world)
    await study.join(key, BOB)
    await world.app.timers.start(key.room_id, ALICE)
    await world.advance(10 * M)
    await world.app.timers.pause(key.room_id, ALICE)
    await world.advance(10 * M)
    await world.app.timers.stop(key.room_id, ALICE)  # the run leaves the store
    assert await written(world, BOB) == 10 * M
    await world.advance(30 * M)
    await study.leave(key, BOB)
    assert await written(world, BOB) == 10 * M


async def test_closing_the_room_credits_who_is_still_in_voice(world: World) -> None:
    study = attach(world)
    key = await make_room(world)
    await study.join(key, BOB)
    await world.app.timers.start(key.room_id, ALICE)
    await world.advance(30 * M)
    await world.app.rooms.close(key.room_id, ALICE)
    assert await written(world, BOB) == 30 * M
    assert await study.open_sessions(key) == {}
    assert study.room_of(GUILD, BOB) is None


async def test_a_finished_and_extended_run_is_counted_once(world: World) -> None:
    study = attach(world)
    key = await make_room(world, study_min=10, break_min=5, terms=2)  # 10 + 5 + 10
    await study.join(key, BOB)
    await world.app.timers.start(key.room_id, ALICE)
    await world.advance(27 * M)  # the run ended at 25; finished after the 60 s grace
    assert world.seen.finished
    assert await written(world, BOB) == 20 * M
    await world.app.timers.extend(key.room_id, BOB)  # a new run replaces the old one
    await world.advance(4 * M)
    await study.leave(key, BOB)
    assert await written(world, BOB) == 24 * M


async def test_two_members_and_a_move_between_rooms(world: World) -> None:
    study = attach(world)
    one = await make_room(world)
    two = await make_room(world)
    await world.app.rooms.join(one.room_id, CAROL)
    await world.app.timers.start(one.room_id, ALICE)
    await study.join(one, BOB)
    await study.join(one, CAROL)
    await world.advance(10 * M)
    await study.leave(one, BOB)  # BOB moves to room two, which is not running
    await study.join(two, BOB)
    assert study.room_of(GUILD, BOB) == two
    await world.advance(10 * M)
    await study.leave(two, BOB)
    await study.leave(one, CAROL)
    assert await written(world, BOB) == 10 * M
    assert await written(world, CAROL) == 20 * M


async def test_restart_keeps_who_stayed_and_closes_who_left_at_the_last_stamp(
    sqlite_world: World, tmp_path: Path
) -> None:
    world = sqlite_world
    study = attach(world)
    key = await make_room(world)
    await world.app.rooms.join(key.room_id, CAROL)
    await world.app.timers.start(key.room_id, ALICE)
    await study.join(key, ALICE)
    await study.join(key, BOB)
    await world.advance(10 * M)
    await study.heartbeat()  # the last sign of life before a crash at 10 min
    assert await world.app.store.alive_at(key) == world.now_ms()
    await world.advance(5 * M)  # down from here (nothing runs while "crashed")

    world = await reopen(world, tmp_path)
    await world.advance(0)
    study = attach(world)
    outcome = await study.reconcile(key, present={ALICE, CAROL})  # BOB left, CAROL came
    assert outcome.kept == (ALICE,)
    assert outcome.closed == (BOB,)
    assert outcome.opened == (CAROL,)
    assert await written(world, BOB) == 10 * M  # closed at the last stamp, no later
    await world.advance(10 * M)
    await study.leave(key, ALICE)
    await study.leave(key, CAROL)
    assert await written(world, ALICE) == 25 * M  # the time across the restart counts
    assert await written(world, CAROL) == 10 * M  # from start-up on


# -- the profile's numbers ----------------------------------------------------------------------
# START is Monday 2026-03-02 09:00 UTC = 18:00 in Seoul (UTC+9, no DST).

SEOUL_MIDNIGHT = 1_772_377_200_000  # 2026-03-02T00:00+09:00 = 2026-03-01T15:00Z
DAY = 24 * 60 * M


async def in_seoul(world: World, user: int) -> None:
    async with world.app.uow() as uow:
        await uow.members.set_timezone(GUILD, user, "Asia/Seoul", world.now_ms())
        await uow.commit()


async def add_study(world: World, user: int, start: int, minutes: int) -> None:
    async with world.app.uow() as uow:
        await uow.study.add(
            guild_id=GUILD, user_id=user, start_ms=start, end_ms=start + minutes * M
        )
        await uow.commit()


def profiles(world: World, study: StudyService | None = None) -> ProfileService:
    study = study or StudyService(world.app.uow, world.app.store, world.app.clock)
    return ProfileService(world.app.uow, world.app.clock, world.app.settings, study)


async def test_profile_numbers_follow_the_members_days(world: World) -> None:
    await in_seoul(world, BOB)
    key = await make_room(world)  # BOB joined: 1000 - 50
    todos = world.app.todos
    first = await todos.add(GUILD, BOB, "read ch. 4")
    await todos.add(GUILD, BOB, "exercises")
    await todos.add(GUILD, BOB, "yesterday's", day="2026-03-01")
    await todos.done(GUILD, BOB, first.id)
    await todos.rate(GUILD, BOB, 4)
    await todos.rate(GUILD, BOB, 2, day="2026-03-01")
    await todos.rate(GUILD, BOB, 5, day="2026-02-28")  # last month: not on this page
    await add_study(world, BOB, SEOUL_MIDNIGHT - 30 * M, 60)  # 23:30 Sunday → 00:30 Monday
    await add_study(world, BOB, SEOUL_MIDNIGHT + 8 * 60 * M, 45)  # Monday morning
    await add_study(world, BOB, SEOUL_MIDNIGHT - 2 * DAY, 50)  # Saturday: last week
    async with world.app.uow() as uow:
        run = await uow.runs.add(
            room_id=key.room_id, run_no=1, study_ms=M, break_ms=M, terms=1, started_ms=0
        )
        await uow.runs.add_results(
            [RunResult(run_id=run.id, user_id=BOB, alarms=1, dismissed=1, on_time=1, is_king=True)]
        )
        await uow.commit()

    data = await profiles(world).profile(GUILD, BOB, own=False)
    assert str(data.today) == "2026-03-02" and data.timezone == "Asia/Seoul"
    assert data.points == 950
    assert (data.todos_done, data.todos_total) == (1, 2)
    assert data.study_today_ms == (30 + 45) * M  # only the part after midnight
    assert data.study_week_ms == (30 + 45) * M  # the week began on Monday
    assert data.kings == 1
    assert data.ratings == {1: 2, 2: 4}
    assert data.month_days == 31
    # Sunday (30 min) and Monday (a todo done) count; Saturday's 50 minutes too
    assert data.streak_days == 3


async def test_profile_counts_the_open_voice_session(world: World) -> None:
    study = attach(world)
    key = await make_room(world)
    await world.app.timers.start(key.room_id, ALICE)
    await study.join(key, BOB)
    await world.advance(20 * M)
    data = await profiles(world, study).profile(GUILD, BOB)
    assert data.study_today_ms == 20 * M
    assert data.streak_days == 0  # 20 minutes is not enough for a streak day yet
    await world.advance(6 * M)
    data = await profiles(world, study).profile(GUILD, BOB)
    assert data.study_today_ms == 26 * M
    assert data.streak_days == 1


async def test_streak_rules(world: World) -> None:
    today = SEOUL_MIDNIGHT - 9 * 60 * M + DAY  # UTC members: 2026-03-02 00:00Z
    assert STREAK_STUDY_MS == 25 * M
    # yesterday 25 minutes (enough), the day before 24 (not enough), before that a todo done
    await add_study(world, CAROL, today - DAY + 60 * M, 25)
    await add_study(world, CAROL, today - 2 * DAY + 60 * M, 24)
    done = await world.app.todos.add(GUILD, CAROL, "old", day="2026-02-27")
    await world.app.todos.done(GUILD, CAROL, done.id)
    service = profiles(world)
    assert (await service.profile(GUILD, CAROL)).streak_days == 1  # today does not count yet
    today_todo = await world.app.todos.add(GUILD, CAROL, "now")
    await world.app.todos.done(GUILD, CAROL, today_todo.id)
    assert (await service.profile(GUILD, CAROL)).streak_days == 2
    # a long streak crosses the chunks the service reads
    for back in range(2, 80):
        await add_study(world, ALICE, today - back * DAY, 30)
    assert (await service.profile(GUILD, ALICE)).streak_days == 0  # yesterday is missing
    await add_study(world, ALICE, today - DAY, 30)
    assert (await service.profile(GUILD, ALICE)).streak_days == 79


# -- the leaderboard ----------------------------------------------------------------------------


async def test_leaderboard_ranks_study_time_and_kings_by_period(world: World) -> None:
    lb = LeaderboardService(world.app.uow, world.app.clock, world.app.settings)
    now = world.now_ms()
    await add_study(world, ALICE, now - 60 * M, 30)  # today
    await add_study(world, BOB, now - 60 * M, 45)  # today
    await add_study(world, CAROL, now - DAY, 120)  # Sunday: last week, this month
    await add_study(world, BOB, now - 40 * DAY, 10)  # January
    start, end = await lb.bounds(GUILD, ALICE, Period.DAY)
    day = await lb.page(GUILD, Period.DAY, start, end)
    assert [(p.rank, p.user_id, p.value) for p in day.study] == [
        (1, BOB, 45 * M),
        (2, ALICE, 30 * M),
    ]
    assert not day.has_next and not day.has_previous
    week = await lb.page(GUILD, Period.WEEK, *await lb.bounds(GUILD, ALICE, Period.WEEK))
    assert [p.user_id for p in week.study] == [BOB, ALICE]
    month = await lb.page(GUILD, Period.MONTH, *await lb.bounds(GUILD, ALICE, Period.MONTH))
    assert [p.user_id for p in month.study] == [CAROL, BOB, ALICE]
    forever = await lb.page(GUILD, Period.ALL, *period_bounds(Period.ALL, now, ZoneInfo("UTC")))
    assert [(p.user_id, p.value) for p in forever.study] == [
        (CAROL, 120 * M),
        (BOB, 55 * M),
        (ALICE, 30 * M),
    ]
    nothing = await lb.page(GUILD + 1, Period.DAY, start, end)
    assert nothing.empty

    key = await make_room(world)
    async with world.app.uow() as uow:
        for run_no, (started, king) in enumerate(
            [(now - 40 * DAY, CAROL), (now - 39 * DAY, CAROL), (now - M, ALICE)], start=1
        ):
            run = await uow.runs.add(
                room_id=key.room_id,
                run_no=run_no,
                study_ms=M,
                break_ms=M,
                terms=1,
                started_ms=started,
                status=RunStatus.FINISHED,
            )
            await uow.runs.add_results(
                [
                    RunResult(
                        run_id=run.id, user_id=king, alarms=1, dismissed=1, on_time=1, is_king=True
                    ),
                    RunResult(
                        run_id=run.id, user_id=BOB, alarms=1, dismissed=0, on_time=0, is_king=False
                    ),
                ]
            )
        await uow.commit()
    day = await lb.page(GUILD, Period.DAY, start, end)
    assert [(p.rank, p.user_id, p.value) for p in day.kings] == [(1, ALICE, 1)]
    forever = await lb.page(GUILD, Period.ALL, 0, 2**53)
    assert [(p.rank, p.user_id, p.value) for p in forever.kings] == [(1, CAROL, 2), (2, ALICE, 1)]


async def test_a_past_periods_kings_leave_out_titles_won_after_it(world: World) -> None:
    lb = LeaderboardService(world.app.uow, world.app.clock, world.app.settings)
    now = world.now_ms()  # a Monday morning
    this_week, _ = await lb.bounds(GUILD, ALICE, Period.WEEK)
    last_week = (this_week - 7 * DAY, this_week)
    key = await make_room(world)
    async with world.app.uow() as uow:
        # CAROL was king last Saturday; ALICE this morning, after last week ended
        for run_no, (started, king) in enumerate([(now - 2 * DAY, CAROL), (now - M, ALICE)], 1):
            run = await uow.runs.add(
                room_id=key.room_id,
                run_no=run_no,
                study_ms=M,
                break_ms=M,
                terms=1,
                started_ms=started,
                status=RunStatus.FINISHED,
            )
            await uow.runs.add_results(
                [
                    RunResult(
                        run_id=run.id, user_id=king, alarms=1, dismissed=1, on_time=1, is_king=True
                    )
                ]
            )
        await uow.commit()
    past = await lb.page(GUILD, Period.WEEK, *last_week)
    assert [(p.user_id, p.value) for p in past.kings] == [(CAROL, 1)]
    current = await lb.page(GUILD, Period.WEEK, *await lb.bounds(GUILD, ALICE, Period.WEEK))
    assert [(p.user_id, p.value) for p in current.kings] == [(ALICE, 1)]


async def test_leaderboard_pages_and_ties(world: World) -> None:
    assert [p.rank for p in ranked([(1, 9), (2, 7), (3, 7), (4, 5)])] == [1, 2, 2, 4]
    lb = LeaderboardService(world.app.uow, world.app.clock, world.app.settings)
    now = world.now_ms()
    for i in range(23):  # users 1000..1022 studied 23, 22, … 1 minutes
        await add_study(world, 1000 + i, now - 30 * M, 23 - i)
    start, end = await lb.bounds(GUILD, ALICE, Period.DAY)
    pages = [await lb.page(GUILD, Period.DAY, start, end, n) for n in range(3)]
    assert [len(p.study) for p in pages] == [10, 10, 3]
    assert [p.has_next for p in pages] == [True, True, False]
    assert [p.has_previous for p in pages] == [False, True, True]
    assert pages[1].study[0].rank == 11 and pages[1].study[0].user_id == 1010
    assert [p.user_id for page in pages for p in page.study] == list(range(1000, 1023))

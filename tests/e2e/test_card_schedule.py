"""The pinned card shows the whole run as Discord timestamps, as members read it: every
boundary as a clock time and a live countdown, so a boundary changes nothing on it and costs
no edit, while the owner's controls, a join and the end of the run do change it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config
from bot.domain.timer import MINUTE_MS
from tests.support.studio import Studio, make_config
from tests.support.timer import (
    MINUTE,
    StudyRoom,
    clock,
    open_room,
    relative,
    requests_since,
    schedule_of,
)

# phase ends, minutes after the start, of the default 4 × (50 + 10) run
ENDS = [50, 60, 110, 120, 170, 180, 230]
NAMES = [
    "📖 Study 1/4",
    "☕ Break 1/3",
    "📖 Study 2/4",
    "☕ Break 2/3",
    "📖 Study 3/4",
    "☕ Break 3/3",
    "📖 Study 4/4",
]


async def started(studio: Studio, *, terms: int = 4, study: int = 50) -> tuple[StudyRoom, int]:
    town = studio.guild("alice", "bob", "carol")
    alice, bob, _ = town.members
    room = await open_room(studio, town, alice, bob, terms=terms, study=study)
    await alice.slash(room.channel, "timer start")
    return room, studio.now_ms()


async def test_the_card_shows_every_boundary_of_the_run(studio: Studio) -> None:
    room, t0 = await started(studio)
    last = t0 + 230 * MINUTE_MS
    assert room.timer_field() == f"Runs {clock(t0)} → {clock(last)}; last alarm {relative(last)}."
    assert room.schedule() == schedule_of(t0, NAMES, ENDS)
    assert [f.name for f in room.card().fields][-2:] == ["Timer", "Schedule"]


async def test_a_boundary_does_not_edit_the_card(studio: Studio) -> None:
    room, t0 = await started(studio)
    card = room.card().to_dict()
    digest = await studio.bot.services.posted.card_digest(room.key)
    mark = len(studio.env.http_requests)
    await studio.advance_to(t0 + 61 * MINUTE_MS)  # past alarms #1 and #2
    assert len(room.alarms()) == 2
    assert room.card_edits(requests_since(studio, mark)) == []  # no PATCH of the card
    assert room.card().to_dict() == card
    assert await studio.bot.services.posted.card_digest(room.key) == digest
    # the card still tells the truth: the passed phases keep their times, the clients count
    assert room.schedule() == schedule_of(t0, NAMES, ENDS)


async def test_pause_resume_and_skip_edit_the_card(studio: Studio) -> None:
    room, t0 = await started(studio)
    alice = room.owner
    await studio.advance(20 * MINUTE)

    mark = len(studio.env.http_requests)
    await alice.slash(room.channel, "timer pause")
    assert len(room.card_edits(requests_since(studio, mark))) == 1
    assert room.timer_field().startswith("⏸ Paused in Study 1/4: 30 min left.")
    assert room.schedule()[:2] == [
        f"⏸ Study 1/4 · {clock(t0)} → paused, 30 min left",
        "☕ Break 1/3 · 10 min",
    ]

    mark = len(studio.env.http_requests)
    await studio.advance(40 * MINUTE)  # past the boundary the pause put off: no edit either
    assert room.alarms() == []
    assert room.card_edits(requests_since(studio, mark)) == []
    mark = len(studio.env.http_requests)
    resumed_at = studio.now_ms()
    await alice.slash(room.channel, "timer resume")
    assert len(room.card_edits(requests_since(studio, mark))) == 1
    shifted = [minute + 40 for minute in ENDS]  # every boundary, 40 paused minutes later
    assert room.schedule() == schedule_of(t0, NAMES, shifted)
    assert resumed_at + 30 * MINUTE_MS == t0 + shifted[0] * MINUTE_MS

    await studio.advance(5 * MINUTE)
    mark = len(studio.env.http_requests)
    skipped_at = studio.now_ms()
    await alice.slash(room.channel, "timer skip")
    assert len(room.card_edits(requests_since(studio, mark))) == 1
    brk = skipped_at + 10 * MINUTE_MS
    assert room.schedule()[:3] == [
        f"📖 Study 1/4 · {clock(t0)} → {clock(skipped_at)} ({relative(skipped_at)}), ended early",
        f"☕ Break 1/3 · {clock(skipped_at)} → {clock(brk)} ({relative(brk)})",
        f"📖 Study 2/4 · {clock(brk)} → {clock(brk + 50 * MINUTE_MS)} "
        f"({relative(brk + 50 * MINUTE_MS)})",
    ]


async def test_a_join_edits_the_members_and_leaves_the_schedule(studio: Studio) -> None:
    room, _ = await started(studio)
    schedule = room.schedule()
    carol = room.town.members[2]
    await studio.advance(5 * MINUTE)
    mark = len(studio.env.http_requests)
    await carol.slash(room.town.general, "room join", room=str(room.room_id))
    assert len(room.card_edits(requests_since(studio, mark))) == 1
    assert room.schedule() == schedule


async def test_the_end_of_the_run_shows_finished(studio: Studio) -> None:
    room, t0 = await started(studio, terms=1, study=5)
    assert room.schedule() == schedule_of(t0, ["📖 Study 1/1"], [5])
    mark = len(studio.env.http_requests)
    await studio.advance(5 * MINUTE)  # the one alarm: the card stays
    assert len(room.alarms()) == 1
    assert room.card_edits(requests_since(studio, mark)) == []
    mark = len(studio.env.http_requests)
    await studio.advance(MINUTE)  # its grace window is over: the results, and the card
    assert len(room.end_messages()) == 1
    assert len(room.card_edits(requests_since(studio, mark))) == 1
    assert room.timer_field() == "Finished."
    assert room.schedule() == []


@pytest.fixture
def studyon_config(tmp_path: Path, request: pytest.FixtureRequest) -> Config:
    if request.function.__name__.endswith("_in_korean"):
        return make_config(tmp_path, i18n={"default_locale": "ko"})
    return make_config(tmp_path)


async def test_the_card_speaks_the_servers_language_in_korean(studio: Studio) -> None:
    room, t0 = await started(studio, terms=2)
    last = t0 + 110 * MINUTE_MS
    assert room.timer_field("타이머") == (
        f"{clock(t0)} → {clock(last)} 진행 · 마지막 알람 {relative(last)}"
    )
    assert room.schedule("타이머") == schedule_of(
        t0, ["📖 공부 1/2", "☕ 휴식 1/1", "📖 공부 2/2"], [50, 60, 110]
    )
    assert [f.name for f in room.card().fields][-2:] == ["타이머", "일정"]
    await studio.advance(20 * MINUTE)
    await room.owner.slash(room.channel, "timer pause")
    assert room.timer_field("타이머").startswith("⏸ 공부 1/2에서 멈춤: 30분 남았어요.")
    assert room.schedule("타이머") == [
        f"⏸ 공부 1/2 · {clock(t0)} → 멈춤, 30분 남음",
        "☕ 휴식 1/1 · 10분",
        "📖 공부 2/2 · 50분",
    ]

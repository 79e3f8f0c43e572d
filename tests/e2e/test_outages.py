"""The stores going away under a running room, on PostgreSQL + Redis, as members see it.

Redis is a ``redis-server`` of the test's own, killed and started again on the same port and
directory (append-only file, fsynced on every write: how production must run it for nothing
to be lost). PostgreSQL is the shared server behind a TCP proxy the test cuts for 30 s of
virtual time. Neither outage restarts the bot: members' commands meanwhile are answered with
"try again in a moment", the alarms due meanwhile are posted once the store is back (or
during the outage, when they need no SQL), each once, and the run ends with the kings and
refunds of a run without an outage. The log says "storage unavailable" once and "storage
back" once, with no traceback per command or wake-up.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from simcord.results import InteractionResult
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.config import Config
from bot.domain.timer import MINUTE_MS
from storage.models import LedgerEntry
from tests.support.outages import (
    RedisServer,
    TcpProxy,
    fresh_postgres_database,
    postgres_port,
)
from tests.support.servers import POSTGRES_URL, require_postgres
from tests.support.studio import Studio, make_config
from tests.support.timer import StudyRoom, balance, confirmation, open_room

# SimCord's settle waits in real time for timers due within it: under the first probe's pause
# (1 s), the probes and retries are left to virtual time, which ``Studio.advance`` moves
pytestmark = pytest.mark.simcord(settle_timeout=0.9)

UNAVAILABLE = "StudyOn can't reach its storage right now, so nothing was changed."
PARTLY_DONE = "StudyOn lost its storage part-way through, so this may be only partly done."
UNAVAILABLE_KO = "지금 StudyOn이 저장소에 연결할 수 없어서 아무것도 바뀌지 않았어요."


@pytest.fixture
async def postgres_database() -> AsyncIterator[str]:
    url = await require_postgres()
    async with fresh_postgres_database(url) as name:
        yield name


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(*postgres_port(POSTGRES_URL))
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
def studyon_config(
    tmp_path: Path, postgres_database: str, redis_server: RedisServer, postgres_proxy: TcpProxy
) -> Config:
    url = make_url(POSTGRES_URL).set(
        host="127.0.0.1", port=postgres_proxy.port, database=postgres_database
    )
    return make_config(
        tmp_path,
        database={"url": url.render_as_string(hide_password=False)},
        session={"redis_url": redis_server.url},
    )


def answer(result: InteractionResult) -> str:
    """The private answer to an interaction (never "The application did not respond")."""
    assert result.acknowledged, "the application did not respond"
    message = result.followups[-1] if result.followups else result.response
    assert message is not None and message.ephemeral
    return message.content


async def running_room(studio: Studio) -> tuple[StudyRoom, int]:
    """alice's room with bob, a run of 2 × (1 + 1) min started: alarms at 1, 2 and 3 min.
    carol is in the server, not in the room."""
    town = studio.guild("alice", "bob", "carol")
    alice, bob, _carol = town.members
    room = await open_room(studio, town, alice, bob, study=1, brk=1, terms=2)
    await alice.slash(room.channel, "timer start")
    return room, studio.now_ms()


async def dismiss_all(room: StudyRoom, k: int) -> None:
    for member in room.members:
        clicked = await member.click(room.alarm(k), label="Dismiss")
        assert confirmation(clicked).content == f"Alarm #{k} dismissed, on time. ✅"


def alarm_names(room: StudyRoom) -> list[str]:
    return [a.content.split("**")[1] for a in room.alarms()]


def outage_lines(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    said = [r.getMessage() for r in caplog.records]
    return (
        [m for m in said if m.startswith("storage unavailable")],
        [m for m in said if m.startswith("storage back")],
    )


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def finish_and_check(studio: Studio, room: StudyRoom, t0: int, *, ledgers: int = 2) -> None:
    """The rest of the run: alarm #3, the end, kings and refunds as without an outage."""
    await studio.advance_to(t0 + 3 * MINUTE_MS)
    await dismiss_all(room, 3)
    await studio.advance_to(t0 + 4 * MINUTE_MS + 1000)
    assert alarm_names(room) == ["Alarm #1", "Alarm #2", "Alarm #3"]  # each once
    end = room.end_message()
    assert "👑 Today's Study Kings: **alice** (+100 points back), **bob** (+50 points back)" in (
        end.content
    )
    town = room.town
    alice, bob = room.members
    assert [await balance(m, town) for m in (alice, bob)] == [
        "Balance: **1000** points",
        "Balance: **1000** points",
    ]
    async with studio.bot.services.uow() as uow:
        rows = await uow.session.execute(
            select(LedgerEntry.user_id, func.count(), func.sum(LedgerEntry.amount))
            .where(LedgerEntry.guild_id == town.guild.id)
            .group_by(LedgerEntry.user_id)
            .order_by(LedgerEntry.user_id)
        )
        # signup bonus, the room's cost, its refund: three lines each, none doubled
        assert [(n, total) for _, n, total in rows] == [(3, 1000)] * ledgers


async def test_redis_restarted_mid_run(
    studio: Studio, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    room, t0 = await running_room(studio)
    alice, bob = room.members
    await studio.advance_to(t0 + MINUTE_MS)
    await dismiss_all(room, 1)

    await studio.advance_to(t0 + 90_000)
    redis_server.kill()
    # the commands that need live state are answered, privately, in the member's language
    status = await alice.slash(room.channel, "timer status")
    assert answer(status).startswith(UNAVAILABLE)
    paused = await alice.slash(room.channel, "timer pause")
    assert answer(paused).startswith(UNAVAILABLE)
    again = await bob.click(room.alarm(1), label="Dismiss")
    assert answer(again).startswith(UNAVAILABLE)
    # a join pays in SQL first: it is taken back when the live state cannot be written
    carol = room.town.members[2]
    joined = await carol.slash(room.town.general, "room join", room=str(room.room_id))
    assert answer(joined).startswith(UNAVAILABLE)
    # alarm #2 falls while Redis is down: it is owed, not lost
    await studio.advance_to(t0 + 2 * MINUTE_MS + 5_000)
    assert alarm_names(room) == ["Alarm #1"]

    redis_server.start()  # the same port and directory: the same live state
    await studio.advance(6)  # the probe notices within its longest pause (5 s)
    assert alarm_names(room) == ["Alarm #1", "Alarm #2"]
    assert "Posted late" in room.alarm(2).content
    await dismiss_all(room, 2)  # the grace window counts from the ring
    await studio.advance(30)
    assert alarm_names(room) == ["Alarm #1", "Alarm #2"]  # posted once

    # "nothing was changed" was true: the pause did not happen, the timer ran on, and
    # carol is not in the room, her payment returned (signup, join, refund)
    assert await studio.bot.services.rooms.rooms_of(room.town.guild.id, carol.id) == []
    assert await balance(carol, room.town) == "Balance: **1000** points"
    await finish_and_check(studio, room, t0, ledgers=3)
    down, back = outage_lines(caplog)
    assert len(down) == 1 and down[0].startswith("storage unavailable (session store: ")
    assert len(back) == 1 and back[0].startswith("storage back (session store, ")
    assert tracebacks(caplog) == []


async def test_postgres_unreachable_for_30_seconds(
    studio: Studio, postgres_proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    room, t0 = await running_room(studio)
    alice, bob = room.members
    await studio.advance_to(t0 + MINUTE_MS)
    await dismiss_all(room, 1)

    await studio.advance_to(t0 + 100_000)
    postgres_proxy.cut()
    cut_at = studio.now_ms()
    points = await alice.slash(room.town.general, "points")
    assert answer(points).startswith(UNAVAILABLE)
    info = await bob.slash(room.town.general, "room info", room=str(room.room_id))
    assert answer(info).startswith(UNAVAILABLE)
    # alarm #2 falls during the cut: its listeners read the room from SQL, so it is owed
    await studio.advance_to(t0 + 2 * MINUTE_MS + 5_000)
    assert alarm_names(room) == ["Alarm #1"]
    await studio.advance_to(cut_at + 30_000)
    assert alarm_names(room) == ["Alarm #1"]
    postgres_proxy.restore()
    await studio.advance(6)  # the probe notices within its longest pause (5 s)
    assert alarm_names(room) == ["Alarm #1", "Alarm #2"]
    assert "Posted late" in room.alarm(2).content
    await dismiss_all(room, 2)
    await studio.advance(30)
    assert alarm_names(room) == ["Alarm #1", "Alarm #2"]  # posted once

    await finish_and_check(studio, room, t0)
    assert alarm_names(room) == ["Alarm #1", "Alarm #2", "Alarm #3"]
    down, back = outage_lines(caplog)
    assert len(down) == 1 and down[0].startswith("storage unavailable (database: ")
    assert len(back) == 1 and back[0].startswith("storage back (database, ")
    assert tracebacks(caplog) == []


async def test_a_leave_recorded_before_redis_went_away_says_what_to_check(
    studio: Studio, redis_server: RedisServer
) -> None:
    room, _ = await running_room(studio)
    _alice, bob = room.members
    redis_server.kill()
    left = await bob.slash(room.town.general, "room leave", room=str(room.room_id))
    assert answer(left).startswith(PARTLY_DONE)
    redis_server.start()
    await studio.advance(6)
    # what /room info shows: bob has left
    assert await studio.bot.services.rooms.rooms_of(room.town.guild.id, bob.id) == []


async def test_a_room_made_while_redis_is_down_is_undone_and_paid_back(
    studio: Studio, redis_server: RedisServer
) -> None:
    town = studio.guild("alice")
    [alice] = town.members
    redis_server.kill()
    created = await alice.slash(
        town.general, "room create", title="Night owls", study=25, terms=2, **{"break": 5}
    )
    assert answer(created).startswith("I could not finish making your room, so it was not")
    redis_server.start()
    await studio.advance(6)
    # its channels are gone (the category made for rooms stays)
    assert [c.name for c in town.guild.channels.values()] == ["general", "Study Rooms"]
    assert await studio.bot.services.rooms.rooms_of(town.guild.id, alice.id) == []
    assert await balance(alice, town) == "Balance: **1000** points"


async def test_a_korean_member_is_told_in_korean(
    studio: Studio, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    room, _ = await running_room(studio)
    alice, _bob = room.members
    async with studio.bot.services.uow() as uow:
        await uow.members.set_locale(room.town.guild.id, alice.id, "ko", studio.now_ms())
        await uow.commit()
    studio.bot.forget_member_locale(room.town.guild.id, alice.id)
    await alice.slash(room.town.general, "points")  # the language is known from now on
    redis_server.kill()
    status = await alice.slash(room.channel, "timer status")
    assert answer(status).startswith(UNAVAILABLE_KO)
    redis_server.start()
    await studio.advance(6)
    assert studio.bot.services.outages.down() is False

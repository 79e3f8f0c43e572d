"""Starting over with a new database while the session file is kept: room ids begin at 1
again, so a new room has the key of an old one. The old room's live state must never be
attached to it, and the start-up says once, in one line, that it was cleared."""

from __future__ import annotations

import logging

import pytest

from bot.domain.timer import MINUTE_MS
from tests.support.studio import Studio
from tests.support.timer import MINUTE, at, open_room

REPORT = "the session store held live state of another database"


async def test_a_new_room_after_a_database_reset_has_no_ghost_run(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    old = await open_room(studio, town, alice, bob, title="Morning grind")
    await alice.slash(old.channel, "timer start")
    await studio.advance(55 * MINUTE)  # the old run posted alarm #1; #2 falls at 60 min
    assert len(old.alarms()) == 1

    await studio.restart(fresh_database=True)

    new = await open_room(studio, town, bob, alice, title="Evening grind")
    assert new.key == old.key  # the new database numbers rooms from 1 again
    started = await bob.slash(new.channel, "timer start")
    assert started.response is not None
    assert "started the timer" in started.response.content
    t1 = studio.now_ms()
    status = await alice.slash(new.channel, "timer status")
    assert status.response is not None and "Next alarm: #1 of 7." in status.response.content

    await studio.advance(15 * MINUTE)  # past the instant of the old run's alarm #2
    assert new.alarms() == []
    assert len(old.alarms()) == 1  # nor is anything posted where the old room was

    await studio.advance_to(t1 + 50 * MINUTE_MS)
    [alarm] = new.alarms()  # the new run's own first alarm, on its own schedule
    assert alarm.content.startswith("⏰ **Alarm #1**")
    assert alarm.created_at == at(t1 + 50 * MINUTE_MS)
    again = await bob.slash(new.channel, "timer start")
    assert again.response is not None
    assert again.response.content == "The timer is already running."


async def test_the_start_up_reports_the_reset_once_in_one_line(
    studio: Studio, caplog: pytest.LogCaptureFixture
) -> None:
    town = studio.guild("alice")
    [alice] = town.members
    room = await open_room(studio, town, alice)
    await alice.slash(room.channel, "timer start")
    await studio.advance(5 * MINUTE)
    caplog.set_level(logging.INFO)

    def reports() -> list[logging.LogRecord]:
        return [r for r in caplog.records if REPORT in r.getMessage()]

    await studio.restart()  # the same database: nothing to report
    assert reports() == []

    await studio.restart(fresh_database=True)
    [report] = reports()
    assert report.levelno == logging.WARNING
    assert report.getMessage() == (
        "the session store held live state of another database (1 running room(s)); it was cleared"
    )
    assert report.exc_info is None and "\n" not in report.getMessage()

    await studio.restart()  # the store now belongs to the new database
    assert len(reports()) == 1

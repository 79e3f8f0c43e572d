"""An announcement an earlier attempt posted but never recorded is found and adopted by the
retry (not posted again), and the retry finishes what that attempt died before: the card is
brought up to date, and the vote still closes when the results post says, counted from when
it appeared."""

from __future__ import annotations

import pytest

from bot.services.posted import PostedMessages
from tests.support.faults import fail_once, seconds
from tests.support.studio import Studio
from tests.support.timer import MINUTE, StudyRoom, open_room

# under the bot's 5-second retry pause, so a retry due soon is not waited for in real time
pytestmark = pytest.mark.simcord(settle_timeout=0.9)

VOTE_S = 300  # the default extension vote
DISCORD_EPOCH_MS = 1_420_070_400_000


async def ended_unrecorded(studio: Studio, monkeypatch: pytest.MonkeyPatch) -> StudyRoom:
    """A one-period run whose results were posted but not recorded (the attempt died right
    after posting), then adopted by the retry; the room."""
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, study=5, brk=5, terms=1)
    await alice.slash(room.channel, "timer start")
    await studio.advance(5 * MINUTE)
    calls = fail_once(monkeypatch, PostedMessages, "record_results")
    await studio.advance(MINUTE)  # the end is posted; recording it fails
    assert room.timer_field() != "Finished."  # the attempt died before editing the card
    await seconds(studio, 10)  # the retry finds the post among the channel's latest
    assert len(calls) == 2 and len(room.end_messages()) == 1
    return room


async def test_adopted_results_bring_the_card_up_to_date(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = await ended_unrecorded(studio, monkeypatch)
    assert room.timer_field() == "Finished."


async def test_adopted_results_keep_the_vote_they_announced(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = await ended_unrecorded(studio, monkeypatch)
    appeared_ms = (room.end_message().id >> 22) + DISCORD_EPOCH_MS
    vote_until = appeared_ms + VOTE_S * 1000
    assert f"<t:{vote_until // 1000}:R>" in room.end_message().content
    await studio.advance_to(vote_until - 1000)
    assert room.exists()  # the vote is still open
    await studio.advance(2)
    assert not room.exists()  # closed when the post said, not a retry's delay later


async def test_an_adopted_alarm_that_ends_a_study_period_at_its_longest_edits_the_card(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a flowtime room the card fixes a study period's end only when it reaches its
    longest, with the alarm: the retry that adopts that alarm makes the edit."""
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, study=30, brk=None, terms=2, mode="flowtime")
    await alice.slash(room.channel, "timer start")
    before = room.schedule()
    calls = fail_once(monkeypatch, PostedMessages, "record_alarm")
    await studio.advance(30 * MINUTE)  # study 1 reaches its longest; recording it fails
    assert room.schedule() == before
    await seconds(studio, 10)
    assert len(calls) == 2 and len(room.alarms()) == 1
    assert room.schedule() != before

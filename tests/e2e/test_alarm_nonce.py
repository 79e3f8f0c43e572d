"""A retried alarm whose earlier post went unrecorded: while Discord still remembers the
post's nonce, the retry posts with the same nonce and gets that message back (no read of the
channel, nothing new posted); once the alarm is older than the bot trusts that memory, the
retry looks among the channel's latest messages and adopts the post it finds, and so does a
retry whose turn in the REST pace came only after that."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot import pacing
from bot.pacing import Pacer
from bot.services.posted import PostedMessages
from bot.simulation import NONCE_REMEMBERED_S
from cogs.alarms.listener import NONCE_TRUSTED_MS
from tests.support.faults import Died, seconds
from tests.support.studio import Studio
from tests.support.timer import (
    MINUTE,
    StudyRoom,
    bot_calls,
    confirmation,
    open_room,
    requests_since,
)

# under the bot's 5-second retry pause, so a retry due soon is not waited for in real time
pytestmark = pytest.mark.simcord(settle_timeout=0.9)


def fail_until(studio: Studio, monkeypatch: pytest.MonkeyPatch, until_ms: int) -> list[int]:
    """Recording an alarm's message fails (the attempt dies right after posting) until
    ``until_ms``; the list counts the attempts."""
    original = PostedMessages.record_alarm
    calls: list[int] = []

    async def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(studio.now_ms())
        if studio.now_ms() < until_ms:
            raise Died("record_alarm")
        return await original(*args, **kwargs)

    monkeypatch.setattr(PostedMessages, "record_alarm", failing)
    return calls


async def started(studio: Studio) -> StudyRoom:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob, study=5, brk=5, terms=2)
    await alice.slash(room.channel, "timer start")
    return room


def reads_of(room: StudyRoom, calls: list[str]) -> list[str]:
    return [c for c in calls if c == f"GET /channels/{room.channel.id}/messages"]


def posts_in(room: StudyRoom, calls: list[str]) -> list[str]:
    return [c for c in calls if c == f"POST /channels/{room.channel.id}/messages"]


async def test_a_retry_soon_after_an_unrecorded_post_repeats_the_nonce_and_reads_nothing(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = await started(studio)
    fell_ms = studio.now_ms() + 5 * MINUTE * 1000
    calls = fail_until(studio, monkeypatch, fell_ms + 20_000)
    await studio.advance(5 * MINUTE - 1)
    mark = len(studio.env.http_requests)
    await seconds(studio, 40)  # posted; recording fails for 20 s; the retries repeat the nonce
    made = bot_calls(requests_since(studio, mark))
    assert len(calls) >= 4  # the first attempt and at least three retries
    assert len(posts_in(room, made)) == len(calls)  # each retry posted again, with the nonce
    assert reads_of(room, made) == []  # and none read the channel
    [alarm] = room.alarms()
    clicked = await room.members[1].click(alarm, label="Dismiss")
    assert confirmation(clicked).content == "Alarm #1 dismissed, on time. ✅"


async def test_a_retry_after_discord_forgot_the_nonce_finds_the_post_and_adopts_it(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert NONCE_TRUSTED_MS < NONCE_REMEMBERED_S * 1000
    room = await started(studio)
    fell_ms = studio.now_ms() + 5 * MINUTE * 1000
    # recording fails until the simulated Discord has forgotten the first post's nonce: a
    # retry that posted then would post the alarm twice
    forgotten_ms = fell_ms + NONCE_REMEMBERED_S * 1000 + 5_000
    calls = fail_until(studio, monkeypatch, forgotten_ms)
    await studio.advance(5 * MINUTE - 1)
    mark = len(studio.env.http_requests)
    await seconds(studio, NONCE_REMEMBERED_S + 20)
    made = bot_calls(requests_since(studio, mark))
    trusted = [at for at in calls if at - fell_ms < NONCE_TRUSTED_MS]
    assert calls[-1] >= forgotten_ms  # the last attempt came after the nonce was forgotten
    assert len(posts_in(room, made)) == len(trusted)  # later attempts looked instead of posting
    assert len(reads_of(room, made)) == len(calls) - len(trusted)
    [alarm] = room.alarms()
    assert alarm.content.startswith("⏰ **Alarm #1**")


async def test_the_simulated_discord_answers_a_repeated_nonce_with_the_first_message(
    studio: Studio,
) -> None:
    town = studio.guild("alice")
    channel = studio.bot.get_partial_messageable(town.general.id, guild_id=town.guild.id)
    first = await channel.send("one", nonce="n1")
    again = await channel.send("one", nonce="n1")
    other = await channel.send("two", nonce="n2")
    assert again.id == first.id and other.id != first.id
    await studio.advance(NONCE_REMEMBERED_S + 1)
    later = await channel.send("one", nonce="n1")
    assert later.id != first.id  # remembered for a few minutes only


class BehindAStorm:
    """The pace as a retry meets it behind a storm of other rooms' alarms: once ``armed``,
    the next call's turn comes ``wait_s`` later (the wall clock moves on meanwhile)."""

    per_second = 0

    def __init__(self, studio: Studio, wait_s: float) -> None:
        self.studio, self.wait_s, self.armed = studio, wait_s, False

    async def take(self) -> float:
        if self.armed:
            self.armed = False
            self.studio.clock.shift(timedelta(seconds=self.wait_s))
        return 0.0

    async def close(self) -> None:
        return None


async def test_a_retry_whose_turn_comes_too_late_for_the_nonce_looks_first_after_all(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trusted when it began (the alarm fell 5 s before), the retry's post waits its turn past
    the trusted minute: it is not sent; the channel is read, and the post found is adopted."""
    room = await started(studio)
    fell_ms = studio.now_ms() + 5 * MINUTE * 1000
    calls = fail_until(studio, monkeypatch, fell_ms + 1)  # the first attempt dies unrecorded
    storm = BehindAStorm(studio, NONCE_TRUSTED_MS / 1000 + 1)
    pacing.install(studio.bot.http, Pacer(storm))
    await studio.advance(5 * MINUTE)
    assert len(calls) == 1 and len(room.alarms()) == 1
    mark = len(studio.env.http_requests)
    storm.armed = True  # the retry's first call waits past the minute
    await seconds(studio, 6)
    made = bot_calls(requests_since(studio, mark))
    assert len(calls) == 2  # the retry recorded the post it found
    assert posts_in(room, made) == []  # the post waiting its turn was withheld
    assert len(reads_of(room, made)) == 1
    [alarm] = room.alarms()
    clicked = await room.members[1].click(alarm, label="Dismiss")
    assert "Alarm #1 dismissed" in (confirmation(clicked).content or "")

"""What an alarm says and what it costs: one message per boundary, two REST calls (the
message and the bot's ⏰ reaction; the card already shows the whole run) and none between
boundaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config
from bot.domain.timer import MINUTE_MS
from tests.support.studio import Studio, make_config
from tests.support.timer import ALARM, FOLD_S, MINUTE, bot_calls, open_room, requests_since

BOUNDARIES = [50, 60, 110, 120, 170, 180, 230]


async def test_rest_calls_per_boundary_and_between(studio: Studio) -> None:
    town = studio.guild("alice", "bob", "carol")
    alice, bob, carol = town.members
    room = await open_room(studio, town, alice, bob, carol)
    await alice.slash(room.channel, "timer start")
    t0 = studio.now_ms()
    channel = room.channel_id

    per_boundary: list[list[str]] = []
    for minute in BOUNDARIES:
        mark = len(studio.env.http_requests)
        await studio.advance_to(t0 + minute * MINUTE_MS - 1000)
        assert bot_calls(requests_since(studio, mark)) == []  # nothing between boundaries
        mark = len(studio.env.http_requests)
        await studio.advance(1)
        per_boundary.append(bot_calls(requests_since(studio, mark)))

    for calls in per_boundary:
        # the alarm alone: never the card (a boundary changes nothing it shows), and no ⏰
        # reaction of the bot's own
        assert calls == [f"POST /channels/{channel}/messages"]
    assert len(room.alarms()) == 7

    mark = len(studio.env.http_requests)
    await studio.advance(MINUTE)  # the last alarm's grace window ends: the results
    assert bot_calls(requests_since(studio, mark)) == [
        f"POST /channels/{channel}/messages",
        f"PATCH /channels/{channel}/messages/{room.card_message().id}",  # "Finished."
    ]
    mark = len(studio.env.http_requests)
    await studio.advance(4 * MINUTE)
    assert bot_calls(requests_since(studio, mark)) == []  # nothing while the vote is open


async def test_each_kind_of_boundary_says_what_ended_and_what_starts(studio: Studio) -> None:
    town = studio.guild("alice")
    [alice] = town.members
    room = await open_room(studio, town, alice, terms=2)
    await alice.slash(room.channel, "timer start")
    t0 = studio.now_ms()
    await studio.advance(110 * MINUTE)
    first, second, last = (a.content.splitlines() for a in room.alarms())
    assert first == [
        "⏰ **Alarm #1**: study period 1 of 2 is over. Take a 10-minute break; "
        f"it ends <t:{(t0 + 60 * MINUTE_MS) // 1000}:R>.",
        "Press **Dismiss** or react ⏰ within 60 seconds to count it as on time.",
        "After this break, study period 2 of 2 starts.",
    ]
    assert second == [
        "⏰ **Alarm #2**: the break is over. Study period 2 of 2 starts now and ends "
        f"<t:{(t0 + 110 * MINUTE_MS) // 1000}:R>.",
        "Press **Dismiss** or react ⏰ within 60 seconds to count it as on time.",
    ]
    assert last == [
        "⏰ **Alarm #3**: study period 2 of 2 is over, and so is the run. Well done!",
        "Press **Dismiss** or react ⏰ within 60 seconds to count it as on time.",
    ]


@pytest.fixture
def studyon_config(tmp_path: Path, request: pytest.FixtureRequest) -> Config:
    if request.function.__name__.endswith("_in_korean"):
        return make_config(
            tmp_path, i18n={"default_locale": "ko"}, timer={"alarm_grace_seconds": 90}
        )
    return make_config(tmp_path)


async def test_alarms_speak_the_servers_language_in_korean(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob)
    await alice.slash(room.channel, "timer start")
    await studio.advance(50 * MINUTE)
    [alarm] = room.alarms()
    assert alarm.content.startswith("⏰ **알람 #1**: 4회 중 1번째 공부가 끝났어요.")
    assert "90초 안에" in alarm.content
    assert "이번 휴식이 끝나면 4회 중 2번째 공부가 시작돼요." in alarm.content
    clicked = await bob.click(alarm, label="끄기")
    [confirmed] = clicked.followups  # bob's own language: English
    assert confirmed.ephemeral and confirmed.content == "Alarm #1 dismissed, on time. ✅"
    await studio.advance(91)
    await alice.react(alarm, ALARM)
    await studio.advance(FOLD_S)  # reactions are shown within a few seconds
    [alarm] = room.alarms()
    assert alarm.embeds[0].description == (
        "**bob** 님이 알람 #1을 껐어요\n**alice** 님이 알람 #1을 껐어요 (늦음)"
    )

"""``/timer start at:… [date:…]``: the owner schedules the run; the card, ``/room info``,
``/room list`` and ``/timer status`` show when it starts; it starts on time (through
restarts, or at once after one across the instant); ``/timer stop`` cancels it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.timer import MINUTE_MS
from tests.support.studio import Studio, speak_korean
from tests.support.timer import MINUTE, StudyRoom, at, open_room, requests_since

HOUR_MS = 60 * MINUTE_MS


def ahead(studio: Studio, minutes: int) -> tuple[str, str, int]:
    """The UTC clock time, day and instant ``minutes`` (and a bit) from now, on the minute."""
    when = datetime.fromtimestamp(studio.now_ms() / 1000, UTC) + timedelta(minutes=minutes)
    when = when.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return when.strftime("%H:%M"), when.strftime("%Y-%m-%d"), int(when.timestamp() * 1000)


def shown(ms: int) -> str:
    return f"<t:{ms // 1000}:F> (<t:{ms // 1000}:R>)"


async def a_room(studio: Studio) -> StudyRoom:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    return await open_room(studio, town, alice, bob)


async def scheduled(studio: Studio, minutes: int = 90) -> tuple[StudyRoom, int]:
    room = await a_room(studio)
    hhmm, day, start = ahead(studio, minutes)
    result = await room.owner.slash(room.channel, "timer start", at=hhmm, date=day)
    assert result.response is not None and not result.ephemeral
    assert result.response.content == (
        f"🗓️ **alice** scheduled the timer to start {shown(start).replace(' (', ' (', 1)} "
        "in UTC time."
    )
    return room, start


async def test_the_owner_schedules_and_every_view_shows_it(studio: Studio) -> None:
    room, start = await scheduled(studio)
    assert room.timer_field() == f"Starts {shown(start)}."
    bob = room.members[1]
    status = await bob.slash(room.channel, "timer status")
    assert status.response is not None
    assert f"Not running yet: it starts {shown(start)}." in status.response.content
    info = await bob.slash(room.town.general, "room info", room=str(room.room_id))
    assert info.response is not None
    fields = {f.name: f.value for f in info.response.embeds[0].fields}
    assert fields["Timer"] == f"Starts {shown(start)}."
    listed = await bob.slash(room.town.general, "room list")
    assert listed.response is not None
    [line] = [f.value for f in listed.response.embeds[0].fields]
    assert line is not None and f"Starts {shown(start)}" in line


async def test_without_a_date_it_is_the_next_time_the_clock_shows_it(studio: Studio) -> None:
    room = await a_room(studio)
    hhmm, _, start = ahead(studio, 30)
    result = await room.owner.slash(room.channel, "timer start", at=hhmm)
    assert result.response is not None and not result.ephemeral
    assert room.timer_field() == f"Starts {shown(start)}."


async def test_a_non_owner_a_past_time_and_a_second_schedule_are_refused(studio: Studio) -> None:
    room = await a_room(studio)
    alice, bob = room.members
    hhmm, day, _ = ahead(studio, 60)
    refused = await bob.slash(room.channel, "timer start", at=hhmm, date=day)
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content == "Only the room owner can do that."
    past, today, _ = ahead(studio, -120)
    refused = await alice.slash(room.channel, "timer start", at=past, date=today)
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content == "The start time has already passed. Pick a time still ahead."
    refused = await alice.slash(room.channel, "timer start", at="25:00")
    assert refused.ephemeral and refused.response is not None
    assert "HH:MM" in refused.response.content
    far = (datetime.fromtimestamp(studio.now_ms() / 1000, UTC) + timedelta(days=8)).date()
    refused = await alice.slash(room.channel, "timer start", at=hhmm, date=far.isoformat())
    assert refused.ephemeral and refused.response is not None
    assert "at most 7 days in advance" in refused.response.content
    assert room.timer_field() == "Not started. The owner starts it with `/timer start`."
    ok = await alice.slash(room.channel, "timer start", at=hhmm, date=day)
    assert not ok.ephemeral
    again = await alice.slash(room.channel, "timer start", at=hhmm, date=day)
    assert again.ephemeral and again.response is not None
    assert again.response.content.startswith("A start is already scheduled for this room.")
    now = await alice.slash(room.channel, "timer start")
    assert now.ephemeral and now.response is not None
    assert now.response.content.startswith("A start is already scheduled for this room.")


async def test_a_running_room_refuses_a_schedule(studio: Studio) -> None:
    room = await a_room(studio)
    await room.owner.slash(room.channel, "timer start")
    hhmm, day, _ = ahead(studio, 90)
    refused = await room.owner.slash(room.channel, "timer start", at=hhmm, date=day)
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content == "The timer is already running."


async def test_it_starts_on_time_and_the_first_alarm_follows(studio: Studio) -> None:
    room, start = await scheduled(studio)
    mark = len(studio.env.http_requests)
    await studio.advance_to(start - MINUTE_MS)
    assert requests_since(studio, mark) == []  # waiting costs nothing
    assert room.alarms() == []
    await studio.advance_to(start)
    [line] = [m for m in room.bot_messages() if "started the timer" in m.content]
    assert line.content.startswith("▶️ **alice** started the timer: 4 × 50 min of study")
    assert line.created_at == at(start)
    assert room.timer_field().startswith("Runs ")
    await studio.advance(50 * MINUTE)
    [alarm] = room.alarms()
    assert alarm.created_at == at(start + 50 * MINUTE_MS)


async def test_stop_cancels_it_and_nothing_starts(studio: Studio) -> None:
    room, start = await scheduled(studio)
    stopped = await room.owner.slash(room.channel, "timer stop")
    assert stopped.response is not None and not stopped.ephemeral
    assert stopped.response.content.startswith("⏹ **alice** cancelled the scheduled start.")
    assert room.timer_field() == "Not started. The owner starts it with `/timer start`."
    await studio.advance_to(start + 60 * MINUTE_MS)
    assert room.alarms() == []
    assert not [m for m in room.bot_messages() if "started the timer" in m.content]
    again = await room.owner.slash(room.channel, "timer stop")
    assert again.ephemeral and again.response is not None
    assert again.response.content == "The timer is not running."


async def test_a_restart_before_the_instant_still_starts_it_on_time(studio: Studio) -> None:
    room, start = await scheduled(studio)
    await studio.advance(30 * MINUTE)
    await studio.restart()
    assert room.timer_field() == f"Starts {shown(start)}."
    await studio.advance_to(start)
    [line] = [m for m in room.bot_messages() if "started the timer" in m.content]
    assert line.created_at == at(start)
    await studio.advance(50 * MINUTE)
    [alarm] = room.alarms()
    assert alarm.created_at == at(start + 50 * MINUTE_MS)


async def test_a_restart_across_the_instant_starts_it_at_once_counted_from_then(
    studio: Studio,
) -> None:
    room, start = await scheduled(studio, minutes=10)
    studio.bot.services.scheduler.shutdown()  # down: nothing fires
    await studio.advance_to(start + 20 * MINUTE_MS)
    back = studio.now_ms()
    await studio.restart()
    [line] = [m for m in room.bot_messages() if "started the timer" in m.content]
    assert line.created_at >= at(back)
    view = await studio.bot.services.timers.status_of(room.key)
    assert view is not None and view.started_ms >= back
    await studio.advance(50 * MINUTE)
    [alarm] = room.alarms()
    assert "Posted late" not in alarm.content


async def test_refusals_in_korean(studio: Studio) -> None:
    room = await a_room(studio)
    await speak_korean(studio, room.town, room.owner)
    past, today, _ = ahead(studio, -120)
    refused = await room.owner.slash(room.channel, "timer start", at=past, date=today)
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content == "시작 시각이 이미 지났어요. 앞으로 올 시각을 골라 주세요."
    refused = await room.owner.slash(room.channel, "timer start", at="7시")
    assert refused.response is not None
    assert refused.response.content.startswith("시작 시각은 24시간제 HH:MM 형식이어야 해요")
    hhmm, day, _ = ahead(studio, 60)
    await room.owner.slash(room.channel, "timer start", at=hhmm, date=day)
    again = await room.owner.slash(room.channel, "timer start", at=hhmm, date=day)
    assert again.response is not None
    assert again.response.content.startswith("이 방은 이미 시작이 예약되어 있어요.")

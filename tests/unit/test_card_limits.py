"""The room card of the largest room and run fits Discord's embed limits, in every language.

The largest run is 12 terms (23 phases) of the longest study and break; the card lists each
phase with its times, and the longest line is a phase the owner ended early. The largest
room has the longest title, notice and tags and a full room of members.
"""

from __future__ import annotations

import discord
import pytest

from bot.domain.members import LOCALES
from bot.domain.rooms import (
    CAPACITY_MAX,
    NOTICE_MAX,
    TAG_MAX,
    TAGS_MAX,
    TITLE_MAX,
    RoomInfo,
    RoomStatus,
    RoomView,
    Stay,
)
from bot.domain.run import Run
from bot.domain.timer import BREAK_MINUTES, MINUTE_MS, STUDY_MINUTES, TERMS, Pattern, Timer
from bot.i18n import t
from bot.services.timer import TimerView
from bot.services.timer.common import view_of
from cogs._card import render_card
from storage.session.base import RoomKey

# Discord's embed limits
TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
TOTAL = 6000

START_MS = 4_102_444_800_000  # 2100-01-01: timestamps as long as they will be for a while
SNOWFLAKE = 1_456_074_443_980_800_012  # 19 digits, as long as a user id is
KEY = RoomKey(SNOWFLAKE, 1)
PATTERN = Pattern.from_minutes(STUDY_MINUTES[1], BREAK_MINUTES[1], TERMS[1])


def largest_room() -> RoomView:
    room = RoomInfo(
        id=1,
        guild_id=SNOWFLAKE,
        owner_id=SNOWFLAKE,
        title="T" * TITLE_MAX,
        notice="N" * NOTICE_MAX,
        tags=tuple(f"{i}" * TAG_MAX for i in range(TAGS_MAX)),
        capacity=CAPACITY_MAX,
        study_ms=PATTERN.study_ms,
        break_ms=PATTERN.break_ms,
        terms=PATTERN.terms,
        status=RoomStatus.OPEN,
        text_channel_id=SNOWFLAKE,
        voice_channel_id=SNOWFLAKE,
        card_message_id=SNOWFLAKE,
        created_ms=START_MS,
    )
    members = tuple(Stay(SNOWFLAKE + i, START_MS, 1) for i in range(CAPACITY_MAX))
    return RoomView(room, members)


def every_phase_skipped() -> Timer:
    timer = Timer(PATTERN, START_MS)
    for k in range(1, PATTERN.boundary_count + 1):
        timer = timer.skip(START_MS + k * MINUTE_MS)
    return timer


def paused_in_the_last_phase() -> Timer:
    timer = Timer(PATTERN, START_MS)
    for k in range(1, PATTERN.boundary_count):
        timer = timer.skip(START_MS + k * MINUTE_MS)
    return timer.pause(START_MS + PATTERN.boundary_count * MINUTE_MS)


def view(timer: Timer) -> TimerView:
    return view_of(KEY, Run(1, timer), timer.events[-1].at_ms if timer.events else START_MS)


RUNS = {
    "not started": None,
    "running": view(Timer(PATTERN, START_MS)),
    "paused at once": view(Timer(PATTERN, START_MS).pause(START_MS + MINUTE_MS)),
    "paused in the last phase": view(paused_in_the_last_phase()),
    "every phase ended early": view(every_phase_skipped()),
}


def total(embed: discord.Embed) -> int:
    return (
        len(embed.title or "")
        + len(embed.description or "")
        + sum(len(f.name or "") + len(f.value or "") for f in embed.fields)
        + len(embed.footer.text or "")
        + len(embed.author.name or "")
    )


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("run", RUNS)
def test_the_largest_card_fits_discords_limits(run: str, locale: str) -> None:
    embed = render_card(largest_room(), RUNS[run], locale)
    assert len(embed.title or "") <= TITLE
    assert len(embed.description or "") <= DESCRIPTION
    assert len(embed.fields) <= FIELDS
    for f in embed.fields:
        assert 0 < len(f.name or "") <= FIELD_NAME
        assert 0 < len(f.value or "") <= FIELD_VALUE
    assert total(embed) <= TOTAL


@pytest.mark.parametrize("locale", LOCALES)
def test_the_largest_schedule_is_all_there(locale: str) -> None:
    embed = render_card(largest_room(), RUNS["every phase ended early"], locale)
    names = [f.name for f in embed.fields]
    schedule = embed.fields[names.index(t("card.timer", locale)) + 1 :]
    assert len(schedule) > 1  # one field would not hold it
    assert [f.name for f in schedule] == [
        t("card.schedule.part", locale, part=i, parts=len(schedule))
        for i in range(1, len(schedule) + 1)
    ]
    lines = [line for f in schedule for line in (f.value or "").splitlines()]
    assert len(lines) == PATTERN.boundary_count  # every phase, none left out
    assert all("<t:" in line for line in lines)

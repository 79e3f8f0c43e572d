"""The configured ``[i18n] default_timezone`` is every member's day until they pick their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from simcord.actors import MemberActor
from simcord.builders import ChannelHandle

from bot.config import Config
from tests.support.studio import Studio, make_config


@pytest.fixture
def studyon_config(tmp_path: Path) -> Config:
    return make_config(tmp_path, i18n={"default_timezone": "Asia/Seoul"})


async def say(member: MemberActor, channel: ChannelHandle, name: str, **options: Any) -> str:
    result = await member.slash(channel, name, **options)
    assert result.ephemeral and result.response is not None
    return result.response.content


async def test_the_configured_zone_is_the_default(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    # 2026-01-01 00:00 UTC is 09:00 in Seoul
    assert "today (2026-01-01)" in await say(alice, channel, "todo add", text="plan")
    await studio.advance(15 * 3600 + 60)  # 00:01 on the 2nd in Seoul, 15:01 UTC on the 1st
    assert "today (2026-01-02)" in await say(alice, channel, "todo list")
    assert "**January 2026**" in await say(alice, channel, "calendar")
    # the member's own zone wins over the configured one
    await say(alice, channel, "settings timezone", zone="UTC")
    assert "today (2026-01-01)" in await say(alice, channel, "todo list")

"""Guild limits from the configuration: a creation cost above the welcome bonus, and a room
capacity smaller than Discord's option range allows."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config
from tests.support.rooms import answered, balance, channel_ids, counts, create
from tests.support.studio import Studio, make_config


@pytest.fixture
def studyon_config(tmp_path: Path) -> Config:
    return make_config(tmp_path, points={"room_create_cost": 1500}, rooms={"max_capacity": 3})


async def test_a_cost_above_the_balance_is_refused_with_nothing_made(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    before_channels, before_rows = channel_ids(town), await counts(studio)

    result = await create(alice, town.general)

    assert answered(result) == "You need 1500 points but have 1000."
    assert channel_ids(town) == before_channels
    assert await counts(studio) == before_rows
    assert await balance(studio, town, alice) == 1000


async def test_capacity_above_the_guild_maximum_is_refused(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    before_channels = channel_ids(town)

    result = await create(alice, town.general, capacity=4)

    assert answered(result) == "The capacity must be between 2 and 3."
    assert channel_ids(town) == before_channels

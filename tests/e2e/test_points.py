"""``/points`` as a member sees it."""

from __future__ import annotations

from tests.support.studio import Studio, response_of


async def test_points_shows_the_welcome_bonus_once(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]

    first = await alice.slash(channel, "points")
    assert first.ephemeral
    embed = response_of(first).embeds[0]
    assert "**1000**" in (embed.description or "")
    assert "welcome bonus" in (embed.fields[0].value or "")

    again = await alice.slash(channel, "points")
    assert "**1000**" in (response_of(again).embeds[0].description or "")
    assert (response_of(again).embeds[0].fields[0].value or "").count("welcome bonus") == 1

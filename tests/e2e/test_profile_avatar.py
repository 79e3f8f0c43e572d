"""The member's avatar on the ``/profile`` card: fetched once, drawn in a circle, and the
initial when there is no avatar or it cannot be fetched."""

from __future__ import annotations

import pytest
from PIL import Image

from bot.render.palette import ACCENT, BACKGROUND
from bot.render.profile import AVATAR, PAD
from tests.e2e.test_profile_card import card_of
from tests.support.avatars import AvatarCdn, solid_png
from tests.support.studio import Studio, Town, response_of

RED = (220, 40, 60)
TEAL = (20, 180, 160)
# the avatar's circle on the card (``layout_card``): its middle, a point inside it near its
# left edge, and its box's top-left corner, outside the circle
LEFT, TOP = PAD, PAD + 4
MIDDLE = (LEFT + AVATAR // 2, TOP + AVATAR // 2)
INSIDE = (LEFT + 6, TOP + AVATAR // 2)
CORNER = (LEFT + 1, TOP + 1)


@pytest.fixture
def cdn(studio: Studio, monkeypatch: pytest.MonkeyPatch) -> AvatarCdn:
    served = AvatarCdn()
    served.install(studio.env, monkeypatch)
    return served


def with_avatar(studio: Studio, name: str, avatar: str | None) -> Town:
    guild = studio.env.create_guild()
    general = guild.create_text_channel("general")
    member = guild.add_member(studio.env.create_user(name, avatar=avatar))
    return Town(guild, general, [member])


def rgb(image: Image.Image, at: tuple[int, int]) -> tuple[int, int, int]:
    value = image.convert("RGB").getpixel(at)
    assert isinstance(value, tuple)
    return value[0], value[1], value[2]


async def test_the_card_shows_my_avatar_in_a_circle_fetched_once(
    studio: Studio, cdn: AvatarCdn
) -> None:
    town = with_avatar(studio, "alice", "a1b2c3")
    alice = town.members[0]
    cdn.serve(alice.id, "a1b2c3", solid_png(RED))

    image = await card_of(await alice.slash(town.general, "profile"))
    assert rgb(image, MIDDLE) == RED
    assert rgb(image, INSIDE) == RED
    assert rgb(image, CORNER) == BACKGROUND  # a circle, not a square
    fetched = cdn.fetches_of(alice.id)
    assert len(fetched) == 1
    assert fetched[0].endswith("/a1b2c3.png?size=128")  # small, not the 1024 px default

    again = await card_of(await alice.slash(town.general, "profile"))
    assert rgb(again, MIDDLE) == RED
    assert len(cdn.fetches_of(alice.id)) == 1  # kept: the second card cost no fetch


async def test_someone_elses_card_shows_their_avatar(studio: Studio, cdn: AvatarCdn) -> None:
    town = with_avatar(studio, "alice", None)
    alice = town.members[0]
    bob = town.guild.add_member(studio.env.create_user("bob", avatar="b0b"))
    cdn.serve(bob.id, "b0b", solid_png(TEAL))
    result = await alice.slash(town.general, "profile", member=bob)
    assert "**bob**" in response_of(result).content
    assert rgb(await card_of(result), MIDDLE) == TEAL


async def test_no_avatar_draws_the_initial_and_fetches_nothing(
    studio: Studio, cdn: AvatarCdn
) -> None:
    town = with_avatar(studio, "alice", None)
    alice = town.members[0]
    image = await card_of(await alice.slash(town.general, "profile"))
    assert rgb(image, INSIDE) == ACCENT  # the blurple circle of the initial
    assert rgb(image, CORNER) == BACKGROUND
    assert cdn.avatar_fetches == []


async def test_a_failed_fetch_falls_back_to_the_initial_and_is_tried_again(
    studio: Studio, cdn: AvatarCdn
) -> None:
    town = with_avatar(studio, "alice", "gone")  # the CDN has no such image: 404
    alice = town.members[0]
    result = await alice.slash(town.general, "profile")
    assert "**alice**" in response_of(result).content
    assert rgb(await card_of(result), INSIDE) == ACCENT
    assert len(cdn.fetches_of(alice.id)) == 1

    cdn.serve(alice.id, "gone", solid_png(RED))  # the CDN answers again
    image = await card_of(await alice.slash(town.general, "profile"))
    assert rgb(image, MIDDLE) == RED
    assert len(cdn.fetches_of(alice.id)) == 2


async def test_an_unreadable_avatar_falls_back_to_the_initial(
    studio: Studio, cdn: AvatarCdn
) -> None:
    town = with_avatar(studio, "alice", "junk")
    alice = town.members[0]
    cdn.serve(alice.id, "junk", b"not an image")
    image = await card_of(await alice.slash(town.general, "profile"))
    assert rgb(image, INSIDE) == ACCENT

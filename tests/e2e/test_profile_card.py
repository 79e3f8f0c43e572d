"""``/profile``: the member's page as a PNG, privately, with numbers that match their data."""

from __future__ import annotations

import io

from PIL import Image
from simcord.results import InteractionResult

from bot.render.profile import WIDTH
from tests.support.studio import Studio, response_of, speak_korean
from tests.support.voice import MINUTE, open_room, start_timer


async def card_of(result: InteractionResult) -> Image.Image:
    attachments = response_of(result).attachments
    assert [a.filename for a in attachments] == ["profile.png"]
    image = Image.open(io.BytesIO(await attachments[0].read()))
    image.load()
    return image


async def test_my_profile_is_a_private_png_with_my_numbers(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob)
    todo = await studio.bot.services.todos.add(town.guild.id, bob.id, "read ch. 4")
    await studio.bot.services.todos.add(town.guild.id, bob.id, "exercises")
    await studio.bot.services.todos.done(town.guild.id, bob.id, todo.id)
    await start_timer(alice, room)
    await bob.join_voice(room.voice)
    await studio.advance(30 * MINUTE)  # still in voice: the open session counts too

    result = await bob.slash(town.general, "profile")
    assert result.ephemeral
    content = response_of(result).content
    assert "**bob**" in content
    assert "950 points" in content  # 1000 welcome bonus − 50 to join
    assert "studied 30m today" in content
    assert "todos 1/2" in content
    assert "1-day streak" in content  # a todo done today
    image = await card_of(result)
    assert image.format == "PNG"
    assert image.size[0] == WIDTH and image.size[1] > 300
    colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20  # not blank


async def test_anyone_may_look_at_anothers_page_privately(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    await alice.slash(town.general, "points")  # alice has used the bot: 1000 points

    result = await bob.slash(town.general, "profile", member=alice)
    assert result.ephemeral
    assert "**alice**" in response_of(result).content
    assert "1000 points" in response_of(result).content
    assert (await card_of(result)).size[0] == WIDTH

    # looking at someone who never used the bot gives them nothing and shows zero
    carol = town.guild.add_member(studio.env.create_user("carol"))
    seen = await bob.slash(town.general, "profile", member=carol)
    assert "0 points" in response_of(seen).content
    async with studio.bot.services.uow() as uow:
        assert await uow.ledger.balance(town.guild.id, carol.id) == 0


async def test_profile_in_korean(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    await speak_korean(studio, town, alice)
    result = await alice.slash(town.general, "profile")
    assert "1000 포인트" in response_of(result).content
    assert "0일 연속" in response_of(result).content
    assert (await card_of(result)).size[0] == WIDTH

"""Finding rooms: ``/room list`` (filters, pages), ``/room info`` and the ``room`` option's
autocomplete. Rooms are free here (creation cost 0), so a test can open dozens."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config
from tests.support.rooms import Made, answered, make_room, pings_nobody
from tests.support.studio import Studio, Town, make_config


@pytest.fixture
def studyon_config(tmp_path: Path) -> Config:
    return make_config(tmp_path, points={"room_create_cost": 0})


async def open_rooms(studio: Studio, town: Town, count: int, prefix: str = "Room") -> list[Made]:
    return [
        await make_room(studio, town, town.members[0], f"{prefix} {i:02d}") for i in range(count)
    ]


async def test_an_empty_list_says_so(studio: Studio) -> None:
    town = studio.guild("alice")
    result = await town.members[0].slash(town.general, "room list")
    assert answered(result) == "There are no open study rooms yet. Open one with `/room create`."


async def test_the_list_pages_ten_rooms_at_a_time_newest_first(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    await open_rooms(studio, town, 12)

    first = await alice.slash(town.general, "room list")
    second = await alice.slash(town.general, "room list", page=2)
    third = await alice.slash(town.general, "room list", page=3)

    assert first.ephemeral and second.ephemeral
    page1 = first.response.embeds[0]  # type: ignore[union-attr]
    page2 = second.response.embeds[0]  # type: ignore[union-attr]
    assert [f.name for f in page1.fields] == [f"Room {i:02d}" for i in range(11, 1, -1)]
    assert [f.name for f in page2.fields] == ["Room 01", "Room 00"]
    assert page1.footer.text is not None and page1.footer.text.startswith(
        "Page 1 of 2 · 12 room(s)"
    )
    assert page2.footer.text is not None and page2.footer.text.startswith("Page 2 of 2")
    assert "1/25 members · 50 min study, 10 min break × 4" in (page1.fields[0].value or "")
    assert answered(third) == "There is no page 3: the rooms fit on 2 page(s)."


async def test_the_list_filters_by_tag_and_title(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    await make_room(studio, town, alice, "Math grind", tags="#math, exam prep")
    await make_room(studio, town, alice, "Physics", tags="physics")
    await make_room(studio, town, alice, "math club", tags="club")

    async def titles(**filters: str) -> list[str | None]:
        result = await alice.slash(town.general, "room list", **filters)
        assert result.ephemeral and result.response is not None
        return [f.name for f in result.response.embeds[0].fields]

    assert await titles(tag="#Math") == ["Math grind"]
    assert await titles(tag="exam prep") == ["Math grind"]
    assert await titles(query="MATH") == ["math club", "Math grind"]
    assert await titles(query="math", tag="club") == ["math club"]
    nothing = await alice.slash(town.general, "room list", tag="chem")
    assert answered(nothing) == "No open study room matches tag `#chem`."
    nothing = await alice.slash(town.general, "room list", query="bio")
    assert answered(nothing) == "No open study room matches title containing “bio”."


async def test_title_search_ignores_case_in_every_script(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    oko = await make_room(studio, town, alice, "Ökonomie", capacity=4)
    eco = await make_room(studio, town, alice, "éco club")
    await make_room(studio, town, alice, "Physics")

    async def titles(query: str) -> list[str | None]:
        result = await bob.slash(town.general, "room list", query=query)
        assert result.ephemeral and result.response is not None
        return [f.name for f in result.response.embeds[0].fields]

    assert await titles("ökonomie") == ["Ökonomie"]
    assert await titles("ÖKONOMIE") == ["Ökonomie"]
    assert await titles("ÉCO") == ["éco club"]
    assert await titles("c") == ["Physics", "éco club"]  # "ÉCO" is not "eco"
    nothing = await bob.slash(town.general, "room list", query="eco")
    assert answered(nothing) == "No open study room matches title containing “eco”."

    choices = await bob.autocomplete(town.general, "room join", "room", "ökon")
    assert choices == [{"name": "Ökonomie (1/4)", "value": str(oko.room_id)}]
    choices = await bob.autocomplete(town.general, "room join", "room", "ÉCO")
    assert choices == [{"name": "éco club (1/25)", "value": str(eco.room_id)}]
    joined = await bob.slash(town.general, "room join", room=choices[0]["value"])
    assert "éco club" in answered(joined)


async def test_bad_filters_are_refused_naming_them(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    long_query = await alice.slash(town.general, "room list", query="@everyone " * 200)
    long_tag = await alice.slash(town.general, "room list", tag="t" * 21)
    assert answered(long_query) == "The search text is too long: 1999 characters, at most 50."
    assert answered(long_tag) == "A tag is too long: 21 characters, at most 20."
    assert long_query.response is not None
    pings_nobody(studio, long_query.response.message)


async def test_closed_rooms_are_not_listed(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    gone = await make_room(studio, town, alice, "Gone")
    await make_room(studio, town, alice, "Open")
    await studio.bot.services.rooms.close(gone.room_id, alice.id)

    result = await alice.slash(town.general, "room list")

    assert [f.name for f in result.response.embeds[0].fields] == ["Open"]  # type: ignore[union-attr]


async def test_list_shows_typed_text_without_pinging(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    await make_room(studio, town, alice, f"**@everyone** {bob.mention}")

    result = await alice.slash(town.general, "room list", query="everyone")

    assert result.response is not None
    embed = result.response.embeds[0]
    assert embed.fields[0].name == f"**@everyone** {bob.mention}"
    assert (embed.fields[0].value or "").startswith(f"**\\*\\*@everyone\\*\\* {bob.mention}**")
    pings_nobody(studio, result.response.message)


async def test_info_shows_pattern_tags_notice_and_members(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    made = await make_room(
        studio, town, alice, "Math grind", tags="#math", notice="Cameras on", capacity=4
    )

    seen_by_bob = await bob.slash(town.general, "room info", room=str(made.room_id))
    seen_by_alice = await alice.slash(town.general, "room info", room=str(made.room_id))

    assert seen_by_bob.ephemeral and seen_by_bob.response is not None
    embed = seen_by_bob.response.embeds[0]
    fields = {f.name: f.value for f in embed.fields}
    assert embed.title == "Math grind" and embed.description == "Cameras on"
    assert fields["Pattern"] == "50 min study · 10 min break · 4 terms"
    assert fields["Tags"] == "`#math`"
    assert fields["Members (1/4)"] == alice.mention
    assert fields["Owner"] == alice.mention
    assert "Room channel" not in fields  # a non-member is not sent to a channel they cannot see
    alice_fields = {f.name: f.value for f in seen_by_alice.response.embeds[0].fields}  # type: ignore[union-attr]
    assert alice_fields["Room channel"] == made.text.mention


@pytest.mark.parametrize("value", ["999999", "abc", "-1", "1.5", "", "9" * 40, "１２"])
async def test_unknown_room_values_are_refused_clearly(studio: Studio, value: str) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    await make_room(studio, town, alice)
    for command in ("room info", "room join"):
        result = await alice.slash(town.general, command, room=value)
        assert answered(result) == "I could not find that room."


async def test_rooms_of_another_guild_are_not_found(studio: Studio) -> None:
    here = studio.guild("alice")
    there = studio.guild("carol")
    made = await make_room(studio, there, there.members[0])

    result = await here.members[0].slash(here.general, "room join", room=str(made.room_id))

    assert answered(result) == "I could not find that room."


async def test_info_on_a_closed_room_says_it_is_closed(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    made = await make_room(studio, town, alice)
    await studio.bot.services.rooms.close(made.room_id, alice.id)

    result = await alice.slash(town.general, "room info", room=str(made.room_id))

    assert answered(result) == "This room is closed."


async def test_autocomplete_offers_open_rooms_by_title(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    math = await make_room(studio, town, alice, "Math grind", capacity=4)
    await make_room(studio, town, alice, "Physics")
    gone = await make_room(studio, town, alice, "Math gone")
    await studio.bot.services.rooms.close(gone.room_id, alice.id)

    choices = await bob.autocomplete(town.general, "room join", "room", "mat")

    assert choices == [{"name": "Math grind (1/4)", "value": str(math.room_id)}]
    every = await bob.autocomplete(town.general, "room info", "room", "")
    assert [c["name"] for c in every] == ["Physics (1/25)", "Math grind (1/4)"]


async def test_autocomplete_offers_at_most_25_rooms(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    await open_rooms(studio, town, 27)

    choices = await alice.autocomplete(town.general, "room info", "room", "room")

    assert len(choices) == 25
    assert all(c["value"].isdigit() for c in choices)


async def test_leave_autocomplete_offers_only_the_members_rooms(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    mine = await make_room(studio, town, bob, "Bob's room")
    await make_room(studio, town, alice, "Alice's room")

    choices = await bob.autocomplete(town.general, "room leave", "room", "")

    assert choices == [{"name": "Bob's room (1/25)", "value": str(mine.room_id)}]

"""``/room create`` as members see it: private channels, a pinned card, the charge — and
every refusal leaves no channel, no room and no charge behind."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from simcord.backend.errors import OptionError, SetupError
from simcord.enums import ChannelType

from tests.support.rooms import (
    CATEGORY,
    MANAGE_CHANNELS,
    MANAGE_ROLES,
    SEND,
    answered,
    balance,
    board,
    can_connect,
    can_see,
    channel_ids,
    counts,
    create,
    make_room,
    open_rooms,
    perms,
    pings_nobody,
    take_from_bot,
)
from tests.support.studio import Studio


async def test_create_opens_private_channels_with_a_pinned_card(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members

    made = await make_room(
        studio, town, alice, "Math grind", tags="#Math, exam prep", notice="Be kind", capacity=5
    )

    reply = answered(made.result)
    assert made.text.mention in reply and "100 points" in reply
    assert await balance(studio, town, alice) == 900

    backend = studio.env.backend
    category = town.guild.channels[CATEGORY]
    text, voice = backend.channels[made.text.id], backend.channels[made.voice.id]
    assert backend.channels[category.id].type == ChannelType.CATEGORY
    assert (text.type, voice.type) == (ChannelType.TEXT, ChannelType.VOICE)
    assert text.parent_id == voice.parent_id == category.id
    assert (text.name, voice.name) == ("math-grind", "Math grind")

    # hidden from @everyone, open to the owner and the bot
    for channel in (made.text, made.voice):
        everyone = next(
            o for o in backend.channels[channel.id].overwrites if o.target_id == town.guild.id
        )
        assert everyone.deny & discord.Permissions(view_channel=True, connect=True).value
        assert not can_see(studio, town, bob, channel)
        assert can_see(studio, town, alice, channel)
    assert can_connect(studio, town, alice, made.voice)
    assert not can_connect(studio, town, bob, made.voice)
    assert perms(studio, town, backend.bot_user.id, made.text.id) & SEND
    with pytest.raises(SetupError):
        made.text.history(viewer=bob)

    pinned = made.text.pinned_messages()
    assert len(pinned) == 1
    card = pinned[0].embeds[0]
    assert card.title == "Math grind" and card.description == "Be kind"
    shown = {f.name: f.value for f in card.fields}
    assert shown["Tags"] == "`#math` `#exam prep`"
    assert shown["Members (1/5)"] == alice.mention
    assert board(made.text)[0].content == "**alice** opened this room: **Math grind**. Welcome!"

    room = (await studio.bot.services.rooms.get(made.room_id)).room
    assert (room.text_channel_id, room.voice_channel_id) == (made.text.id, made.voice.id)
    assert room.card_message_id == pinned[0].id
    assert room.owner_id == alice.id and room.tags == ("math", "exam prep")


CODER = "\U0001f469\u200d\U0001f4bb"  # the technologist emoji: woman, ZWJ, laptop
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0646\u0645"  # "I read", with its ZWNJ


async def test_joiners_inside_title_notice_and_tags_are_kept(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]

    made = await make_room(
        studio,
        town,
        alice,
        f"\u200b {CODER} Coding night\ufeff ",
        tags=f"#{CODER}, \u200b#{PERSIAN}\u200b",
        notice=f"\u2060{PERSIAN}\n{CODER} pair up ",
    )

    title = f"{CODER} Coding night"
    card = made.text.pinned_messages()[0].embeds[0]
    assert card.title == title
    assert card.description == f"{PERSIAN}\n{CODER} pair up"
    assert {f.name: f.value for f in card.fields}["Tags"] == f"`#{CODER}` `#{PERSIAN}`"
    assert board(made.text)[0].content == f"**alice** opened this room: **{title}**. Welcome!"
    assert studio.env.backend.channels[made.voice.id].name == title
    room = (await studio.bot.services.rooms.get(made.room_id)).room
    assert (room.title, room.tags) == (title, (CODER, PERSIAN))

    found = await alice.slash(town.general, "room list", tag=f"#{PERSIAN}")
    assert [f.name for f in found.response.embeds[0].fields] == [title]  # type: ignore[union-attr]
    found = await alice.slash(town.general, "room list", query=f"{CODER} coding")
    assert [f.name for f in found.response.embeds[0].fields] == [title]  # type: ignore[union-attr]


async def test_rooms_share_one_category_even_one_made_by_hand(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    own = town.guild.create_category("study rooms")

    first = await make_room(studio, town, alice, "One")
    second = await make_room(studio, town, alice, "Two")

    backend = studio.env.backend
    categories = [c for c in backend.channels.values() if c.type == ChannelType.CATEGORY]
    assert [c.id for c in categories] == [own.id]
    for made in (first, second):
        assert backend.channels[made.text.id].parent_id == own.id


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        ({"title": "   "}, "The title cannot be empty."),
        ({"title": "\u200b\u200b"}, "The title cannot be empty."),
        ({"title": " \u200d\u200c \u2060\ufeff "}, "The title cannot be empty."),
        ({"title": "x" * 51}, "The title is too long: 51 characters, at most 50."),
        ({"tags": "a, b, c, d, e, f"}, "Too many Tags: at most 5."),
        ({"tags": "#" + "t" * 21}, "A tag is too long: at most 20 characters."),
        ({"notice": "n" * 501}, "The notice is too long: 501 characters, at most 500."),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_made(
    studio: Studio, options: dict[str, Any], refusal: str
) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    before_channels, before_rows = channel_ids(town), await counts(studio)
    title = options.pop("title", "Math grind")

    result = await create(alice, town.general, title, **options)

    assert answered(result) == refusal
    assert channel_ids(town) == before_channels
    assert await counts(studio) == before_rows
    assert await balance(studio, town, alice) == 1000


async def test_over_long_text_is_refused_naming_the_field(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    long = "@everyone **bold** " * 120  # 2,280 characters
    before_channels, before_rows = channel_ids(town), await counts(studio)

    title = await create(alice, town.general, long)
    notice = await create(alice, town.general, notice=long)
    tags = await create(alice, town.general, tags=long.replace(" ", ""))

    assert answered(title).startswith(f"The title is too long: {len(long.strip())} characters")
    assert answered(notice).startswith(f"The notice is too long: {len(long.strip())} characters")
    assert answered(tags) == "A tag is too long: at most 20 characters."
    for result in (title, notice, tags):
        assert result.response is not None
        pings_nobody(studio, result.response.message)
    assert channel_ids(town) == before_channels
    assert await counts(studio) == before_rows


async def test_pattern_ranges_are_declared_to_discord(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    for options in ({"study": 0}, {"study": 181}, {"brk": 61}, {"terms": 13}, {"capacity": 1}):
        with pytest.raises(OptionError):
            await create(alice, town.general, **options)  # type: ignore[arg-type]
    made = await make_room(studio, town, alice, study=180, brk=60, terms=12, capacity=25)
    room = (await studio.bot.services.rooms.get(made.room_id)).room
    assert (room.study_ms, room.break_ms, room.terms, room.capacity) == (
        180 * 60_000,
        60 * 60_000,
        12,
        25,
    )


async def test_too_few_points_is_refused_before_any_channel(studio: Studio) -> None:
    from bot.domain.points import Reason

    town = studio.guild("alice")
    alice = town.members[0]
    await studio.bot.services.points.spend(
        town.guild.id, alice.id, 950, Reason.ROOM_JOIN, "test", "test:spend"
    )
    before_channels, before_rows = channel_ids(town), await counts(studio)

    result = await create(alice, town.general)

    assert answered(result) == "You need 100 points but have 50."
    assert channel_ids(town) == before_channels
    assert await counts(studio) == before_rows


@pytest.mark.parametrize(
    ("permission", "name"),
    [(MANAGE_CHANNELS, "Manage Channels"), (MANAGE_ROLES, "Manage Roles")],
)
async def test_missing_bot_permission_is_named_and_nothing_is_made(
    studio: Studio, permission: int, name: str
) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    take_from_bot(studio, town, permission)
    await studio.env.settle()
    before_channels, before_rows = channel_ids(town), await counts(studio)

    result = await create(alice, town.general)

    assert f"I need the **{name}** permission" in answered(result)
    assert channel_ids(town) == before_channels
    assert await counts(studio) == before_rows
    assert await balance(studio, town, alice) == 1000


async def test_discord_refusing_a_channel_leaves_nothing_behind(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    town.guild.create_category(CATEGORY)
    before_channels = channel_ids(town)
    studio.env.inject_error(
        "POST", "/guilds/*/channels", status=403, code=50013, message="Missing Permissions"
    )

    result = await create(alice, town.general)

    assert "I need the **Manage Channels** permission" in answered(result)
    assert channel_ids(town) == before_channels
    assert await open_rooms(studio, town) == []
    assert await balance(studio, town, alice) == 1000  # paid, and returned


async def test_discord_refusing_the_card_deletes_the_new_channels(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    town.guild.create_category(CATEGORY)
    before_channels = channel_ids(town)
    studio.env.inject_error(
        "POST", "/channels/*/messages", status=403, code=50013, message="Missing Permissions"
    )

    result = await create(alice, town.general)

    assert "I need the **Send Messages** permission" in answered(result)
    assert channel_ids(town) == before_channels
    assert await open_rooms(studio, town) == []
    assert await balance(studio, town, alice) == 1000  # paid, and returned


async def test_points_spent_meanwhile_are_refused_before_any_channel(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The balance is checked before the interaction is deferred and again when the room is
    paid for, which comes before any channel: if it ran short in between, nothing is made."""
    from bot.domain.points import Reason

    town = studio.guild("alice")
    alice = town.members[0]
    town.guild.create_category(CATEGORY)
    services = studio.bot.services
    original = services.rooms.check_can_create

    async def spend_after_check(guild_id: int, user_id: int) -> None:
        await original(guild_id, user_id)
        await services.points.spend(
            town.guild.id, alice.id, 950, Reason.ROOM_JOIN, "test", "test:race"
        )

    monkeypatch.setattr(services.rooms, "check_can_create", spend_after_check)
    before_channels = channel_ids(town)

    result = await create(alice, town.general)

    assert answered(result) == "You need 100 points but have 50."
    assert channel_ids(town) == before_channels
    assert await open_rooms(studio, town) == []
    assert await balance(studio, town, alice) == 50


async def test_mentions_in_titles_and_notices_ping_nobody(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    role = town.guild.create_role("Students", mentionable=True)
    title = f"@everyone {bob.mention}"
    notice = f"@here {role.mention} {bob.mention} **hi**"

    made = await make_room(studio, town, alice, title, notice=notice)

    pings_nobody(studio, made.result.response.message)  # type: ignore[union-attr]
    for message in made.text.history():
        pings_nobody(studio, message)
    line = board(made.text)[0].content
    assert "@everyone" in line and bob.mention in line  # shown as typed, notifying nobody
    card = made.text.pinned_messages()[0].embeds[0]
    assert card.title == title and card.description == notice


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Ünïcode 수학 Study!!", "ünïcode-수학-study"),
        ("  CS -- 101: Algorithms  ", "cs-101-algorithms"),
        ("**bold** `code`", "bold-code"),
    ],
)
async def test_channel_names_come_from_the_title(studio: Studio, title: str, name: str) -> None:
    town = studio.guild("alice")
    made = await make_room(studio, town, town.members[0], title)
    assert made.text.name == name


async def test_a_title_of_symbols_gets_a_fallback_channel_name(studio: Studio) -> None:
    town = studio.guild("alice")
    made = await make_room(studio, town, town.members[0], "!!! ???")
    assert made.text.name is not None and made.text.name.startswith("study-room-")
    assert made.voice.name == "!!! ???"


async def test_command_names_are_localised_in_korean(studio: Studio) -> None:
    synced = await studio.bot.tree.fetch_commands()
    room = next(c for c in synced if c.name == "room")
    assert room.name_localizations.get(discord.Locale.korean) == "방"
    names = {o.name: o.name_localizations.get(discord.Locale.korean) for o in room.options}
    assert names == {
        "create": "만들기",
        "list": "목록",
        "info": "정보",
        "join": "참여",
        "leave": "나가기",
        "notice": "공지",
        "close": "닫기",
    }

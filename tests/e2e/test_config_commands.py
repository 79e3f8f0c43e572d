"""``/config show|set|reset`` as server managers and members use it: the server's own costs,
limits and defaults, refused to members who may not manage the server, every change audited."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from simcord.actors import MemberActor
from simcord.backend.errors import SetupError
from simcord.builders import ChannelHandle

from tests.e2e.test_settings_commands import sql_state
from tests.support.rooms import balance, make_room
from tests.support.studio import Studio, Town, response_of, speak_korean
from tests.support.timer import MINUTE, confirmation, open_room


def manager(studio: Studio, town: Town, name: str = "mod") -> MemberActor:
    """A member with Manage Server (and nothing else)."""
    role = town.guild.create_role("Managers", permissions=discord.Permissions(manage_guild=True))
    return town.guild.add_member(studio.env.create_user(name), roles=[role])


async def say(member: MemberActor, channel: ChannelHandle, name: str, **options: Any) -> str:
    result = await member.slash(channel, name, **options)
    assert result.ephemeral and result.response is not None
    return result.response.content


async def history(studio: Studio, town: Town) -> list[tuple[str, str | None, str | None, int]]:
    async with studio.bot.services.uow() as uow:
        rows = await uow.guild_settings.history(town.guild.id, 50)
        return [(r.key, r.old_value, r.new_value, r.user_id) for r in reversed(rows)]


async def test_a_managers_join_cost_is_what_members_pay(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    mod = manager(studio, town)
    reply = await say(mod, town.general, "config set", key="points.room_join_cost", value="120")
    assert reply == "**Room join cost (points)**: 50 → **120**."
    made = await make_room(studio, town, alice)
    joined = await bob.slash(town.general, "room join", room=str(made.room_id))
    assert joined.acknowledged
    assert await balance(studio, town, bob) == 1000 - 120
    assert await history(studio, town) == [("points.room_join_cost", None, "120", mod.id)]
    # another server keeps the configuration file's cost
    other = studio.guild("carol", "dave")
    carol, dave = other.members
    there = await make_room(studio, other, carol)
    await dave.slash(other.general, "room join", room=str(there.room_id))
    assert await balance(studio, other, dave) == 1000 - 50


async def test_a_managers_grace_judges_dismissals(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    mod = manager(studio, town)
    await say(mod, town.general, "config set", key="timer.alarm_grace_seconds", value="10")
    alice, bob = town.members
    room = await open_room(studio, town, alice, bob)
    await alice.slash(room.channel, "timer start")
    await studio.advance(50 * MINUTE)
    assert "within 10 seconds" in room.alarm(1).content
    await studio.advance(20)
    late = await bob.click(room.alarm(1), label="Dismiss")
    assert confirmation(late).content == (
        "Alarm #1 dismissed, but after the 10-second window, so it does not count as on time."
    )
    assert room.dismissed(1) == ["**bob** dismissed alarm #1 (late)"]


async def test_members_without_manage_server_are_refused_and_nothing_changes(
    studio: Studio,
) -> None:
    town = studio.guild("alice")
    [alice] = town.members
    mod = manager(studio, town)
    await say(mod, town.general, "config show")
    # Discord shows /config only to members who may manage the server ...
    with pytest.raises(SetupError, match="default-member-permissions"):
        await alice.slash(town.general, "config show")
    # ... unless the server lets everyone see it: each use checks the permission again
    command = studio.env.backend.find_command("config", town.guild.id, type=1)
    assert command is not None
    town.guild.set_command_permissions(int(command["id"]), {alice: True})
    before = await sql_state(studio)
    for name, options in (
        ("config set", {"key": "points.room_join_cost", "value": "0"}),
        ("config reset", {"key": "points.room_join_cost"}),
        ("config show", {}),
    ):
        result = await alice.slash(town.general, name, **options)
        assert result.ephemeral and result.response is not None
        assert result.response.content == (
            "Only members who may manage this server can change its settings."
        )
    assert await sql_state(studio) == before
    assert studio.bot.guild_settings(town.guild.id).room_join_cost == 50


async def test_values_out_of_bounds_are_refused_with_the_range(studio: Studio) -> None:
    town = studio.guild("alice")
    mod = manager(studio, town)
    before = await sql_state(studio)
    cases = {
        ("timer.alarm_grace_seconds", "4"): (
            "The alarm grace window must be a whole number from 5 to 3600."
        ),
        ("rooms.max_capacity", "26"): "The largest capacity must be a whole number from 2 to 25.",
        ("points.signup_bonus", "lots"): (
            "The signup bonus must be a whole number from 0 to 1000000."
        ),
        ("rooms.category_name", " "): "The category name must be 1 to 100 characters.",
        ("rooms.focus", "maybe"): "Focus by default must be on or off.",
        ("i18n.default_locale", "fr"): "The default language must be English or Korean.",
        ("points.nothing", "1"): (
            "The key `points.nothing` is not a server setting: pick one from the list."
        ),
    }
    for (key, value), refusal in cases.items():
        assert await say(mod, town.general, "config set", key=key, value=value) == refusal
    assert "is not one I know" in await say(
        mod, town.general, "config set", key="i18n.default_timezone", value="Mars/Olympus"
    )
    assert await sql_state(studio) == before


async def test_reset_returns_to_the_default_and_show_says_which_is_which(studio: Studio) -> None:
    town = studio.guild("alice")
    mod = manager(studio, town)
    await say(mod, town.general, "config set", key="rooms.max_capacity", value="6")
    await say(mod, town.general, "config set", key="rooms.focus", value="on")
    shown = await mod.slash(town.general, "config show")
    assert shown.ephemeral
    fields = {f.name: f.value for f in response_of(shown).embeds[0].fields}
    assert len(fields) == 10
    assert fields["Largest room capacity · `rooms.max_capacity`"] == (
        "**6** · set here (default: 25)"
    )
    assert fields["Focus by default · `rooms.focus`"] == "**on** · set here (default: off)"
    assert fields["Room join cost (points) · `points.room_join_cost`"] == "**50** · default"
    assert fields["Alarm grace window · `timer.alarm_grace_seconds`"] == "**60 s** · default"

    refused = await make_room_with_capacity(studio, town, 10)
    assert "between 2 and 6" in refused, refused

    reply = await say(mod, town.general, "config reset", key="rooms.max_capacity")
    assert reply == "**Largest room capacity** is back to the default: 6 → **25**."
    again = await say(mod, town.general, "config reset", key="rooms.max_capacity")
    assert again == "**Largest room capacity** is already the default (**25**): nothing changed."
    assert studio.bot.guild_settings(town.guild.id).max_capacity == 25
    assert await history(studio, town) == [
        ("rooms.max_capacity", None, "6", mod.id),
        ("rooms.focus", None, "true", mod.id),
        ("rooms.max_capacity", "6", None, mod.id),
    ]


async def make_room_with_capacity(studio: Studio, town: Town, capacity: int) -> str:
    alice = town.members[0]
    result = await alice.slash(
        town.general,
        "room create",
        title="Big",
        study=50,
        terms=2,
        capacity=capacity,
        **{"break": 10},
    )
    message = result.followups[-1] if result.followups else result.response
    assert message is not None
    return message.content


async def test_key_autocompletes_in_the_members_language(studio: Studio) -> None:
    town = studio.guild("alice")
    mod = manager(studio, town)
    every = await mod.autocomplete(town.general, "config set", "key", "")
    assert len(every) == 10
    cost = await mod.autocomplete(town.general, "config set", "key", "join")
    assert [(c["name"], c["value"]) for c in cost] == [
        ("Room join cost (points) (points.room_join_cost)", "points.room_join_cost")
    ]
    await speak_korean(studio, town, mod)
    korean = await mod.autocomplete(town.general, "config reset", "key", "입장")
    assert [c["value"] for c in korean] == ["points.room_join_cost"]


async def test_replies_in_korean_and_the_servers_language(studio: Studio) -> None:
    town = studio.guild("alice")
    [alice] = town.members
    mod = manager(studio, town)
    await speak_korean(studio, town, mod)
    reply = await say(mod, town.general, "config set", key="points.room_join_cost", value="70")
    assert reply == "**방 입장 비용 (포인트)**: 50 → **70**으로 바꿨어요."
    refused = await say(mod, town.general, "config set", key="rooms.max_capacity", value="1")
    assert refused == "최대 방 정원은 2부터 25까지의 정수여야 해요."
    # a server whose language is Korean answers in Korean the members who chose none
    await say(mod, town.general, "config set", key="i18n.default_locale", value="ko")
    points = await alice.slash(town.general, "points")
    assert "포인트" in (response_of(points).embeds[0].description or "")


async def test_the_servers_time_zone_is_the_day_of_members_who_chose_none(
    studio: Studio,
) -> None:
    town = studio.guild("alice")
    [alice] = town.members
    mod = manager(studio, town)
    await say(mod, town.general, "config set", key="i18n.default_timezone", value="asia/seoul")
    assert studio.bot.guild_settings(town.guild.id).default_timezone == "Asia/Seoul"
    # 2026-01-01 00:00 UTC is 09:00 in Seoul; one hour before midnight UTC it is the 1st there
    assert "today (2026-01-01)" in await say(alice, town.general, "todo add", text="plan")
    await studio.advance(16 * 3600)
    assert "today (2026-01-02)" in await say(alice, town.general, "todo list")

"""``/help``: the usage guide, privately, in the member's language, with a topic menu."""

from __future__ import annotations

from bot.i18n import catalog
from tests.support.studio import Studio, response_of, speak_korean

TOPIC_TITLES = [
    "Study rooms",
    "Timer and alarms",
    "Study Kings",
    "Points",
    "Todos and calendar",
    "Profile and leaderboard",
]


async def test_help_in_english_with_every_topic(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    result = await alice.slash(town.general, "help")
    assert result.ephemeral
    message = response_of(result)
    embed = message.embeds[0]
    assert embed.title == "StudyOn · how it works"
    assert [f.name for f in embed.fields] == TOPIC_TITLES
    text = "\n".join(str(f.value) for f in embed.fields)
    for command in ("/room create", "/room join", "/points", "/todo add", "/calendar"):
        assert command in text
    assert "{" not in text  # every command name was filled in

    menu = message.components[0]["components"][0]
    assert [o["value"] for o in menu["options"]] == [
        "overview",
        "rooms",
        "timer",
        "kings",
        "points",
        "todos",
        "ranking",
    ]
    await alice.select(message.message, ["timer"])
    assert response_of(result).embeds[0].title == "Timer and alarms"
    await alice.select(response_of(result).message, ["overview"])
    assert response_of(result).embeds[0].title == "StudyOn · how it works"


async def test_choosing_a_topic_shows_it_in_full(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    result = await alice.slash(town.general, "help")
    await alice.select(response_of(result).message, ["timer"])
    edited = response_of(result)  # re-read: the same message, edited in place
    embed = edited.embeds[0]
    assert embed.title == "Timer and alarms"
    body = embed.description or ""
    for command in ("/timer start", "/timer pause", "/timer skip", "/timer status"):
        assert command in body
    assert "Dismiss" in body and "60 seconds" in body

    direct = await alice.slash(town.general, "help", topic="ranking")
    embed = response_of(direct).embeds[0]
    assert embed.title == "Profile and leaderboard"
    assert "/profile" in (embed.description or "") and "25 minutes" in (embed.description or "")


async def test_help_in_korean_uses_korean_command_names(studio: Studio) -> None:
    town = studio.guild("alice")
    alice = town.members[0]
    await speak_korean(studio, town, alice)
    result = await alice.slash(town.general, "help")
    embed = response_of(result).embeds[0]
    assert embed.title == "StudyOn 사용 가이드"
    assert embed.fields[0].name == "공부방"
    ko = catalog("ko")
    room_create = f"/{ko['cmd.room']} {ko['cmd.room.create']}"
    assert room_create in str(embed.fields[0].value)
    assert "/room create" not in str(embed.fields[0].value)

    await alice.select(response_of(result).message, ["kings"])
    embed = response_of(result).embeds[0]
    assert embed.title == "공부왕"
    assert "오늘의 공부왕" in (embed.description or "")

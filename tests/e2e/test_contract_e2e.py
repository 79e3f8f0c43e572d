"""The contract check on real traffic: the bot's commands in SimCord, and the check failing a
test whose bot sends something Discord would refuse."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import discord
from simcord.actors import MemberActor

from cogs._board import post_line
from tests.e2e.contract import REPO, check_requests
from tests.support.studio import Studio


async def test_commands_send_only_what_discord_accepts(studio: Studio) -> None:
    """A tour of the commands, with member-typed text that tries to ping everyone: /help,
    /points, /todo, /settings, /rate, then a room made with /room create and /room join whose
    timer runs to its first alarm (channels with permission overwrites, the pinned card, board
    lines, an alarm whose button is pressed) and an autocomplete. Every request is valid; the
    autouse check repeats that after the test."""
    town = studio.guild("alice", "bob")
    alice, bob = town.members
    general = town.general

    tour: list[tuple[MemberActor, str, dict[str, Any]]] = [
        (alice, "help", {}),
        (alice, "points", {}),
        (alice, "points", {}),
        (alice, "todo add", {"text": "@everyone read ch. 4 <@&1>"}),
        (alice, "todo list", {}),
        (alice, "rate", {"score": 5}),
        (bob, "settings language", {"locale": "ko"}),
        (bob, "points", {}),
        (bob, "todo list", {}),
    ]
    for member, name, options in tour:
        result = await member.slash(general, name, **options)
        assert result.acknowledged, name

    created = await alice.slash(
        general, "room create", title="@everyone grind", study=50, terms=2, **{"break": 10}
    )
    assert created.acknowledged
    [room] = await studio.bot.services.rooms.rooms_of(town.guild.id, alice.id)
    joined = await bob.slash(general, "room join", room=str(room.id))
    assert joined.acknowledged
    assert room.text_channel_id is not None
    room_channel = next(c for c in town.guild.channels.values() if c.id == room.text_channel_id)
    started = await alice.slash(room_channel, "timer start")
    assert started.acknowledged
    await studio.advance(50 * 60 + 1)  # the first boundary: an alarm with a Dismiss button
    [alarm] = [m for m in room_channel.history() if m.content.startswith("⏰")]
    dismissed = await bob.click(alarm, label="Dismiss")
    assert dismissed.acknowledged
    choices = await alice.autocomplete(general, "todo done", "item", "read")
    assert choices

    posted = await post_line(
        studio.bot,
        general.id,
        "rooms.board.notice",
        name="alice",
        notice="@everyone <@&1> meet at 9 " + "!" * 1000,
    )
    assert posted is not None

    requests = studio.env.http_requests
    kinds = {(r.method, r.path.split("/")[1]) for r in requests}
    for kind in [
        ("PUT", "applications"),  # the command tree, synced by the fixture
        ("POST", "interactions"),
        ("POST", "guilds"),  # the room's channels
        ("PUT", "channels"),  # a member's overwrite, the pinned card, the ⏰ reaction
        ("PATCH", "channels"),  # the card, edited
        ("POST", "channels"),  # board lines and the alarm
        ("POST", "webhooks"),  # a followup
    ]:
        assert kind in kinds, (kind, sorted(kinds))
    assert check_requests(requests) == []


async def test_a_bad_request_is_found_in_the_recorded_traffic(studio: Studio) -> None:
    """What the bot really sends, through discord.py and SimCord's recorder, is what is
    checked: a message sent with every mention allowed is caught."""
    town = studio.guild("alice")
    channel = studio.bot.get_channel(town.general.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("hello @everyone", allowed_mentions=discord.AllowedMentions.all())
    found = check_requests(studio.env.http_requests)
    assert [(v.method, v.pointer) for v in found] == [("POST", "/allowed_mentions/parse")]
    assert found[0].path == f"/channels/{town.general.id}/messages"
    # take it out again, or the autouse check would (rightly) fail this test
    studio.env.http_requests.remove(studio.env.http_requests[found[0].index or 0])


BAD_TEST = """
import discord

async def test_bot_sends_a_pinging_message(simcord_env):
    guild = simcord_env.create_guild()
    general = guild.create_text_channel("general")
    channel = simcord_env.bot.get_channel(general.id)
    await channel.send("hello @everyone", allowed_mentions=discord.AllowedMentions(everyone=True))
"""


def test_the_autouse_check_fails_the_test_that_sent_it(tmp_path: Path) -> None:
    """Run a test whose bot breaks the contract, with this suite's fixtures, in a fresh
    pytest: it must end in an error at teardown that lists the violations."""
    # this suite's fixtures, named as a plugin (a conftest's fixtures override SimCord's)
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.e2e.conftest"]\n')
    (tmp_path / "test_bad.py").write_text(textwrap.dedent(BAD_TEST))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(REPO / "pyproject.toml"),
            "--rootdir",
            str(REPO),
            "-p",
            "no:cacheprovider",
            "-q",
            str(tmp_path / "test_bad.py"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
        check=False,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "1 passed, 1 error" in out, out
    assert "REST contract violation(s)" in out, out
    assert "/allowed_mentions/parse: allowed_mentions.parse must be []" in out, out

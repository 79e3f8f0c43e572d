"""``studyon sync``: the bot's command tree registered in SimCord's Discord, globally or in
one guild, with the Korean names and descriptions; and the whole CLI path (log in over REST,
load the cogs without serving, sync, close) against SimCord's transport."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import discord
from simcord import Env
from simcord.backend import Backend
from simcord.http.client import FakeHTTPClient

from bot import sync as sync_module
from bot.config import Config, parse_config
from bot.sync import SyncBot, run_sync, sync_commands
from tests.e2e.contract import check_requests


def registered(env: Env | Backend, guild_id: int | None) -> dict[str, dict[str, Any]]:
    backend = env.backend if isinstance(env, Env) else env
    return {c["name"]: c for c in backend.commands.get(guild_id, {}).values()}


def assert_localised(commands: dict[str, dict[str, Any]]) -> None:
    assert "points" in commands
    for name, command in commands.items():
        assert command.get("description"), name
        assert (command.get("name_localizations") or {}).get("ko"), name
        assert (command.get("description_localizations") or {}).get("ko"), name
    assert commands["points"]["name_localizations"]["ko"] == "포인트"


async def test_sync_registers_the_tree_globally(simcord_env: Env) -> None:
    bot = simcord_env.bot
    assert isinstance(bot, discord.Client)
    assert registered(simcord_env, None) == {}  # nothing is synced on start
    count = await sync_commands(bot, None)  # type: ignore[arg-type]
    commands = registered(simcord_env, None)
    assert count == len(commands) == len(bot.tree.get_commands())  # type: ignore[attr-defined]
    assert_localised(commands)
    assert check_requests(simcord_env.http_requests) == []


async def test_sync_to_a_guild_copies_the_global_commands_there(simcord_env: Env) -> None:
    bot = simcord_env.bot
    guild = simcord_env.create_guild(preferred_locale="ko")
    count = await sync_commands(bot, guild.id)  # type: ignore[arg-type]
    commands = registered(simcord_env, guild.id)
    assert count == len(commands) > 0
    assert registered(simcord_env, None) == {}  # only the guild's set was touched
    assert_localised(commands)
    # and a member of that guild can use them at once
    alice = guild.add_member(simcord_env.create_user("alice"))
    general = guild.create_text_channel("general")
    result = await alice.slash(general, "points")
    assert result.ephemeral


def config_for(tmp_path: Path, token: str = "simcord.fake.token") -> Config:
    raw = {
        "discord": {"token": token},
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'studyon.db'}"},
        "session": {"embedded_path": str(tmp_path / "session.db")},
    }
    return parse_config(raw, env={})


async def test_run_sync_logs_in_loads_the_cogs_without_serving_and_closes(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """The CLI's path, over SimCord's REST transport (no gateway connection is made)."""
    backend = Backend()
    bot = SyncBot(config_for(tmp_path))
    fake = FakeHTTPClient(backend, asyncio.get_running_loop())
    bot.http = fake
    bot._connection.http = fake
    bot.tree._http = fake
    seen: dict[str, Any] = {}
    real_sync = sync_module.sync_commands

    async def spy(b: Any, guild_id: int | None) -> int:
        seen["scheduler_running"] = b.services.scheduler.running
        seen["extensions"] = sorted(b.extensions)
        return await real_sync(b, guild_id)

    monkeypatch.setattr(sync_module, "sync_commands", spy)

    count = await run_sync(bot.config, None, bot=bot)

    commands = registered(backend, None)
    assert count == len(commands) > 0
    assert_localised(commands)
    assert seen["scheduler_running"] is False  # nothing rescheduled, no alarm posted
    assert "cogs.points" in seen["extensions"]
    assert bot.is_closed()
    assert bot._services is None  # services closed again
    methods = [(r.method, r.path.split("/")[1]) for r in backend.http_requests]
    assert methods == [("GET", "oauth2"), ("PUT", "applications")]
    assert check_requests(backend.http_requests) == []

"""Registering the slash commands with Discord, on demand (``studyon sync``).

The bot never syncs its commands on start (Discord rate-limits registration, and an unchanged
tree needs none): an admin runs ``studyon sync`` once after installing or upgrading, or
``studyon sync --guild ID`` to have them in one server at once (guild commands appear
immediately; the global ones are copied to that guild and registered there).

Syncing needs no gateway connection: the bot logs in over REST, loads its cogs (their
commands and the translator that localises them) with the services open but the timer
scheduler never started, so no room is rescheduled and no alarm is posted, syncs, and closes.
"""

from __future__ import annotations

import logging

import discord

from bot.app import StudyOnBot, studyon_prepare
from bot.config import Config

__all__ = ["SyncBot", "prepare_commands", "run_sync", "sync_commands"]

log = logging.getLogger(__name__)


async def sync_commands(bot: StudyOnBot, guild_id: int | None) -> int:
    """Register the bot's command tree, globally or (``guild_id``) in one guild, with the
    global commands copied there first. Returns how many commands Discord now has."""
    tree = bot.tree
    if guild_id is None:
        synced = await tree.sync()
        log.info("synced %d global command(s)", len(synced))
    else:
        guild = discord.Object(id=guild_id)
        tree.copy_global_to(guild=guild)
        synced = await tree.sync(guild=guild)
        log.info("synced %d command(s) to guild %d", len(synced), guild_id)
    return len(synced)


async def prepare_commands(bot: StudyOnBot) -> None:
    """What ``setup_hook`` does, minus serving: the scheduler stays stopped."""
    await studyon_prepare(bot)


class SyncBot(StudyOnBot):
    """The bot as ``studyon sync`` runs it: logged in over REST, never connected, not serving."""

    async def setup_hook(self) -> None:
        await prepare_commands(self)


async def run_sync(config: Config, guild_id: int | None, *, bot: SyncBot | None = None) -> int:
    """Log in with the configured token, sync, close everything; the number synced.
    ``bot`` is for tests (a ``SyncBot`` whose transport is simulated)."""
    token = config.discord.token.reveal()
    if not token:
        raise RuntimeError("no Discord token is set")
    bot = bot or SyncBot(config)
    try:
        await bot.login(token)
        return await sync_commands(bot, guild_id)
    finally:
        await bot.close()

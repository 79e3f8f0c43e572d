"""The Discord bot: ``create_bot(config)`` builds it, unstarted; ``run_bot(config)`` runs it.

Every dependency (database engine, session store, scheduler) opens in ``setup_hook`` and
closes in ``close()``, so a bot object can be created, started, stopped and started again
(the end-to-end tests restart it mid-run). Slash commands are not synced on start: that is
``studyon sync`` (or the test fixture), as Discord rate-limits syncing.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
from typing import Any

import aiohttp
import discord
from discord.ext import commands

import cogs
from bot import pacing
from bot.config import TOKEN_ENV, Config
from bot.domain.guild_settings import GuildSettings
from bot.domain.identify import IDENTIFY_INTERVAL_MS
from bot.i18n import StudyOnTranslator, normalise_locale
from bot.identify import IdentifyGate, RedisTurns, identify_key
from bot.services.outage import StorageFailure, storage_failure
from bot.services.settings import ServiceSettings
from bot.wiring import Services, open_services
from cogs._common import on_app_command_error

log = logging.getLogger(__name__)


def extension_names() -> list[str]:
    """Every feature module in ``cogs`` (private helpers start with an underscore)."""
    names = []
    for info in pkgutil.iter_modules(cogs.__path__):
        if info.name.startswith("_"):
            continue
        name = f"cogs.{info.name}"
        if hasattr(importlib.import_module(name), "setup"):
            names.append(name)
    return sorted(names)


def intents() -> discord.Intents:
    """Only non-privileged intents: guilds, voice states (study time), reactions (⏰)."""
    i = discord.Intents.none()
    i.guilds = True
    i.voice_states = True
    i.guild_reactions = True
    return i


# a rate limit longer than this raises instead of holding the call: an alarm stays owed and
# the timer service retries it; a board line or card edit is logged and refreshed later.
# (30 s is the least discord.py accepts.)
MAX_RATELIMIT_WAIT_S = 30.0


class StudyOnBot(commands.AutoShardedBot):
    """The bot, sharded or not: sharding is configuration. A process that names no shards
    runs shard 0 of 1, which is one connection serving every guild, as a plain bot would."""

    def __init__(self, config: Config, *, simulated: bool = False, **options: Any) -> None:
        self.config = config
        # in a simulated Discord (SimCord, virtual time) REST calls are not paced
        self.simulated = simulated
        self._services: Services | None = None
        self._pacer: pacing.Pacer | None = None
        # Discord's IDENTIFY window; only a test shortens it
        self.identify_interval_ms = IDENTIFY_INTERVAL_MS
        self._identify: IdentifyGate | None = None
        self._locales: dict[tuple[int, int], str | None] = {}
        self._names: dict[tuple[int, int], str] = {}
        if config.discord.shard_ids:
            options["shard_ids"] = list(config.discord.shard_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT_S,
            shard_count=config.discord.shard_count or 1,
            **options,
        )

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the bot is not set up yet")
        return self._services

    @property
    def default_locale(self) -> str:
        """The configuration file's language (a server may set its own: ``guild_locale``)."""
        return normalise_locale(self.config.i18n.default_locale)

    def guild_settings(self, guild_id: int) -> GuildSettings:
        """The settings in effect in a server (``/config``), from memory."""
        return self.services.guild_settings.current(guild_id)

    def guild_locale(self, guild_id: int | None) -> str:
        """The language of a server's public messages: its own default, else the file's."""
        if guild_id is None or self._services is None:
            return self.default_locale
        return normalise_locale(self.guild_settings(guild_id).default_locale, self.default_locale)

    def guild_set_locale(self, guild_id: int) -> str | None:
        """The language the server chose with ``/config`` (None: it chose none)."""
        if self._services is None:
            return None
        settings = self.guild_settings(guild_id)
        if settings.is_default("i18n.default_locale"):
            return None
        return settings.default_locale

    def channel_locale(self, channel_id: int) -> str:
        """The language of public messages in a channel: its server's."""
        channel = self.get_channel(channel_id)
        guild = getattr(channel, "guild", None)
        return self.guild_locale(guild.id if guild is not None else None)

    async def member_locale(self, guild_id: int, user_id: int) -> str | None:
        """The member's chosen language (``/settings language``), cached."""
        key = (guild_id, user_id)
        if key not in self._locales:
            async with self.services.uow() as uow:
                member = await uow.members.get(guild_id, user_id)
                self._locales[key] = member.locale if member else None
        return self._locales[key]

    def cached_member_locale(self, guild_id: int, user_id: int) -> str | None:
        """The member's chosen language if it is known without asking the database."""
        return self._locales.get((guild_id, user_id))

    def note_outage(self, error: BaseException) -> StorageFailure | None:
        """Whether ``error`` is a store out of reach (recorded: logged once per outage)."""
        if self._services is None:
            return storage_failure(error)
        return self._services.outages.note(error)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        # a voice event or a reaction that found a store out of reach: logged once per
        # outage, not as a traceback per event
        error = sys.exc_info()[1]
        if error is not None and self.note_outage(error) is not None:
            return
        await super().on_error(event_method, *args, **kwargs)

    def forget_member_locale(self, guild_id: int, user_id: int) -> None:
        self._locales.pop((guild_id, user_id), None)

    def remember_name(self, guild_id: int, user: discord.abc.User) -> None:
        """Keep the name a member goes by, for board lines written later (alarms, todos).
        Without the privileged members intent, interactions are where names are seen."""
        self._names[(guild_id, user.id)] = user.display_name

    def display_name(self, guild_id: int, user_id: int) -> str:
        """The member's last seen name, markdown-escaped; their mention if never seen
        (mentions render as the name and, sent with mentions disabled, ping nobody)."""
        name = self._names.get((guild_id, user_id))
        return discord.utils.escape_markdown(name) if name else f"<@{user_id}>"

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is not None:
            self.remember_name(interaction.guild_id, interaction.user)

    def owns_guild(self, guild_id: int) -> bool:
        """Whether this process's shards serve ``guild_id`` (all guilds when unsharded)."""
        count = self.config.discord.shard_count
        ids = self.config.discord.shard_ids
        if not count or ids is None:
            return True
        return (guild_id >> 22) % count in ids

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # every process of the bot takes its turn through Redis (bot.identify)
        if self._identify is None:
            self._identify = make_identify_gate(self)
        await self._identify.wait(shard_id or 0, initial=initial)

    async def setup_hook(self) -> None:
        await studyon_setup(self)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await studyon_teardown(self)


async def studyon_prepare(bot: StudyOnBot) -> None:
    """Open the services, set the translator and error handler, load every cog; the
    scheduler stays stopped (``studyon sync`` stops here)."""
    config = bot.config
    bot._services = await open_services(
        config.database.url,
        config.session.redis_url,
        config.session.embedded_path,
        ServiceSettings.from_config(config),
        start_scheduler=False,
    )
    await bot.tree.set_translator(StudyOnTranslator())
    # registered when the bot starts, not by overriding the tree's on_error: SimCord hooks
    # the handler in place at start to catch errors nobody handled, and a refusal explained
    # to the member is handled
    bot.tree.error(on_app_command_error)
    for name in extension_names():
        await bot.load_extension(name)


def make_pacer(bot: StudyOnBot) -> pacing.Pacer:
    """The scheduler for the bot's REST calls: shared through Redis when the session store is
    Redis (every process of the bot then keeps one pace), in process otherwise."""
    config = bot.config
    rate = config.discord.requests_per_second
    if bot.simulated:
        return pacing.Pacer(pacing.Unpaced())
    if config.session.uses_redis:
        key = pacing.pace_key(bot.application_id, bot.http.token)
        return pacing.Pacer(pacing.RedisPace(rate, config.session.redis_url, key))
    return pacing.Pacer(pacing.LocalPace(rate))


def make_identify_gate(bot: StudyOnBot) -> IdentifyGate:
    """The IDENTIFY turns: shared through Redis when the session store is Redis (every
    process of the bot then starts its shards in turn), discord.py's own pace otherwise."""
    config = bot.config
    turns = None
    if config.session.uses_redis:
        key = identify_key(bot.application_id, bot.http.token)
        turns = RedisTurns(config.session.redis_url, key)
    return IdentifyGate(turns, bot.fetch_session_start_limits, interval_ms=bot.identify_interval_ms)


async def start_pacing(bot: StudyOnBot) -> None:
    """Put the pacer in front of every REST call (``HTTPClient.request``); interaction
    responses go through discord.py's webhook adapter, not there, and are never held."""
    await stop_pacing(bot)
    bot._pacer = make_pacer(bot)
    pacing.install(bot.http, bot._pacer)


async def stop_pacing(bot: StudyOnBot) -> None:
    pacer, bot._pacer = bot._pacer, None
    if pacer is not None:
        pacing.uninstall(bot.http)
        await pacer.close()


async def studyon_setup(bot: StudyOnBot) -> None:
    # before anything can call Discord: alarms may be posted as soon as jobs are rebuilt
    await start_pacing(bot)
    await studyon_prepare(bot)
    # listeners are attached now: due alarms may be posted as soon as jobs are rebuilt
    # running rooms rescheduled, half-made rooms undone, owed Discord work tried again: in
    # the guilds of this process's shards alone
    restored = await bot.services.start(bot.owns_guild, beating=not bot.simulated)
    log.info("StudyOn ready to serve; %d running room(s) rescheduled", restored)


async def studyon_teardown(bot: StudyOnBot) -> None:
    # cogs hold the old services; a restarted bot loads them afresh in setup_hook
    for name in list(bot.extensions):
        try:
            await bot.unload_extension(name)
        except Exception:
            log.exception("unloading %s failed", name)
    services, bot._services = bot._services, None
    bot._locales.clear()
    try:
        if services is not None:
            await services.close()
    finally:
        await stop_pacing(bot)
        gate, bot._identify = bot._identify, None
        if gate is not None:
            await gate.close()


def create_bot(config: Config, *, simulated: bool = False) -> StudyOnBot:
    """An unstarted bot, serving the shards the config names (all guilds when none).
    ``simulated``: it will run in SimCord (the offline demo, the end-to-end tests), whose
    virtual time a real-time pace of REST calls would hold up."""
    return StudyOnBot(config, simulated=simulated)


TOKEN_REFUSED = (
    "cannot log in to Discord: the token was refused: reset it in the Developer Portal "
    "(your application → Bot → Reset Token) and set the new one "
    f"({TOKEN_ENV} or discord.token)"
)


def unreachable(exc: aiohttp.ClientConnectionError) -> str:
    """The one line saying Discord cannot be reached, why, and what to check."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        why = f"{exc.host}:{exc.port}: {exc.strerror or exc.os_error}"
    else:
        why = str(exc) or type(exc).__name__
    return (
        f"cannot reach Discord ({why}): check this machine's network connection, its DNS, "
        "and any proxy or firewall between it and discord.com"
    )


def run_bot(config: Config) -> int:
    """Run the bot until it stops. When Discord cannot be reached or refuses the token, say
    so in one line on stderr (never the token) and return 1; reconnecting after a drop once
    connected is discord.py's job and never ends up here."""
    token = config.discord.token.reveal()
    if not token:
        raise RuntimeError("no token")
    bot = create_bot(config)
    try:
        bot.run(token, log_handler=None)
    except discord.LoginFailure:
        log.debug("Discord refused the token", exc_info=True)
        message = TOKEN_REFUSED
    except aiohttp.ClientConnectionError as exc:
        log.debug("Discord cannot be reached", exc_info=True)
        message = unreachable(exc)
    else:
        return 0
    print(message.replace(token, "***"), file=sys.stderr)
    return 1

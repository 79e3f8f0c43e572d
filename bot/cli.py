"""The ``studyon`` command line (also ``python -m bot``).

Subcommands:

- ``run --config FILE [--demo-fallback]``: start the bot (or, with no token and
  ``--demo-fallback``, the offline demo);
- ``demo``: the real bot in a simulated Discord, with a scripted room, printed as a member
  reads it (no token, no network);
- ``check-config --config FILE``: validate the configuration and print its summary;
- ``migrate --config FILE``: create or upgrade the database schema;
- ``sync --config FILE [--guild ID]``: register the slash commands with Discord (globally, or
  in one guild at once), which the bot never does on start.

Exit codes: 0 success, 1 could not run (no token, a part not available, a failure while
running), 2 bad configuration or bad command line, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import inspect
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from bot.config import TOKEN_ENV, Config, ConfigError, Secret, load_config, redact_url

__all__ = ["INVITE_PERMISSIONS", "NO_TOKEN_HELP", "main"]

log = logging.getLogger("studyon")

#: Manage Channels, Manage Roles, Send Messages, Embed Links, Attach Files,
#: Read Message History, Add Reactions, Connect, as Discord's permission bit field.
INVITE_PERMISSIONS: Final = (
    (1 << 4)  # Manage Channels
    | (1 << 28)  # Manage Roles
    | (1 << 11)  # Send Messages
    | (1 << 14)  # Embed Links
    | (1 << 15)  # Attach Files
    | (1 << 16)  # Read Message History
    | (1 << 6)  # Add Reactions
    | (1 << 20)  # Connect
)

NO_TOKEN_HELP: Final = f"""\
No Discord bot token is set, so StudyOn cannot connect to Discord.
How to get one:
  1. Open the Discord Developer Portal (https://discord.com/developers/applications)
     and click "New Application"; give it a name.
  2. Open the "Bot" tab and click "Reset Token"; copy the token (it is shown only once).
     No privileged gateway intents are needed: leave Presence, Server Members and
     Message Content off.
  3. Invite the bot to your server: in "OAuth2" → "URL Generator" tick the scopes
     "bot" and "applications.commands", and the bot permissions Manage Channels,
     Manage Roles, Send Messages, Embed Links, Attach Files, Read Message History,
     Add Reactions and Connect (permissions integer {INVITE_PERMISSIONS}); open the
     generated URL and pick your server.
  4. Give the token to StudyOn, either in the environment:
         export {TOKEN_ENV}=<your token>
     or in the config file:
         [discord]
         token = "<your token>"
     Never commit or share the token; anyone who has it controls the bot."""


# --------------------------------------------------------------------------------------------
# Logging


class _RedactSecret(logging.Filter):
    """Replaces the token in every record a handler emits, tracebacks included."""

    def __init__(self, secret: Secret) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        value = self.secret.reveal()
        if not value:
            return True
        message = record.getMessage()
        if value in message:
            record.msg = message.replace(value, "***")
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and value in record.exc_text:
            record.exc_text = record.exc_text.replace(value, "***")
        return True


#: libraries whose INFO lines describe their own machinery (every scheduled wake-up, every
#: migration step), shown with ``-v`` only
_CHATTY_LOGGERS = ("apscheduler", "alembic")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)


def _protect(secret: Secret) -> None:
    """Make every root handler scrub ``secret`` from what it writes."""
    for handler in logging.getLogger().handlers:
        for existing in handler.filters:
            if isinstance(existing, _RedactSecret):
                existing.secret = secret
                break
        else:
            handler.addFilter(_RedactSecret(secret))


# --------------------------------------------------------------------------------------------
# Helpers


def _error(message: str) -> None:
    print(message, file=sys.stderr)


def _load(path: str | None) -> Config | None:
    """The configuration, or None after printing ``config error: <line>``."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        _error(f"config error: {exc}")
        return None
    _protect(config.discord.token)
    if path is None:
        log.info("no --config given: using built-in defaults and the environment")
    return config


def _lazy(module: str, attr: str, missing: str) -> Callable[..., Any] | None:
    """``module.attr``, imported now; None (after saying ``missing``) if the module is absent."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module == exc.name or module.startswith(exc.name + ".")):
            _error(missing)
            return None
        log.debug("importing %s failed", module, exc_info=True)
        _error(f"cannot load {module}: {exc}")
        return None
    except ImportError as exc:
        log.debug("importing %s failed", module, exc_info=True)
        _error(f"cannot load {module}: {exc}")
        return None
    function = getattr(mod, attr, None)
    if not callable(function):
        _error(f"{missing} ({module} has no {attr}())")
        return None
    return function  # type: ignore[no-any-return]


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _call(function: Callable[..., Any], *args: Any) -> int:
    """Call a sync or async entry point; its int result (if any) is the exit code."""
    result = function(*args)
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    return 0


# --------------------------------------------------------------------------------------------
# Subcommands


def _cmd_run(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    log.info("StudyOn starting: %s", config.describe())
    if not config.discord.token:
        _error(NO_TOKEN_HELP)
        if not args.demo_fallback:
            return 1
        _error("\nno token: running the offline demo instead")
        return _cmd_demo(args)
    run_bot = _lazy(
        "bot.app",
        "run_bot",
        "the Discord runtime is not built yet, so the bot cannot connect to Discord",
    )
    return 1 if run_bot is None else _call(run_bot, config)


#: what the offline demo needs beyond the bot itself (the ``demo`` extra)
DEMO_MODULES: Final = ("simcord", "time_machine")
DEMO_MISSING: Final = (
    "the offline demo needs the demo extra: pip install 'studyon[demo]' (./dev installs it)"
)


def _cmd_demo(args: argparse.Namespace) -> int:
    if any(importlib.util.find_spec(name) is None for name in DEMO_MODULES):
        _error(DEMO_MISSING)
        return 1
    if not args.verbose:
        # the story only: the bot's and its libraries' logs are for -v
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("discord").setLevel(logging.ERROR)
    run_demo = _lazy("bot.demo", "run_demo", "the offline demo cannot be loaded")
    return 1 if run_demo is None else _call(run_demo)


def _cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    print(config.describe())
    if not config.discord.token:
        _error(f"note: no Discord token is set (set {TOKEN_ENV} or discord.token)")
    return 0


async def _migrate(db: Any, url: str) -> None:
    engine = db.create_engine(url)
    try:
        await db.migrate(engine)
    finally:
        await db.dispose(engine)


def _cmd_migrate(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    url = config.database.url
    if _lazy("storage.db", "migrate", "the storage layer is not built yet") is None:
        return 1
    db = importlib.import_module("storage.db")
    log.info("migrating %s", redact_url(url))
    try:
        asyncio.run(_migrate(db, url))
    except Exception as exc:
        log.debug("migration failed", exc_info=True)
        _error(f"migrate failed: {type(exc).__name__}: {exc}")
        return 1
    print(f"database is up to date: {redact_url(url)}")
    return 0


def _snowflake(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value < 1 << 64:
        raise argparse.ArgumentTypeError(f"not a Discord id: {text!r}")
    return value


def _cmd_sync(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    if not config.discord.token:
        _error(NO_TOKEN_HELP)
        return 1
    run_sync = _lazy(
        "bot.sync",
        "run_sync",
        "the Discord runtime is not built yet, so the commands cannot be synced",
    )
    if run_sync is None:
        return 1
    guild: int | None = args.guild
    try:
        count = asyncio.run(_await(run_sync(config, guild)))
    except Exception as exc:
        log.debug("sync failed", exc_info=True)
        _error(f"sync failed: {type(exc).__name__}: {exc}")
        return 1
    where = "globally" if guild is None else f"to guild {guild}"
    print(f"synced {count} command(s) {where}")
    return 0


# --------------------------------------------------------------------------------------------
# Entry point


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("studyon")
    except PackageNotFoundError:
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studyon", description="StudyOn: a Discord bot for studying together."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log at DEBUG level (never logs the token)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_: str, handler: Callable[[argparse.Namespace], int]) -> Any:
        sub = commands.add_parser(name, help=help_, description=help_)
        sub.add_argument(
            "--config",
            metavar="FILE",
            default=None,
            help="TOML configuration (see config.example.toml); "
            "without it every setting takes its default",
        )
        sub.set_defaults(handler=handler)
        return sub

    run = command("run", "start the bot", _cmd_run)
    run.add_argument(
        "--demo-fallback",
        action="store_true",
        help="with no token, run the offline demo instead of exiting",
    )
    command(
        "demo",
        "run the real bot in a simulated Discord with a scripted study room (no token needed)",
        _cmd_demo,
    )
    command("check-config", "validate the configuration and print its summary", _cmd_check_config)
    command("migrate", "create or upgrade the database schema", _cmd_migrate)
    sync = command(
        "sync",
        "register the slash commands with Discord (run once after installing or upgrading)",
        _cmd_sync,
    )
    sync.add_argument(
        "--guild",
        metavar="ID",
        type=_snowflake,
        default=None,
        help="register them in this server only, where they appear at once "
        "(the global commands are copied there)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    _setup_logging(args.verbose)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except Exception:
        log.exception("StudyOn stopped on an unexpected error")
        return 1


if __name__ == "__main__":
    sys.exit(main())

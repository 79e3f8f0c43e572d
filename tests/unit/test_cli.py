"""The studyon command line, run in-process."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import socket
import sqlite3
import subprocess
import sys
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
from aiohttp import web

from bot import cli
from bot.config import TOKEN_ENV, Config, load_config

REPO = Path(__file__).resolve().parents[2]
TOKEN = "MTIzNDU2Nzg5MDEy.GhIjKl.very-secret-token-value"


@pytest.fixture(autouse=True)
def _no_token_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def absent(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make ``import name`` fail as if the module did not exist."""
    monkeypatch.setitem(sys.modules, name, None)


def fake_module(monkeypatch: pytest.MonkeyPatch, name: str, **attrs: Any) -> None:
    module = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, name, module)


def test_run_without_token_explains_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["run", "--config", write(tmp_path, "")])
    out, err = capsys.readouterr()
    assert code == 1
    for needle in (
        "Developer Portal",
        "New Application",
        "Reset Token",
        "bot",
        "applications.commands",
        "Manage Channels",
        "Manage Roles",
        "Send Messages",
        "Embed Links",
        "Attach Files",
        "Read Message History",
        "Add Reactions",
        "Connect",
        TOKEN_ENV,
        "token =",
    ):
        assert needle in err, needle
    assert "Traceback" not in out + err


def test_invite_permissions_match_the_named_ones() -> None:
    import discord

    expected = discord.Permissions(
        manage_channels=True,
        manage_roles=True,
        send_messages=True,
        embed_links=True,
        attach_files=True,
        read_message_history=True,
        add_reactions=True,
        connect=True,
    )
    assert expected.value == cli.INVITE_PERMISSIONS
    assert str(expected.value) in cli.NO_TOKEN_HELP


def test_run_with_token_but_no_runtime_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    absent(monkeypatch, "bot.app")
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    code = cli.main(["run", "--config", write(tmp_path, "")])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Discord runtime is not built yet" in err
    assert TOKEN not in out + err


def test_run_with_token_calls_run_bot(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[Config] = []

    async def run_bot(config: Config) -> None:
        seen.append(config)
        logging.getLogger("studyon.test").info("connecting with %s", config.discord.token.reveal())

    fake_module(monkeypatch, "bot.app", run_bot=run_bot)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with caplog.at_level(logging.INFO):
        code = cli.main(["run", "--config", write(tmp_path, "")])
    out, err = capsys.readouterr()
    assert code == 0
    assert seen and seen[0].discord.token.reveal() == TOKEN
    assert "connecting with ***" in caplog.text
    assert "StudyOn starting" in caplog.text
    assert TOKEN not in caplog.text + out + err


def test_run_returns_run_bots_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_module(monkeypatch, "bot.app", run_bot=lambda config: 3)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert cli.main(["run", "--config", write(tmp_path, "")]) == 3


def test_demo_fallback_runs_the_real_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    code = cli.main(["run", "--config", write(tmp_path, ""), "--demo-fallback"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "no token: running the offline demo instead" in err
    assert "Today's Study Kings: **alice**" in out
    assert "Traceback" not in err


def test_demo_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo"]) == 0
    out, _ = capsys.readouterr()
    assert "#morning-focus, as a member sees it" in out


def test_demo_fallback_is_not_used_when_a_token_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    fake_module(monkeypatch, "bot.demo", run_demo=lambda: calls.append("demo"))
    fake_module(monkeypatch, "bot.app", run_bot=lambda config: calls.append("bot"))
    path = write(tmp_path, f'[discord]\ntoken = "{TOKEN}"\n')
    assert cli.main(["run", "--config", path, "--demo-fallback"]) == 0
    assert calls == ["bot"]


def test_check_config_prints_describe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[rooms]\ncategory_name = "Library"\n[i18n]\ndefault_locale = "ko"\n')
    code = cli.main(["check-config", "--config", path])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.strip() == load_config(path, env={}).describe()
    assert "'Library'" in out


def test_check_config_never_prints_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        ["check-config", "--config", write(tmp_path, f'[discord]\ntoken = "{TOKEN}"\n')]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert "token=set" in out
    assert TOKEN not in out + err


def test_check_config_accepts_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check-config", "--config", str(REPO / "config.example.toml")]) == 0


@pytest.mark.parametrize("command", ["run", "check-config", "migrate", "sync"])
def test_bad_config_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code = cli.main([command, "--config", write(tmp_path, "[points]\nroom_join_cost = -5\n")])
    out, err = capsys.readouterr()
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("config error:")]
    assert lines == ["config error: points.room_join_cost: must be an integer ≥ 0, got -5"]
    assert "Traceback" not in out + err


def test_missing_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["check-config", "--config", str(tmp_path / "nope.toml")])
    _, err = capsys.readouterr()
    assert code == 2
    assert "config error:" in err and "no such file" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert cli.main(["frobnicate"]) == 2
    assert cli.main(["--help"]) == 0
    capsys.readouterr()


def test_migrate_without_storage_layer_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    absent(monkeypatch, "storage.db")
    code = cli.main(["migrate", "--config", write(tmp_path, "")])
    _, err = capsys.readouterr()
    assert code == 1
    assert "storage layer is not built yet" in err


def _storage_db_available() -> bool:
    try:
        importlib.import_module("storage.db")
    except ModuleNotFoundError as exc:
        if exc.name in ("storage.db", "storage"):
            return False
        raise
    return True


@pytest.mark.skipif(not _storage_db_available(), reason="storage.db is not built yet")
def test_migrate_creates_the_schema_in_a_sqlite_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_file = tmp_path / "studyon.db"
    path = write(tmp_path, f'[database]\nurl = "sqlite+aiosqlite:///{db_file.as_posix()}"\n')
    code = cli.main(["migrate", "--config", path])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "database is up to date" in out
    with sqlite3.connect(db_file) as conn:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert tables, "migrate created no tables"
    # Running it again is harmless.
    assert cli.main(["migrate", "--config", path]) == 0


def test_migrate_uses_the_storage_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def create_engine(url: str) -> str:
        calls.append(f"create {url}")
        return "engine"

    async def migrate(engine: str) -> None:
        await asyncio.sleep(0)
        calls.append(f"migrate {engine}")

    async def dispose(engine: str) -> None:
        calls.append(f"dispose {engine}")

    fake_module(
        monkeypatch, "storage.db", create_engine=create_engine, migrate=migrate, dispose=dispose
    )
    url = "sqlite+aiosqlite:///x.db"
    assert cli.main(["migrate", "--config", write(tmp_path, f'[database]\nurl = "{url}"\n')]) == 0
    assert calls == [f"create {url}", "migrate engine", "dispose engine"]


def test_migrate_failure_is_one_line_and_disposes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    disposed: list[object] = []

    async def migrate(engine: object) -> None:
        raise OSError("connection refused")

    async def dispose(engine: object) -> None:
        disposed.append(engine)

    fake_module(
        monkeypatch, "storage.db", create_engine=lambda url: "e", migrate=migrate, dispose=dispose
    )
    code = cli.main(["migrate", "--config", write(tmp_path, "")])
    _, err = capsys.readouterr()
    assert code == 1
    assert "migrate failed: OSError: connection refused" in err
    assert "Traceback" not in err
    assert disposed == ["e"]


def test_python_dash_m_bot() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("studyon ")


# --------------------------------------------------------------------------------------------
# sync


def test_sync_without_token_explains_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    fake_module(monkeypatch, "bot.sync", run_sync=lambda *a: calls.append(a))
    code = cli.main(["sync", "--config", write(tmp_path, "")])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.strip() == cli.NO_TOKEN_HELP.strip()
    assert calls == []  # never tried to log in
    assert "Traceback" not in out + err


def test_sync_prints_how_many_commands_were_synced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, int | None]] = []

    async def run_sync(config: Config, guild_id: int | None) -> int:
        seen.append((config.discord.token.reveal(), guild_id))
        return 7

    fake_module(monkeypatch, "bot.sync", run_sync=run_sync)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    path = write(tmp_path, "")
    assert cli.main(["sync", "--config", path]) == 0
    assert capsys.readouterr().out.strip() == "synced 7 command(s) globally"
    assert cli.main(["sync", "--config", path, "--guild", "1456074443980800005"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "synced 7 command(s) to guild 1456074443980800005"
    assert seen == [(TOKEN, None), (TOKEN, 1456074443980800005)]
    assert TOKEN not in out + err


@pytest.mark.parametrize("guild", ["general", "0", "-5", str(1 << 64)])
def test_sync_refuses_a_guild_that_is_not_an_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], guild: str
) -> None:
    assert cli.main(["sync", "--config", write(tmp_path, ""), "--guild", guild]) == 2
    assert "not a Discord id" in capsys.readouterr().err


def test_sync_failure_is_one_line_without_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import discord

    async def run_sync(config: Config, guild_id: int | None) -> int:
        raise discord.LoginFailure("Improper token has been passed.")

    fake_module(monkeypatch, "bot.sync", run_sync=run_sync)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    code = cli.main(["sync", "--config", write(tmp_path, "")])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.strip() == "sync failed: LoginFailure: Improper token has been passed."
    assert TOKEN not in out + err


def test_sync_without_runtime_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    absent(monkeypatch, "bot.sync")
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert cli.main(["sync", "--config", write(tmp_path, "")]) == 1
    assert "commands cannot be synced" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# run, when Discord cannot be reached or refuses the token

#: ``studyon`` with discord.py's API address replaced by the first argument
STUDYON_AT = (
    "import sys, discord.http; discord.http.Route.BASE = sys.argv[1]; "
    "from bot.cli import main; sys.exit(main(sys.argv[2:]))"
)


def offline_config(tmp_path: Path) -> str:
    return write(
        tmp_path,
        f'[database]\nurl = "sqlite+aiosqlite:///{(tmp_path / "s.db").as_posix()}"\n'
        f'[session]\nembedded_path = "{(tmp_path / "session.db").as_posix()}"\n',
    )


async def studyon_at(api_base: str, *args: str) -> tuple[int, str, str]:
    """Run ``studyon ARGS`` in a process of its own, talking to ``api_base`` for Discord."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        STUDYON_AT,
        api_base,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, TOKEN_ENV: TOKEN},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def the_line(err: str, start: str) -> str:
    """The one stderr line starting with ``start`` (log lines aside), with no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith(start)]
    assert len(lines) == 1, err
    return lines[0]


async def test_run_when_discord_cannot_be_reached_says_so_in_one_line(tmp_path: Path) -> None:
    code, out, err = await studyon_at(
        "http://studyon.invalid/api/v10", "run", "--config", offline_config(tmp_path)
    )
    assert code == 1
    line = the_line(err, "cannot reach Discord")
    assert line.startswith("cannot reach Discord (studyon.invalid:80: ")
    for needle in ("network connection", "DNS", "proxy or firewall"):
        assert needle in line
    assert TOKEN not in out + err


@pytest.fixture
async def refusing_discord() -> AsyncIterator[tuple[str, list[str]]]:
    """A local Discord API that refuses every token as Discord does (401); its address and
    the Authorization headers it was sent."""
    seen: list[str] = []

    async def me(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.Response(
            status=401,
            body=b'{"message": "401: Unauthorized", "code": 0}',
            headers={"Content-Type": "application/json"},
        )

    app = web.Application()
    app.router.add_get("/api/v10/users/@me", me)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/api/v10", seen
    finally:
        await runner.cleanup()


async def test_run_with_a_refused_token_says_so_in_one_line(
    tmp_path: Path, refusing_discord: tuple[str, list[str]]
) -> None:
    base, seen = refusing_discord
    code, out, err = await studyon_at(base, "run", "--config", offline_config(tmp_path))
    assert code == 1
    line = the_line(err, "cannot log in to Discord")
    assert "the token was refused: reset it in the Developer Portal" in line
    assert TOKEN_ENV in line
    assert TOKEN not in out + err
    assert seen == [f"Bot {TOKEN}"]  # it did ask Discord, with the configured token


def test_run_when_the_connection_is_refused_prints_only_that_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound but never listening: connecting is refused
        port = closed.getsockname()[1]
        monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
        with caplog.at_level(logging.DEBUG):
            code = cli.main(["-v", "run", "--config", offline_config(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1
    [line] = err.splitlines()
    assert line.startswith(f"cannot reach Discord (127.0.0.1:{port}: ")
    assert line.endswith(
        "): check this machine's network connection, its DNS, and any proxy or firewall "
        "between it and discord.com"
    )
    assert out == ""
    # the cause stays available with -v, as a debug record, never as an error
    assert any(r.exc_info and r.levelno == logging.DEBUG for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert TOKEN not in caplog.text + err

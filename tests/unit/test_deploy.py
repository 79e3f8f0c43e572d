"""The deployments in ``deploy/`` configure the bot they say they do: read as compose and
systemd read them, each process's configuration loads (``load_config``, with the process's
environment), the processes together run every shard exactly once, and all point at one
PostgreSQL and one Redis, which keeps what it holds on disk."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from bot.config import SHARD_IDS_ENV, TOKEN_ENV, Config, load_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
SYSTEMD = DEPLOY / "systemd"
UNIT = SYSTEMD / "studyon@.service"
TOKEN = "MTIz.stand-in-token"


@dataclass(frozen=True)
class Process:
    name: str
    config: Config


def check_cluster(processes: list[Process]) -> None:
    """What every deployment of several processes must hold."""
    assert len(processes) == 3
    counts = {p.config.discord.shard_count for p in processes}
    assert len(counts) == 1 and None not in counts, counts
    (count,) = counts
    assert count is not None
    ran = Counter(s for p in processes for s in p.config.discord.shard_ids or ())
    assert sorted(ran) == list(range(count)), f"shards run: {dict(ran)} of {count}"
    assert set(ran.values()) == {1}, f"a shard run twice: {dict(ran)}"
    assert len({p.config.database.url for p in processes}) == 1
    assert len({p.config.session.redis_url for p in processes}) == 1
    for p in processes:
        assert p.config.database.url.startswith("postgresql+asyncpg://"), p.name
        assert p.config.session.uses_redis, p.name
        assert p.config.discord.token.reveal() == TOKEN, p.name


# --------------------------------------------------------------------------------------------
# compose


def interpolated(value: str) -> str:
    """Compose's ``${NAME:?message}``, with the token given as compose would be given it."""
    return re.sub(r"\$\{STUDYON_DISCORD_TOKEN:\?[^}]*\}", TOKEN, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def bot_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return {name: s for name, s in services.items() if s.get("image") == "studyon:latest"}


def mounted_config(service: dict[str, Any]) -> Path:
    """The file the service's ``--config`` names, on this side of its volume mount."""
    command: list[str] = service["command"]
    inside = command[command.index("--config") + 1]
    volumes: list[str] = service["volumes"]
    for volume in volumes:
        source, target, *_ = volume.split(":")
        if target == inside:
            return (COMPOSE.parent / source).resolve()
    raise AssertionError(f"{inside} is not mounted")


def compose_processes(compose: dict[str, Any]) -> list[Process]:
    processes = []
    for name, service in bot_services(compose).items():
        env = {k: interpolated(str(v)) for k, v in service["environment"].items()}
        processes.append(Process(name, load_config(mounted_config(service), env=env)))
    return processes


def test_compose_runs_three_processes_over_every_shard_once(compose: dict[str, Any]) -> None:
    processes = compose_processes(compose)
    check_cluster(processes)
    assert [p.config.discord.shard_ids for p in processes] == [(0, 1), (2, 3), (4, 5)]


def test_compose_points_every_process_at_its_postgresql_and_redis(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    postgres = services["postgres"]["environment"]
    for process in compose_processes(compose):
        database = make_url(process.config.database.url)
        assert database.host == "postgres" and database.port in (None, 5432)
        assert (database.username, database.password, database.database) == (
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
            postgres["POSTGRES_DB"],
        )
        assert process.config.session.redis_url.startswith("redis://redis:6379/")
    for name, service in bot_services(compose).items():
        assert set(service["depends_on"]) == {"postgres", "redis"}, name


def test_compose_restarts_whatever_dies_and_redis_keeps_every_write(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert all(s["restart"] == "always" for s in services.values())
    command = services["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "always"
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])


def test_compose_takes_the_token_from_the_environment_only(compose: dict[str, Any]) -> None:
    for name, service in bot_services(compose).items():
        token = service["environment"][TOKEN_ENV]
        assert token.startswith("${STUDYON_DISCORD_TOKEN:?"), name
        assert not load_config(mounted_config(service), env={}).discord.token


def test_the_image_runs_the_command_compose_gives_it() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["studyon"]' in dockerfile
    for package in ("bot", "cogs", "storage"):
        assert f"COPY {package} ./{package}" in dockerfile


# --------------------------------------------------------------------------------------------
# systemd


def unit_entries(path: Path) -> dict[str, list[str]]:
    """``Section.Key`` → its values in order (systemd allows a key more than once)."""
    entries: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return entries


def env_file(path: Path) -> dict[str, str]:
    """An ``EnvironmentFile=``: ``KEY=value`` lines, ``#`` comments."""
    env = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def installed(path: str, instance: str) -> Path:
    """Where the repository keeps the file the unit names under ``/etc/studyon``."""
    return SYSTEMD / path.replace("%i", instance).removeprefix("/etc/studyon/")


def systemd_processes() -> list[Process]:
    unit = unit_entries(UNIT)
    (exec_start,) = unit["Service.ExecStart"]
    argv = exec_start.split()
    config_path = argv[argv.index("--config") + 1]
    instances = sorted(p.stem for p in SYSTEMD.glob("*.env"))
    processes = []
    for instance in instances:
        env: dict[str, str] = {}
        for named in unit["Service.EnvironmentFile"]:
            if "token.env" in named:
                env[TOKEN_ENV] = TOKEN  # the secret: on the host only, never in the repository
                continue
            env.update(env_file(installed(named, instance)))
        processes.append(
            Process(f"studyon@{instance}", load_config(installed(config_path, instance), env=env))
        )
    return processes


def test_the_systemd_instances_run_every_shard_once_on_one_database_and_redis() -> None:
    processes = systemd_processes()
    assert [p.name for p in processes] == ["studyon@0", "studyon@1", "studyon@2"]
    check_cluster(processes)


def test_each_systemd_instance_reads_the_shared_file_and_its_own_shards() -> None:
    unit = unit_entries(UNIT)
    files = unit["Service.EnvironmentFile"]
    assert "/etc/studyon/%i.env" in files and "/etc/studyon/token.env" in files
    assert unit["Service.ExecStart"][0].endswith("run --config /etc/studyon/config.toml")
    for path in SYSTEMD.glob("*.env"):
        assert set(env_file(path)) == {SHARD_IDS_ENV}, path.name


def test_a_systemd_instance_is_restarted_whenever_it_dies() -> None:
    unit = unit_entries(UNIT)
    assert unit["Service.Restart"] == ["always"]
    # systemd gives up on a unit that restarts too often, unless told not to
    assert unit["Unit.StartLimitIntervalSec"] == ["0"]
    assert unit["Service.WorkingDirectory"] == ["/var/lib/studyon/%i"]
    assert unit["Install.WantedBy"] == ["multi-user.target"]

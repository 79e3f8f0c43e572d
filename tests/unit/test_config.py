"""bot.config: defaults, the example file, the environment, and one-line errors."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest

from bot.config import (
    SHARD_IDS_ENV,
    TOKEN_ENV,
    Config,
    ConfigError,
    DatabaseConfig,
    DiscordConfig,
    I18nConfig,
    PointsConfig,
    RoomsConfig,
    Secret,
    SessionConfig,
    TimerConfig,
    load_config,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config.example.toml"
TOKEN = "MTIzNDU2Nzg5MDEy.GhIjKl.very-secret-token-value"

FULL = """
[discord]
token = "file-token"
shard_ids = [0, 2]
shard_count = 4
requests_per_second = 20
[database]
url = "postgresql+asyncpg://studyon:pw@127.0.0.1/studyon"
[session]
redis_url = "redis://127.0.0.1:6379/0"
embedded_path = "state/session.db"
[points]
signup_bonus = 500
room_create_cost = 0
room_join_cost = 1000000
[timer]
alarm_grace_seconds = 5
extend_vote_seconds = 86400
[rooms]
category_name = "공부방"
max_capacity = 2
[i18n]
default_locale = "ko"
default_timezone = "Asia/Seoul"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={} if env is None else env)
    message = str(info.value)
    assert "\n" not in message, message
    assert "Traceback" not in message
    return message


def test_defaults_without_a_file() -> None:
    config = load_config(None, env={})
    assert config == Config()
    assert config.discord == DiscordConfig(Secret(""), None, None, 45)
    assert not config.discord.token
    assert config.database == DatabaseConfig("sqlite+aiosqlite:///studyon.db")
    assert config.session == SessionConfig("", "studyon-session.db")
    assert not config.session.uses_redis
    assert config.points == PointsConfig(1000, 100, 50)
    assert config.timer == TimerConfig(60, 300)
    assert config.rooms == RoomsConfig("Study Rooms", 25)
    assert config.i18n == I18nConfig("en", "UTC")


def test_an_empty_file_means_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, ""), env={}) == Config()


def test_the_tree_is_frozen() -> None:
    config = load_config(None, env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.points.signup_bonus = 5  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        config.points.extra = 1  # type: ignore[attr-defined]


def test_every_key_parses(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), env={})
    assert config.discord.token.reveal() == "file-token"
    assert config.discord.shard_ids == (0, 2)
    assert config.discord.shard_count == 4
    assert config.discord.requests_per_second == 20
    assert config.database.url.startswith("postgresql+asyncpg://")
    assert config.session.redis_url == "redis://127.0.0.1:6379/0"
    assert config.session.uses_redis
    assert config.session.embedded_path == "state/session.db"
    assert config.points == PointsConfig(500, 0, 1_000_000)
    assert config.timer == TimerConfig(5, 86400)
    assert config.rooms == RoomsConfig("공부방", 2)
    assert config.i18n == I18nConfig("ko", "Asia/Seoul")


def test_the_shipped_example_loads_with_design_defaults() -> None:
    config = load_config(EXAMPLE, env={})
    assert config == Config()
    raw = EXAMPLE.read_text(encoding="utf-8")
    for key in (
        "token",
        "url",
        "redis_url",
        "signup_bonus",
        "room_create_cost",
        "room_join_cost",
        "alarm_grace_seconds",
        "extend_vote_seconds",
        "category_name",
        "max_capacity",
        "default_locale",
        "default_timezone",
    ):
        assert f"\n{key} = " in raw, key


def test_a_string_path_works_too(tmp_path: Path) -> None:
    path = write(tmp_path, "[points]\nsignup_bonus = 7\n")
    assert load_config(str(path), env={}).points.signup_bonus == 7


def test_env_token_wins_over_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[discord]\ntoken = "file-token"\n')
    assert load_config(path, env={}).discord.token.reveal() == "file-token"
    config = load_config(path, env={TOKEN_ENV: TOKEN})
    assert config.discord.token.reveal() == TOKEN
    assert load_config(None, env={TOKEN_ENV: TOKEN}).discord.token.reveal() == TOKEN
    # An empty variable does not blank out the file's token.
    assert load_config(path, env={TOKEN_ENV: ""}).discord.token.reveal() == "file-token"


def test_env_shard_ids_win_over_the_file(tmp_path: Path) -> None:
    # the processes of one bot share a file and differ by the shards each runs
    path = write(tmp_path, "[discord]\nshard_ids = [0, 1]\nshard_count = 12\n")
    assert load_config(path, env={}).discord.shard_ids == (0, 1)
    for text, shards in [
        ("2,3", (2, 3)),
        (" 4 , 5 ", (4, 5)),
        ("0-3", (0, 1, 2, 3)),
        ("8 - 9,11", (8, 9, 11)),
        ("7", (7,)),
    ]:
        config = load_config(path, env={SHARD_IDS_ENV: text})
        assert config.discord.shard_ids == shards, text
        assert config.discord.shard_count == 12
    # an empty variable does not blank out the file's shards
    assert load_config(path, env={SHARD_IDS_ENV: " "}).discord.shard_ids == (0, 1)
    described = load_config(path, env={SHARD_IDS_ENV: "4-5"}).describe()
    assert "shards=4,5 of 12" in described


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0,x", "must contain only integers, got 'x'"),
        ("0,,1", "must contain only integers, got ''"),
        ("1.5", "must contain only integers"),
        ("-1", "must contain only integers, got '-1'"),
        ("3-1", "the range '3-1' ends before it starts"),
        ("0-99999", "is too long"),
        ("12", "shard 12 is out of range: must be < shard_count 12"),
        ("0-2,2", "shard 2 is listed twice"),
        ("²", "must contain only integers"),
    ],
)
def test_env_shard_ids_are_checked_as_the_files_are(
    tmp_path: Path, text: str, problem: str
) -> None:
    message = error_for(tmp_path, "[discord]\nshard_count = 12\n", {SHARD_IDS_ENV: text})
    assert message.startswith(f"{SHARD_IDS_ENV}: ") and problem in message, message


def test_env_shard_ids_need_the_files_shard_count(tmp_path: Path) -> None:
    message = error_for(tmp_path, "", {SHARD_IDS_ENV: "0,1"})
    assert message == f"{SHARD_IDS_ENV}: requires discord.shard_count to be set too"


def test_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert load_config(None).discord.token.reveal() == TOKEN
    monkeypatch.delenv(TOKEN_ENV)
    assert not load_config(None).discord.token


def test_token_never_shown(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), env={TOKEN_ENV: TOKEN})
    for text in (
        repr(config),
        str(config),
        config.describe(),
        repr(config.discord),
        str(config.discord.token),
        f"{config.discord.token}",
        f"{config.discord}",
    ):
        assert TOKEN not in text
    assert repr(config.discord.token) == "Secret('***')"
    assert str(Secret("")) == "Secret('<unset>')"
    assert config.discord.token.reveal() == TOKEN
    assert pickle.loads(pickle.dumps(config)) == config


def test_passwords_in_urls_are_not_shown(tmp_path: Path) -> None:
    text = FULL.replace("redis://127.0.0.1", "redis://:hunter2@127.0.0.1").replace(
        ":pw@", ":s3cret@"
    )
    config = load_config(write(tmp_path, text), env={})
    for shown in (repr(config), config.describe()):
        assert "s3cret" not in shown and "hunter2" not in shown
    assert "s3cret" in config.database.url  # the value itself is intact
    message = error_for(tmp_path, '[database]\nurl = "postgres://u:s3cret@h/db"\n')
    assert "s3cret" not in message
    message = error_for(tmp_path, '[session]\nredis_url = "redis+cluster://u:s3cret@h:1/1"\n')
    assert "s3cret" not in message


def test_a_redis_cluster_url_is_a_session_url(tmp_path: Path) -> None:
    url = "redis+cluster://:s3cret@10.0.0.1:7000,10.0.0.2:7000,[fd00::3]:7000"
    config = load_config(write(tmp_path, f'[session]\nredis_url = "{url}"\n'), env={})
    assert config.session.redis_url == url
    assert config.session.uses_redis
    assert "s3cret" not in config.describe() and "s3cret" not in repr(config)
    assert "redis+cluster://:***@10.0.0.1:7000,10.0.0.2:7000,[fd00::3]:7000" in config.describe()


def test_describe_is_one_line(tmp_path: Path) -> None:
    description = load_config(write(tmp_path, FULL), env={}).describe()
    assert "\n" not in description
    assert "shards=0,2 of 4" in description
    assert "token=set" in description
    assert "pace=20/s" in description
    assert "token=unset" in load_config(None, env={}).describe()


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[points]\nroom_join_cost = -5\n", "points.room_join_cost", "≥ 0, got -5"),
        ("[points]\nsignup_bonus = 1000001\n", "points.signup_bonus", "≤ 1000000"),
        ("[points]\nroom_create_cost = true\n", "points.room_create_cost", "boolean"),
        ("[points]\nroom_create_cost = '100'\n", "points.room_create_cost", "integer"),
        ("[timer]\nalarm_grace_seconds = 4\n", "timer.alarm_grace_seconds", "≥ 5"),
        ("[timer]\nalarm_grace_seconds = 3601\n", "timer.alarm_grace_seconds", "≤ 3600"),
        ("[timer]\nextend_vote_seconds = 9\n", "timer.extend_vote_seconds", "≥ 10"),
        ("[timer]\nextend_vote_seconds = 86401\n", "timer.extend_vote_seconds", "≤ 86400"),
        ("[timer]\nextend_vote_seconds = 60.0\n", "timer.extend_vote_seconds", "float"),
        ("[rooms]\nmax_capacity = 1\n", "rooms.max_capacity", "≥ 2"),
        ("[rooms]\nmax_capacity = 26\n", "rooms.max_capacity", "≤ 25"),
        ("[rooms]\ncategory_name = ''\n", "rooms.category_name", "1 to 100"),
        ("[rooms]\ncategory_name = '   '\n", "rooms.category_name", "blank"),
        (f"[rooms]\ncategory_name = '{'x' * 101}'\n", "rooms.category_name", "101 characters"),
        ("[rooms]\ncategory_name = 5\n", "rooms.category_name", "must be a string"),
        ("[i18n]\ndefault_locale = 'fr'\n", "i18n.default_locale", "'en', 'ko'"),
        ("[i18n]\ndefault_timezone = 'Mars/Olympus'\n", "i18n.default_timezone", "IANA"),
        ("[i18n]\ndefault_timezone = '../../etc/passwd'\n", "i18n.default_timezone", "IANA"),
        ("[i18n]\ndefault_timezone = ''\n", "i18n.default_timezone", "IANA"),
        ("[database]\nurl = 'sqlite:///x.db'\n", "database.url", "sqlite+aiosqlite://"),
        ("[database]\nurl = 'studyon.db'\n", "database.url", "must start with"),
        ("[session]\nredis_url = 'http://x'\n", "session.redis_url", "redis://"),
        ("[session]\nredis_url = 'http://x'\n", "session.redis_url", "'redis+cluster://'"),
        ("[session]\nredis_url = 'redis+cluster://'\n", "session.redis_url", "at least one node"),
        ("[session]\nredis_url = 'redis+cluster://h:7000,'\n", "session.redis_url", "node ''"),
        ("[session]\nredis_url = 'redis+cluster://h:x'\n", "session.redis_url", "bad port"),
        ("[session]\nredis_url = 'redis+cluster://h/2'\n", "session.redis_url", "database 0"),
        ("[session]\nembedded_path = ''\n", "session.embedded_path", "non-empty"),
        ("[discord]\ntoken = 5\n", "discord.token", "must be a string"),
        ("[discord]\ntoken = 'Bot abc'\n", "discord.token", "without spaces"),
        ("[discord]\nshard_count = 0\n", "discord.shard_count", "≥ 1"),
        ("[discord]\nshard_count = 10001\n", "discord.shard_count", "≤ 10000"),
        ("[discord]\nshard_count = true\n", "discord.shard_count", "boolean"),
        ("[discord]\nrequests_per_second = 0\n", "discord.requests_per_second", "≥ 1"),
        ("[discord]\nrequests_per_second = 51\n", "discord.requests_per_second", "≤ 50"),
        ("[discord]\nrequests_per_second = 4.5\n", "discord.requests_per_second", "float"),
        ("[discord]\nshard_ids = [0]\n", "discord.shard_ids", "requires discord.shard_count"),
        ("[discord]\nshard_ids = []\nshard_count = 2\n", "discord.shard_ids", "at least one"),
        ("[discord]\nshard_ids = 0\nshard_count = 2\n", "discord.shard_ids", "must be a list"),
        ("[discord]\nshard_ids = [0, 0]\nshard_count = 2\n", "discord.shard_ids", "twice"),
        ("[discord]\nshard_ids = [2]\nshard_count = 2\n", "discord.shard_ids", "< shard_count 2"),
        ("[discord]\nshard_ids = [-1]\nshard_count = 2\n", "discord.shard_ids", "≥ 0"),
        ("[discord]\nshard_ids = [true]\nshard_count = 2\n", "discord.shard_ids", "integers"),
        (
            "[points]\nroom_joint_cost = 1\n",
            "points.room_joint_cost",
            "did you mean 'room_join_cost'",
        ),
        ("[pointz]\n", "pointz", "unknown section"),
        ("token = 'x'\n", "token", "unknown section"),
        ("points = 3\n", "points", "must be a table"),
    ],
)
def test_errors_name_the_key_on_one_line(tmp_path: Path, text: str, key: str, problem: str) -> None:
    message = error_for(tmp_path, text)
    assert message.startswith(f"{key}: "), message
    assert problem in message, message


def test_the_documented_example_message(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[points]\nroom_join_cost = -5\n")
    assert message == "points.room_join_cost: must be an integer ≥ 0, got -5"


def test_error_carries_key_and_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "[rooms]\nmax_capacity = 99\n"), env={})
    assert info.value.key == "rooms.max_capacity"
    assert "25" in info.value.problem


def test_bool_is_not_an_int(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[rooms]\nmax_capacity = true\n")
    assert message.startswith("rooms.max_capacity: must be an integer")


def test_wrongly_typed_token_is_not_echoed(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[discord]\ntoken = 123456789\n")
    assert "123456789" not in message


def test_env_token_with_spaces_names_the_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, env={TOKEN_ENV: "Bot abc"})
    assert str(info.value).startswith(f"{TOKEN_ENV}: ")


def test_malformed_toml_names_the_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[points]\nsignup_bonus = 1\nroom_join_cost = = 5\n")
    assert "invalid TOML" in message
    assert "line 3" in message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"[rooms]\ncategory_name = '\xff'\n")
    with pytest.raises(ConfigError, match=r"UTF-8.*line 2"):
        load_config(path, env={})


def test_a_given_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml", env={})
    with pytest.raises(ConfigError, match="directory"):
        load_config(tmp_path, env={})


def test_secret_equality_and_truth() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert not Secret("")
    assert Secret("a").is_set
    assert hash(Secret("a")) == hash(Secret("a"))

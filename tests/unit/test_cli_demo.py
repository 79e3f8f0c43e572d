"""``studyon demo`` tells the story alone, and says how to get what it needs when it is absent."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from importlib.machinery import ModuleSpec

import pytest

from bot import cli

LOGGERS = ("", "discord", "apscheduler", "alembic")


@pytest.fixture(autouse=True)
def logging_levels() -> Iterator[None]:
    """The CLI sets process-wide log levels; give them back for the tests that follow."""
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_the_demo_without_its_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_find_spec = importlib.util.find_spec

    def without_simcord(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == "simcord" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_simcord)

    code = cli.main(["demo"])

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.strip().splitlines() == [
        "the offline demo needs the demo extra: pip install 'studyon[demo]' (./dev installs it)"
    ]


def test_the_demo_prints_the_story_not_the_logs(capfd: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["demo"])

    out, err = capfd.readouterr()
    assert code == 0, err
    assert "alice: /room create" in out
    for noise in ("INFO", "alembic", "apscheduler", "Scheduler started"):
        assert noise not in out and noise not in err

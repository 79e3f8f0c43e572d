"""Faults injected into the bot's own steps in end-to-end tests: a call that fails once, as
if the process died (or a store refused) right there, then works as before."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.studio import Studio


class Died(RuntimeError):
    """A step failing right here (a process dying, a store refusing)."""


def fail_once(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    """``owner.name`` fails the first time it is called; the list counts its calls."""
    original = getattr(owner, name)
    calls: list[int] = []

    async def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise Died(name)
        return await original(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)
    return calls


async def seconds(studio: Studio, n: int) -> None:
    """Virtual time moves ``n`` seconds, one at a time, so each due wake-up runs in turn."""
    for _ in range(n):
        await studio.advance(1)

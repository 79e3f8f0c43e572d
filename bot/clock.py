"""Clocks. Domain code takes instants; services take a ``Clock`` so tests can move time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        ...


class SystemClock:
    """The wall clock (the one APScheduler reads, so shifting it in tests moves both)."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_datetime(ms: int) -> datetime:
    return EPOCH + ms * _MS


def from_datetime(dt: datetime) -> int:
    """Exact milliseconds (integer arithmetic, no float rounding)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime")
    return (dt - EPOCH) // _MS

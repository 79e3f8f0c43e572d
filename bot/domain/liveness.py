"""Which bot processes are alive, as their heartbeats said when they were read: whether a
claim (an announcement a process took on and has not delivered) is still its process's to
make, or is taken over because that process is gone.

Every process beats in the session store, saying until when it is alive by its own clock; a
process claims nothing while its own beat has run out. So a claim whose process has no beat
left (it ran out, was deleted at a clean exit, or was left out by the reader because the
process is certainly gone: killed on the reader's own machine) has nobody making it, and is
taken over at once; a claim whose process is alive is left to it, and looked at again when
that beat would run out. Processes' clocks are taken to agree to well under a beat's length
(NTP).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.domain.run import Owed


@dataclass(frozen=True, slots=True)
class Liveness:
    """This process (``me``) and the others' heartbeats as read: process → alive until."""

    me: str
    alive_until: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "alive_until", MappingProxyType(dict(self.alive_until)))

    def alive(self, process: str, now_ms: int) -> bool:
        return process == self.me or self.alive_until.get(process, now_ms) > now_ms

    def takes_over(self, owed: Owed, now_ms: int) -> bool:
        """Whether this process makes the next attempt: its own claim, or one whose process
        is gone."""
        return owed.by == self.me or not self.alive(owed.by, now_ms)

    def next_try_ms(self, owed: Owed, retry_ms: int) -> int:
        """When the claim is next looked at: this process's own ``retry_ms`` after its attempt
        began; another's when that process's beat runs out (already past, for a process that
        is gone: at once)."""
        if owed.by == self.me:
            return owed.at_ms + retry_ms
        return self.alive_until.get(owed.by, owed.at_ms)

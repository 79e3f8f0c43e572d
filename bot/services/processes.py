"""Which bot process a heartbeat token names, and whether a process on this machine is
certainly gone.

A token says where its process runs: ``{space}.{pid}.{start}.{rand}``, ``space`` naming the
PID namespace on this boot and the user it runs as (a hash of the boot id, the namespace's
inode and the uid: a pid means something only within one namespace on one boot, and a
``/proc`` mounted with ``hidepid`` hides other users' processes, so only the same user's are
judged), ``pid`` and ``start`` (the clock ticks
since boot at which the process started, so a pid used again by a later process does not
pass for the old one) and a few random hex digits (several processes' worth of services in
one OS process, as tests run them). A process in the same space reads ``/proc`` to tell at
once that a process killed a moment ago is gone, without waiting for its heartbeat to run
out. Where ``/proc`` cannot be read (macOS, Windows, a ``/proc`` of another namespace), the
token is only random and nothing is ever known to be gone.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

SPACE_HEX = 8
RAND_HEX = 4
# fields of /proc/<pid>/stat counted from 1; the ones after the command (field 2, in
# parentheses, which may itself hold spaces and parentheses) are split after its last ")"
_STATE_FIELD = 3
_START_FIELD = 22


class Processes(Protocol):
    """Makes this process's heartbeat tokens, and tells from a token whether its process is
    certainly gone (``bot.services.liveness`` drops such processes' heartbeats)."""

    def new_token(self) -> str: ...
    def gone(self, token: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class ProcessId:
    """A process where it runs: its PID namespace on this boot, its pid, its start time."""

    space: str
    pid: int
    start: int

    def token(self, rand: str) -> str:
        return f"{self.space}.{self.pid}.{self.start}.{rand}"

    @staticmethod
    def parse(token: str) -> ProcessId | None:
        """The process a token names; None for a token that names none (a random one)."""
        parts = token.split(".")
        if len(parts) != 4:
            return None
        space, pid, start, rand = parts
        if not (_hex(space) and len(space) == SPACE_HEX and _hex(rand)):
            return None
        if not (pid.isdigit() and start.isdigit() and pid.isascii() and start.isascii()):
            return None
        if int(pid) <= 0:
            return None
        return ProcessId(space, int(pid), int(start))


class LocalProcesses:
    """The processes of this machine, as ``/proc`` shows them (``proc``: where it is)."""

    def __init__(self, proc: Path = Path("/proc")) -> None:
        self._proc = proc
        self._pid = os.getpid()
        self.here = self._here()
        self._made: set[str] = set()

    def new_token(self) -> str:
        """A token for a heartbeat of this process: where it runs, if that can be known;
        never one it made before."""
        self._forked()
        while True:
            if self.here is None:
                token = secrets.token_hex(6)
            else:
                token = self.here.token(secrets.token_hex(RAND_HEX // 2))
            if token not in self._made:
                self._made.add(token)
                return token

    def gone(self, token: str) -> bool:
        """Only when certain: the token's process ran in this space, and its pid runs no
        more, or runs a process started at another time. Another machine or namespace, a
        token that names no process, this process, or anything ``/proc`` does not say
        plainly: not known to be gone."""
        self._forked()
        if self.here is None:
            return False
        there = ProcessId.parse(token)
        if there is None or there.space != self.here.space:
            return False
        if there.pid == self.here.pid:
            return there.start != self.here.start  # the pid is this process's now
        try:
            stat = self._stat(there.pid)
        except FileNotFoundError:
            return True  # no such process
        except OSError:
            return False
        if stat is None:
            return False
        state, start = stat
        if start != there.start:
            return True  # the pid was used again
        return state in ("Z", "X") and self._only_thread(there.pid)

    def _forked(self) -> None:
        if os.getpid() != self._pid:  # a child of the process this was made in
            self._pid = os.getpid()
            self.here = self._here()

    def _here(self) -> ProcessId | None:
        """This process, or None if ``/proc`` is not there or is not this namespace's."""
        try:
            boot = (self._proc / "sys/kernel/random/boot_id").read_text().strip()
            namespace = os.readlink(self._proc / "self/ns/pid")
            if os.readlink(self._proc / "self") != str(os.getpid()):
                return None  # a /proc mounted for another PID namespace
            stat = self._stat(os.getpid())
        except (OSError, ValueError):
            return None
        if not boot or stat is None:
            return None
        digest = hashlib.sha256(f"{boot}/{namespace}/{os.getuid()}".encode()).hexdigest()
        return ProcessId(digest[:SPACE_HEX], os.getpid(), stat[1])

    def _stat(self, pid: int) -> tuple[str, int] | None:
        """The state and start time of ``pid``; None if its stat cannot be made out."""
        raw = (self._proc / str(pid) / "stat").read_bytes()
        _, close, rest = raw.rpartition(b")")
        fields = rest.split()
        if not close or len(fields) <= _START_FIELD - _STATE_FIELD:
            return None
        start = fields[_START_FIELD - _STATE_FIELD]
        if not start.isdigit():
            return None
        return fields[0].decode("ascii", "replace"), int(start)

    def _only_thread(self, pid: int) -> bool:
        """Whether a zombie ``pid`` is all there is of its process: a leader thread that
        exited shows as a zombie while the process's other threads still run."""
        try:
            return os.listdir(self._proc / str(pid) / "task") == [str(pid)]
        except FileNotFoundError:
            return True
        except OSError:
            return False


@functools.cache
def local_processes() -> LocalProcesses:
    """This machine's processes, looked up once per OS process."""
    return LocalProcesses()


def _hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text)

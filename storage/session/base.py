"""The session store: live state of running rooms, shared by every bot process.

Durable records (rooms, the ledger, results) are in SQL. What changes every few seconds and
must survive a restart without a SQL round-trip lives here: the running timer of each room,
which boundaries have been posted (claims, for exactly-once), dismissals so far, who is in a
room and the ids of the messages the bot edits. Two implementations honour this contract:
Redis (several processes) and an embedded SQLite file (one process, survives restarts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from bot.domain.run import RoomKey, Run
from storage.session.slots import AlarmRef

__all__ = [
    "HEARTBEAT_FORGOTTEN_MS",
    "AlarmRef",
    "BindOutcome",
    "Binding",
    "RoomKey",
    "Run",
    "SessionStore",
]


class Binding(Enum):
    """What :meth:`SessionStore.bind` found."""

    SAME = "same"  # the store already belonged to this database
    ADOPTED = "adopted"  # it belonged to none (new, or written before stores recorded one)
    REPLACED = "replaced"  # it held another database's live state: cleared


@dataclass(frozen=True, slots=True)
class BindOutcome:
    binding: Binding
    dropped_rooms: int = 0  # running rooms of the other database that were cleared

    @property
    def cleared(self) -> bool:
        return self.binding is Binding.REPLACED


# a beat that ran out this long ago is dropped by the next beat of any process: nobody takes
# a process for alive whose beat ran out, so this only bounds what is kept
HEARTBEAT_FORGOTTEN_MS = 3_600_000


class SessionStore(Protocol):
    """Every method is atomic on its own; nothing here scans the whole keyspace on a hot path."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...

    # -- which database the live state belongs to ---------------------------------------
    async def bind(self, identity: str) -> BindOutcome:
        """Attach the store to the database whose identity is ``identity``, in one atomic
        step, before any live state is used. A store that records no database adopts this
        one and keeps its state. A store that records another database forgets all of that
        database's live state (runs, claims, dismissals, members, messages and the index of
        running rooms) and records this one: room ids of one database mean nothing in
        another, so that state would be attached to rooms it does not belong to."""

    # -- the running timer ----------------------------------------------------------------
    async def put_run(self, key: RoomKey, run: Run) -> None:
        """Store (replace) the room's run and list the room as running."""

    async def replace_run(self, key: RoomKey, expected: Run, run: Run) -> bool:
        """Store ``run`` only if the stored run is still ``expected`` (as read, whatever
        format it was stored in), atomically; whether it was stored. Another process that
        changed the run meanwhile (it delivered what was owed) is never overwritten with the
        stale value."""

    async def get_run(self, key: RoomKey) -> Run | None: ...
    async def get_runs(self, keys: Iterable[RoomKey]) -> dict[RoomKey, Run]:
        """Batch read (one round-trip where the backend allows); missing keys are left out."""

    async def delete_run(self, key: RoomKey) -> None:
        """Forget the room's run (and its claims and dismissals); unlist it as running."""

    async def running_rooms(self) -> list[RoomKey]:
        """Rooms with a stored run, from an index (no keyspace scan)."""

    # -- exactly-once ---------------------------------------------------------------------
    async def claim(self, key: RoomKey, token: str) -> bool:
        """True the first time ``token`` is claimed for this room, False ever after (until
        the room's run is deleted). Used so a boundary is posted once, a run finished once."""

    async def claim_and_put_run(self, key: RoomKey, token: str, won: Run) -> bool:
        """``claim(token)`` and, in the same step, store ``won`` (the run with what the claim
        makes owed) if this call claimed it. One round trip, and no crash can leave a claim
        whose owed post the run does not record. A call that loses stores nothing: the
        winner's run already records the claim, and a loser's stale run written over it would
        drop the winner's debt or undo its delivery."""

    # -- dismissals -----------------------------------------------------------------------
    async def add_dismissal(
        self, key: RoomKey, run_id: int, boundary: int, user_id: int, at_ms: int
    ) -> bool:
        """Record a dismissal; the first one wins. True if this call recorded it."""

    async def get_dismissals(self, key: RoomKey, run_id: int) -> dict[tuple[int, int], int]:
        """{(boundary, user_id): dismissed_at_ms} for the run."""

    # -- members present ------------------------------------------------------------------
    async def add_member(self, key: RoomKey, user_id: int, joined_ms: int) -> None: ...
    async def remove_member(self, key: RoomKey, user_id: int) -> None: ...
    async def get_members(self, key: RoomKey) -> dict[int, int]:
        """{user_id: joined_ms}."""

    # -- the room's small live values (storage.session.slots) -------------------------
    async def put_alarm_message(
        self, key: RoomKey, run_id: int, boundary: int, message_id: int
    ) -> None: ...
    async def alarm_message(self, key: RoomKey, run_id: int, boundary: int) -> int | None: ...
    async def alarm_of_message(self, key: RoomKey, message_id: int) -> AlarmRef | None:
        """The alarm a message of the room shows, in one read."""

    async def put_results_message(self, key: RoomKey, run_id: int, message_id: int) -> None: ...
    async def results_message(self, key: RoomKey, run_id: int) -> int | None: ...
    async def put_card_digest(self, key: RoomKey, digest: int) -> None: ...
    async def card_digest(self, key: RoomKey) -> int | None: ...
    async def open_voice_sessions(self, key: RoomKey) -> dict[int, int]: ...
    async def put_voice_sessions(self, key: RoomKey, since: Mapping[int, int]) -> None: ...
    async def close_voice_sessions(self, key: RoomKey, user_ids: list[int]) -> None: ...
    async def put_alive(self, key: RoomKey, at_ms: int) -> None: ...
    async def alive_at(self, key: RoomKey) -> int | None: ...

    async def drop_room(self, key: RoomKey) -> None:
        """Forget everything about the room (it closed)."""

    # -- which bot processes are alive ----------------------------------------------------
    async def beat(self, process: str, alive_until_ms: int) -> None:
        """Process ``process`` is alive until ``alive_until_ms`` (its own clock): one write
        however many rooms it serves, replacing its last beat. Beats that ran out more than
        ``HEARTBEAT_FORGOTTEN_MS`` before ``alive_until_ms`` are forgotten in the same step,
        so processes that died long ago leave nothing behind."""

    async def heartbeats(self) -> dict[str, int]:
        """{process: alive until, ms} of every process with a beat, in one read (on a Redis
        Cluster every beat is in one hash slot)."""

    async def end_heartbeat(self, process: str) -> None:
        """The process stops cleanly: its beat is deleted, and it claims nothing more."""

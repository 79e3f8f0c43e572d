"""A session store in plain dictionaries, for tests that are not about storage: it honours the
same contract as the Redis and embedded stores (``tests/storage/test_session_store.py`` runs
it too) at the cost of a dictionary look-up.

Every method runs without awaiting, so each is atomic on the event loop, as the contract asks.
The data lives in a ``MemoryData`` apart from the store, so a "restarted process" (a new
store over the same data) finds the state its predecessor left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from storage.session.base import HEARTBEAT_FORGOTTEN_MS, Binding, BindOutcome, RoomKey, Run
from storage.session.codec import run_from_json, run_to_json
from storage.session.slots import RoomSlots


@dataclass
class MemoryData:
    """What a session store holds; runs as their JSON, as the other stores keep them."""

    runs: dict[RoomKey, str] = field(default_factory=dict)
    claims: dict[RoomKey, set[str]] = field(default_factory=dict)
    dismissals: dict[RoomKey, dict[tuple[int, int, int], int]] = field(default_factory=dict)
    members: dict[RoomKey, dict[int, int]] = field(default_factory=dict)
    slots: dict[RoomKey, dict[str, int]] = field(default_factory=dict)
    bound_to: str | None = None
    heartbeats: dict[str, int] = field(default_factory=dict)  # process → alive until

    def clear_live_state(self) -> None:
        for table in (self.runs, self.claims, self.dismissals, self.members, self.slots):
            table.clear()


class MemorySessionStore(RoomSlots):
    """:class:`~storage.session.base.SessionStore` over a ``MemoryData`` (a new one if none)."""

    def __init__(self, data: MemoryData | None = None) -> None:
        self.data = data if data is not None else MemoryData()
        self._open = False

    @property
    def _data(self) -> MemoryData:
        if not self._open:
            raise RuntimeError("the session store is not open")
        return self.data

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    async def bind(self, identity: str) -> BindOutcome:
        data = self._data
        if data.bound_to == identity:
            return BindOutcome(Binding.SAME)
        if data.bound_to is None:
            data.bound_to = identity
            return BindOutcome(Binding.ADOPTED)
        dropped = len(data.runs)
        data.clear_live_state()
        data.bound_to = identity
        return BindOutcome(Binding.REPLACED, dropped)

    # -- the running timer ---------------------------------------------------------------

    async def put_run(self, key: RoomKey, run: Run) -> None:
        self._data.runs[key] = run_to_json(run)

    async def replace_run(self, key: RoomKey, expected: Run, run: Run) -> bool:
        text = self._data.runs.get(key)
        if text is None or run_from_json(text) != expected:  # as read: any format
            return False
        self._data.runs[key] = run_to_json(run)
        return True

    async def get_run(self, key: RoomKey) -> Run | None:
        text = self._data.runs.get(key)
        return None if text is None else run_from_json(text)

    async def get_runs(self, keys: Iterable[RoomKey]) -> dict[RoomKey, Run]:
        runs = self._data.runs
        return {k: run_from_json(runs[k]) for k in dict.fromkeys(keys) if k in runs}

    async def delete_run(self, key: RoomKey) -> None:
        data = self._data
        for table in (data.runs, data.claims, data.dismissals):
            table.pop(key, None)

    async def running_rooms(self) -> list[RoomKey]:
        return sorted(self._data.runs, key=lambda k: (k.guild_id, k.room_id))

    # -- exactly-once --------------------------------------------------------------------

    async def claim(self, key: RoomKey, token: str) -> bool:
        claimed = self._data.claims.setdefault(key, set())
        if token in claimed:
            return False
        claimed.add(token)
        return True

    async def claim_and_put_run(self, key: RoomKey, token: str, won: Run) -> bool:
        claimed = await self.claim(key, token)
        if claimed:
            await self.put_run(key, won)
        return claimed

    # -- dismissals ----------------------------------------------------------------------

    async def add_dismissal(
        self, key: RoomKey, run_id: int, boundary: int, user_id: int, at_ms: int
    ) -> bool:
        dismissals = self._data.dismissals.setdefault(key, {})
        if (run_id, boundary, user_id) in dismissals:
            return False
        dismissals[run_id, boundary, user_id] = at_ms
        return True

    async def get_dismissals(self, key: RoomKey, run_id: int) -> dict[tuple[int, int], int]:
        dismissals = self._data.dismissals.get(key, {})
        return {(b, u): at for (run, b, u), at in dismissals.items() if run == run_id}

    # -- members present -----------------------------------------------------------------

    async def add_member(self, key: RoomKey, user_id: int, joined_ms: int) -> None:
        self._data.members.setdefault(key, {})[user_id] = joined_ms

    async def remove_member(self, key: RoomKey, user_id: int) -> None:
        self._data.members.get(key, {}).pop(user_id, None)

    async def get_members(self, key: RoomKey) -> dict[int, int]:
        return dict(self._data.members.get(key, {}))

    # -- the room's small live values ----------------------------------------------------

    async def _put_slots(self, key: RoomKey, values: Mapping[str, int]) -> None:
        self._data.slots.setdefault(key, {}).update(values)

    async def _slot(self, key: RoomKey, name: str) -> int | None:
        return self._data.slots.get(key, {}).get(name)

    async def _slots(self, key: RoomKey) -> dict[str, int]:
        return dict(self._data.slots.get(key, {}))

    async def drop_room(self, key: RoomKey) -> None:
        data = self._data
        for table in (data.runs, data.claims, data.dismissals, data.members, data.slots):
            table.pop(key, None)

    # -- which bot processes are alive ---------------------------------------------------

    async def beat(self, process: str, alive_until_ms: int) -> None:
        beats = self._data.heartbeats
        for other, until in list(beats.items()):
            if until < alive_until_ms - HEARTBEAT_FORGOTTEN_MS:
                del beats[other]
        beats[process] = alive_until_ms

    async def heartbeats(self) -> dict[str, int]:
        return dict(self._data.heartbeats)

    async def end_heartbeat(self, process: str) -> None:
        self._data.heartbeats.pop(process, None)

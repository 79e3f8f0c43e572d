"""The room's small live values, by what they hold: the ids of the messages the bot posted
(each alarm, the results), the pinned card's digest, the members' open voice sessions and
the bot's last "alive" stamp.

Both session stores keep them in one name → integer map per room (a hash in Redis, a table
in the embedded store) and implement the three primitives below; the names are this
module's business alone. They are the names earlier versions wrote, so live state survives
an upgrade. An alarm message is indexed by its id as well, so a ⏰ reaction resolves to its
alarm in one read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.run import RoomKey

_ALARM = "alarm:{run}:{k}"
_ALARM_OF = "alarm_of:{message}"
_END = "end:{run}"
_CARD_DIGEST = "card_digest"
_VOICE = "study.open."
_ALIVE = "study.alive"
_VOICE_CLOSED = 0  # an ended session keeps its name; 0 marks it closed
_BOUNDARY_BITS = 16  # a run has a few dozen boundaries at most


@dataclass(frozen=True, slots=True)
class AlarmRef:
    """Which alarm a message is: boundary ``boundary`` of run ``run_id``."""

    run_id: int
    boundary: int


def _pack(ref: AlarmRef) -> int:
    if not 0 < ref.boundary < 1 << _BOUNDARY_BITS:
        raise ValueError(f"boundary {ref.boundary} out of range")
    return ref.run_id << _BOUNDARY_BITS | ref.boundary


def _unpack(value: int) -> AlarmRef:
    return AlarmRef(value >> _BOUNDARY_BITS, value & ((1 << _BOUNDARY_BITS) - 1))


class RoomSlots:
    """Named live values over a per-room name → int map (the backend supplies the map)."""

    async def _put_slots(self, key: RoomKey, values: Mapping[str, int]) -> None:
        raise NotImplementedError  # pragma: no cover

    async def _slot(self, key: RoomKey, name: str) -> int | None:
        raise NotImplementedError  # pragma: no cover

    async def _slots(self, key: RoomKey) -> dict[str, int]:
        raise NotImplementedError  # pragma: no cover

    # -- the messages the bot posted -----------------------------------------------------

    async def put_alarm_message(
        self, key: RoomKey, run_id: int, boundary: int, message_id: int
    ) -> None:
        """Alarm #``boundary`` of the run is message ``message_id`` (both ways, at once)."""
        ref = AlarmRef(run_id, boundary)
        await self._put_slots(
            key,
            {
                _ALARM.format(run=run_id, k=boundary): message_id,
                _ALARM_OF.format(message=message_id): _pack(ref),
            },
        )

    async def alarm_message(self, key: RoomKey, run_id: int, boundary: int) -> int | None:
        return await self._slot(key, _ALARM.format(run=run_id, k=boundary))

    async def alarm_of_message(self, key: RoomKey, message_id: int) -> AlarmRef | None:
        """The alarm that message ``message_id`` shows, if it is one of the room's."""
        value = await self._slot(key, _ALARM_OF.format(message=message_id))
        return None if value is None else _unpack(value)

    async def put_results_message(self, key: RoomKey, run_id: int, message_id: int) -> None:
        await self._put_slots(key, {_END.format(run=run_id): message_id})

    async def results_message(self, key: RoomKey, run_id: int) -> int | None:
        return await self._slot(key, _END.format(run=run_id))

    # -- the pinned card -----------------------------------------------------------------

    async def put_card_digest(self, key: RoomKey, digest: int) -> None:
        """What the card last showed (a digest), so an unchanged card is not edited."""
        await self._put_slots(key, {_CARD_DIGEST: digest})

    async def card_digest(self, key: RoomKey) -> int | None:
        return await self._slot(key, _CARD_DIGEST)

    # -- voice sessions and liveness -----------------------------------------------------

    async def open_voice_sessions(self, key: RoomKey) -> dict[int, int]:
        """{user_id: counted_from_ms} of the members studying in the room's voice channel."""
        sessions: dict[int, int] = {}
        for name, value in (await self._slots(key)).items():
            if name.startswith(_VOICE) and value != _VOICE_CLOSED:
                user = name[len(_VOICE) :]
                if user.isdigit():
                    sessions[int(user)] = value
        return sessions

    async def put_voice_sessions(self, key: RoomKey, since: Mapping[int, int]) -> None:
        """Open (or move the start of) these members' sessions: {user_id: counted_from_ms}."""
        if since:
            await self._put_slots(key, {_VOICE + str(u): ms for u, ms in since.items()})

    async def close_voice_sessions(self, key: RoomKey, user_ids: list[int]) -> None:
        if user_ids:
            await self._put_slots(key, {_VOICE + str(u): _VOICE_CLOSED for u in user_ids})

    async def put_alive(self, key: RoomKey, at_ms: int) -> None:
        """The bot was up and watching the room's voice channel at ``at_ms``."""
        await self._put_slots(key, {_ALIVE: at_ms})

    async def alive_at(self, key: RoomKey) -> int | None:
        return await self._slot(key, _ALIVE)

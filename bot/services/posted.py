"""What the bot has posted in a room, so the Discord adapter can make each post idempotent
and answer to it: each alarm's and the results' message ids (an alarm is found from its
message in one read) and what the pinned card last showed."""

from __future__ import annotations

from bot.domain.run import RoomKey
from storage.session.base import AlarmRef, SessionStore


class PostedMessages:
    def __init__(self, store: SessionStore) -> None:
        self._store = store

    async def alarm(self, key: RoomKey, run_id: int, boundary: int) -> int | None:
        """The message id of the run's alarm #``boundary``, once posted."""
        return await self._store.alarm_message(key, run_id, boundary)

    async def record_alarm(self, key: RoomKey, run_id: int, boundary: int, message_id: int) -> None:
        await self._store.put_alarm_message(key, run_id, boundary, message_id)

    async def alarm_shown_by(self, key: RoomKey, message_id: int) -> AlarmRef | None:
        """Which alarm a message of the room is, if it is one."""
        return await self._store.alarm_of_message(key, message_id)

    async def results(self, key: RoomKey, run_id: int) -> int | None:
        return await self._store.results_message(key, run_id)

    async def record_results(self, key: RoomKey, run_id: int, message_id: int) -> None:
        await self._store.put_results_message(key, run_id, message_id)

    async def card_digest(self, key: RoomKey) -> int | None:
        return await self._store.card_digest(key)

    async def record_card_digest(self, key: RoomKey, digest: int) -> None:
        await self._store.put_card_digest(key, digest)

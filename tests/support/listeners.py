"""A listener that stands in for the Discord layer in tests and keeps every event."""

from __future__ import annotations

from bot.services.events import BoundaryFired, RoomClosed, RunFinished, TodoCompleted


class RecordingListener:
    """Keeps every event, in order."""

    def __init__(self) -> None:
        self.events: list[BoundaryFired | RunFinished | RoomClosed | TodoCompleted] = []

    async def on_boundary(self, event: BoundaryFired) -> int | None:
        self.events.append(event)
        return None

    async def on_run_finished(self, event: RunFinished) -> None:
        self.events.append(event)

    async def on_room_closed(self, event: RoomClosed) -> None:
        self.events.append(event)

    async def on_todo_completed(self, event: TodoCompleted) -> None:
        self.events.append(event)

    @property
    def boundaries(self) -> list[BoundaryFired]:
        return [e for e in self.events if isinstance(e, BoundaryFired)]

    @property
    def finished(self) -> list[RunFinished]:
        return [e for e in self.events if isinstance(e, RunFinished)]

    @property
    def closed(self) -> list[RoomClosed]:
        return [e for e in self.events if isinstance(e, RoomClosed)]

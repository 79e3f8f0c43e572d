"""What every use-case service over the database holds."""

from __future__ import annotations

from bot.clock import Clock
from bot.services.settings import ServiceSettings
from storage.uow import UnitOfWorkFactory


class SqlService:
    """A service whose use cases run in units of work, read the clock and follow the
    server's settings."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, settings: ServiceSettings
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._settings = settings

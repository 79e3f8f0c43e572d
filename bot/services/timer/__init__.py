"""The shared timer of a room, by responsibility: controls and dismissals
(``controls``), the wake-up (``dispatch``), the announcement outbox (``outbox``) and the end
of a run (``ending``)."""

from bot.services.timer.common import (
    ANOTHER_PROCESS,
    LATE_MS,
    MAX_DELIVERY_ATTEMPTS,
    RETRY_MS,
    DismissOutcome,
    TimerView,
    next_wakeup,
)
from bot.services.timer.controls import TimerService

__all__ = [
    "ANOTHER_PROCESS",
    "LATE_MS",
    "MAX_DELIVERY_ATTEMPTS",
    "RETRY_MS",
    "DismissOutcome",
    "TimerService",
    "TimerView",
    "next_wakeup",
]

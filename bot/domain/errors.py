"""Errors the domain and services raise.

Each error carries a stable ``code`` (a message key for i18n) and the parameters the message
needs, so the Discord layer can render it in the member's language. Nothing here formats
user-facing text except a plain English fallback for logs and tests.
"""

from __future__ import annotations

from typing import Any


class StudyOnError(Exception):
    """Base of every refusal the bot explains to a user. Raising one changes nothing."""

    code: str = "error.generic"

    def __init__(self, message: str | None = None, /, **params: Any) -> None:
        self.params: dict[str, Any] = params
        super().__init__(message or self.default_message())

    def default_message(self) -> str:
        return self.code


class ValidationError(StudyOnError):
    """A value a user typed or chose is out of range. ``field`` names it."""

    code = "error.validation"

    def __init__(self, field: str, problem: str, /, **params: Any) -> None:
        self.field = field
        self.problem = problem
        self.code = f"error.validation.{problem}"
        super().__init__(f"{field}: {problem}", field=field, **params)


class NotFound(StudyOnError):
    code = "error.not_found"

    def __init__(self, what: str, /, **params: Any) -> None:
        self.what = what
        super().__init__(f"{what} not found", what=what, **params)


class InsufficientPoints(StudyOnError):
    code = "error.insufficient_points"

    def __init__(self, balance: int, needed: int) -> None:
        super().__init__(f"balance {balance} < {needed}", balance=balance, needed=needed)


class NotOwner(StudyOnError):
    code = "error.not_owner"


class NotMember(StudyOnError):
    code = "error.not_member"


class AlreadyMember(StudyOnError):
    code = "error.already_member"


class RoomFull(StudyOnError):
    code = "error.room_full"

    def __init__(self, capacity: int) -> None:
        super().__init__(f"room is full ({capacity})", capacity=capacity)


class RoomClosed(StudyOnError):
    code = "error.room_closed"


class InvalidTimerAction(StudyOnError):
    """A timer control that makes no sense in the timer's current state (``reason`` says why)."""

    code = "error.timer"

    def __init__(self, reason: str, /, **params: Any) -> None:
        self.reason = reason
        self.code = f"error.timer.{reason}"
        super().__init__(f"timer: {reason}", **params)


class AlreadyDone(StudyOnError):
    """An action that may happen once happened already (a dismissal, a refund)."""

    code = "error.already_done"


class MissingPermission(StudyOnError):
    """The bot lacks a Discord permission it needs; ``permission`` names it (``perm.<name>``
    is its shown name)."""

    code = "error.missing_permission"

    def __init__(self, permission: str) -> None:
        self.permission = permission
        super().__init__(f"missing permission {permission}", permission=permission)


class NoChannels(StudyOnError):
    """The room's channels are gone (or were never recorded)."""

    code = "error.room.no_channels"


class JoinNotCompleted(StudyOnError):
    """Discord did not open the room's channels to the member; the join was taken back and
    what they paid returned."""

    code = "error.room.join_failed"

    def __init__(self, cost: int) -> None:
        super().__init__("join not completed", cost=cost)


class CreateNotCompleted(StudyOnError):
    """Making the room failed part way (Discord, or the bot, failed); it was undone and what
    was paid returned."""

    code = "error.room.create_failed"

    def __init__(self) -> None:
        super().__init__("create not completed")


class RoomNotCreated(StudyOnError):
    """A create that failed part way and was undone: ``refusal`` says why; while
    ``channels_pending`` the channels made for it are still being removed."""

    def __init__(self, refusal: StudyOnError, channels_pending: bool) -> None:
        self.refusal = refusal
        self.channels_pending = channels_pending
        self.code = refusal.code
        super().__init__(str(refusal), **refusal.params)


class NotServerManager(StudyOnError):
    """A server setting may be changed only by a member who may manage the server."""

    code = "error.not_server_manager"

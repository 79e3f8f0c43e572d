"""Live state of running rooms: the contract and its Redis and embedded implementations."""

from storage.session.base import (
    HEARTBEAT_FORGOTTEN_MS,
    AlarmRef,
    Binding,
    BindOutcome,
    RoomKey,
    Run,
    SessionStore,
)
from storage.session.embedded import EmbeddedSessionStore
from storage.session.factory import create_session_store
from storage.session.redis_store import RedisSessionStore, SessionStoreUnavailable

__all__ = [
    "HEARTBEAT_FORGOTTEN_MS",
    "AlarmRef",
    "BindOutcome",
    "Binding",
    "EmbeddedSessionStore",
    "RedisSessionStore",
    "RoomKey",
    "Run",
    "SessionStore",
    "SessionStoreUnavailable",
    "create_session_store",
]

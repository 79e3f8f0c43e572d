"""Choose the session store from configuration."""

from __future__ import annotations

from pathlib import Path

from storage.session.base import SessionStore
from storage.session.embedded import EmbeddedSessionStore
from storage.session.redis_store import RedisSessionStore


def create_session_store(redis_url: str, embedded_path: str | Path) -> SessionStore:
    """Redis when ``redis_url`` is set, otherwise the embedded SQLite file at
    ``embedded_path``. The store is returned unopened; call ``open()`` before use."""
    if redis_url.strip():
        return RedisSessionStore(redis_url.strip())
    return EmbeddedSessionStore(embedded_path)

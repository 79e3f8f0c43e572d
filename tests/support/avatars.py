"""Avatars on SimCord's CDN: a solid-colour avatar for a user, and a count of what the bot
fetched from the CDN (SimCord serves ``get_from_cdn`` from its in-memory CDN store)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest
from PIL import Image
from simcord import Env


def solid_png(colour: tuple[int, int, int], size: int = 128) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, format="PNG")
    return out.getvalue()


@dataclass
class AvatarCdn:
    """Serves avatar images by ``(user id, hash)``, whatever size or format the bot asks for,
    and records every URL the bot fetched from the CDN."""

    images: dict[tuple[int, str], bytes] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    def serve(self, user_id: int, avatar_hash: str, data: bytes) -> None:
        self.images[(user_id, avatar_hash)] = data

    @property
    def avatar_fetches(self) -> list[str]:
        """Every avatar URL fetched (reading a reply's attachment goes through the CDN too)."""
        return [url for url in self.fetched if "/avatars/" in url]

    def fetches_of(self, user_id: int) -> list[str]:
        return [url for url in self.fetched if f"/avatars/{user_id}/" in url]

    def install(self, env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
        cdn = env.backend.cdn
        stored = cdn.get

        def get(url: str) -> bytes | None:
            self.fetched.append(url)
            for (user_id, avatar_hash), data in self.images.items():
                if f"/avatars/{user_id}/{avatar_hash}." in url:
                    return data
            return stored(url)

        monkeypatch.setattr(cdn, "get", get)

"""Messages and command names in English and Korean.

Catalogs are flat JSON files, ``bot/locales/<locale>/<feature>.json`` (one file per feature, so
features add their strings without touching each other's). ``t(key, locale, **params)``
renders a message; ``StudyOnTranslator`` gives discord.py the Korean command names,
descriptions, option names and choices, keyed by the ``key`` extra of each ``locale_str``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import discord
from discord import app_commands

from bot.domain.members import LOCALES

log = logging.getLogger(__name__)

DEFAULT_LOCALE = "en"


class _Params(dict[str, Any]):
    """Leaves an unknown ``{name}`` visible instead of raising mid-reply."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@cache
def catalog(locale: str) -> Mapping[str, str]:
    """Every message of ``locale``, merged from its feature files (duplicates refused)."""
    merged: dict[str, str] = {}
    folder = resources.files("bot") / "locales" / locale
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        data = json.loads(entry.read_text(encoding="utf-8"))
        for key, value in data.items():
            if key in merged:
                raise ValueError(f"{locale}/{entry.name}: duplicate message key {key!r}")
            if not isinstance(value, str):
                raise ValueError(f"{locale}/{entry.name}: {key!r} is not a string")
            merged[key] = value
    return merged


def normalise_locale(value: str | discord.Locale | None, default: str = DEFAULT_LOCALE) -> str:
    """Our locale for a Discord locale ("ko" → "ko", "en-US" → "en", unknown → default)."""
    if value is None:
        return default
    text = value.value if isinstance(value, discord.Locale) else str(value)
    base = text.split("-")[0].lower()
    return base if base in LOCALES else default


def has(key: str, locale: str = DEFAULT_LOCALE) -> bool:
    return key in catalog(locale)


def t(key: str, locale: str = DEFAULT_LOCALE, /, **params: Any) -> str:
    """The message ``key`` in ``locale`` (English when that locale lacks it)."""
    text = catalog(locale).get(key)
    if text is None:
        text = catalog(DEFAULT_LOCALE).get(key)
        if text is None:
            log.error("missing message key %r", key)
            return key
    return text.format_map(_Params(params))


def ls(key: str) -> app_commands.locale_str:
    """A command string: its English from the catalog (the one copy of it), ``key`` finding
    the other languages through the translator."""
    text = catalog(DEFAULT_LOCALE).get(key)
    if text is None:
        raise KeyError(f"no English message for command string {key!r}")
    return app_commands.locale_str(text, key=key)


class StudyOnTranslator(app_commands.Translator):
    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = string.extras.get("key")
        if not key:
            return None
        ours = normalise_locale(locale, default="")
        if not ours or ours == DEFAULT_LOCALE:
            return None
        return catalog(ours).get(key)

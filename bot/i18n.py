"""Messages and command names in English and Korean.

Catalogs are flat JSON files, ``bot/locales/<locale>/<feature>.json`` (one file per feature, so
features add their strings without touching each other's). ``t(key, locale, **params)``
renders a message; ``StudyOnTranslator`` gives discord.py the Korean command names,
descriptions, option names and choices, keyed by the ``key`` extra of each ``locale_str``.
"""

from __future__ import annotations

import json
import logging
import re
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
    done = text.format_map(_Params(params))
    return korean_particles(done) if locale == "ko" else done


# -- Korean particles ---------------------------------------------------------------------
#
# A Korean particle takes one form after a syllable that ends in a consonant (a batchim) and
# another after one that does not: 공부는, 시간은. A message cannot know which word a
# placeholder brings ("알람 #3", "점수", a number), so the catalog writes both forms, 은(는),
# and the rendered text keeps the one that fits the sound before it. A number is read as
# Sino-Korean (3 삼, 10 십), a date by its day (2026-12-05, … 오 일) and a time by its minutes
# (14:05, … 오 분), markdown and a parenthesis after a word are passed over; where
# the sound is not known (Latin letters, a Discord timestamp), both forms stay.

# the paired forms: (after a batchim, after none)
_PARTICLES = {
    "은(는)": ("은", "는"),
    "이(가)": ("이", "가"),
    "을(를)": ("을", "를"),
    "과(와)": ("과", "와"),
    "(으)로": ("으로", "로"),
}
_PAIR = re.compile("|".join(re.escape(p) for p in _PARTICLES))
_PASSED_OVER = "*_~`'\"’”"
_RIEUL = 8  # the final consonant ㄹ, after which (으)로 is 로
_NIEUN = 4  # ㄴ
# a date and a time of day are not read as one number but by their units, 일 and 분 (or 시)
_ISO_DATE = re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}$")
_CLOCK_TIME = re.compile(r"(?<![\d:])\d{1,2}:\d{2}$")
# the final consonant a digit read as the end of a Sino-Korean number has (0: 영, 십, 백 …)
_DIGIT_FINAL = {
    "0": 21,
    "1": _RIEUL,
    "2": 0,
    "3": 16,
    "4": 0,
    "5": 0,
    "6": 1,
    "7": _RIEUL,
    "8": _RIEUL,
    "9": 0,
}


def _final_consonant(text: str, end: int) -> int | None:
    """The final consonant of the sound just before ``text[end]`` (0: none), or None when it
    cannot be told."""
    i = end - 1
    while i >= 0:
        ch = text[i]
        if ch in _PASSED_OVER:
            i -= 1
        elif ch == ")":  # an aside: the particle follows the word before it
            depth = 0
            while i >= 0:
                depth += {")": 1, "(": -1}.get(text[i], 0)
                if depth == 0:
                    break
                i -= 1
            i -= 1
        elif "가" <= ch <= "힣":
            return (ord(ch) - ord("가")) % 28
        elif ch.isdigit():
            head = text[: i + 1]
            if _ISO_DATE.search(head):
                return _RIEUL  # a date is read to its day: 2026-12-05, … 오 일
            if _CLOCK_TIME.search(head):
                # read to its minutes (14:05, … 오 분), or to the hour when they are none
                # (14:00, 두 시)
                return 0 if head.endswith(":00") else _NIEUN
            return _DIGIT_FINAL.get(ch, 0)
        else:
            return None
    return None


def korean_particles(text: str) -> str:
    """``text`` with each paired particle (은(는), 이(가), 을(를), 과(와), (으)로) resolved to
    the form the sound before it takes; left paired where that sound is unknown."""

    def pick(match: re.Match[str]) -> str:
        final = _final_consonant(text, match.start())
        if final is None:
            return match.group(0)
        after_batchim, after_vowel = _PARTICLES[match.group(0)]
        if match.group(0) == "(으)로":
            return after_vowel if final in (0, _RIEUL) else after_batchim
        return after_batchim if final else after_vowel

    return _PAIR.sub(pick, text)


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

"""A member's own settings: which language the bot writes to them in.

Only languages with a full message catalogue are accepted, so every reply to the member can
be written in the language they chose. What they typed is cleaned like any user text and
compared case-insensitively ("KO" is Korean).
"""

from __future__ import annotations

from bot.domain.errors import ValidationError
from bot.domain.rooms import clean_text

# the languages with a full message catalogue (bot/locales/<code>); one list for the whole bot
LOCALES = ("en", "ko")


def validate_locale(text: str) -> str:
    """The language code a member chose: one of ``LOCALES``, lower case."""
    value = clean_text(text).lower()
    if value not in LOCALES:
        raise ValidationError("locale", "unsupported_locale", value=text[:16])
    return value

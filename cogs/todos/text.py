"""How todos read in replies: escaped text, day labels, autocomplete labels, and long lists
cut into messages."""

from __future__ import annotations

from datetime import date

import discord

from bot.domain.todos import TodoItem
from bot.i18n import t
from cogs._common import MESSAGE_MAX

CHOICE_NAME_MAX = 100  # Discord's limit for an autocomplete choice's label


def escape(text: str) -> str:
    """User text for a message: markdown-escaped (mentions are disabled when sending)."""
    return discord.utils.escape_markdown(text)


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with "…" (for labels only, never for data)."""
    return text if len(text) <= width else text[: max(width - 1, 0)].rstrip() + "…"


def day_label(day: date, today: date, locale: str) -> str:
    key = "todos.day.today" if day == today else "todos.day.other"
    return t(key, locale, date=day.isoformat())


def choice_label(todo: TodoItem, today: date, locale: str) -> str:
    """``⬜ read ch. 4 · today``: done mark, the text (shortened to fit) and the day."""
    mark = "✅" if todo.done else "⬜"
    when = t("todos.choice.today", locale) if todo.day == today else todo.day.isoformat()
    room = CHOICE_NAME_MAX - len(mark) - len(when) - 4
    return f"{mark} {shorten(todo.text, room)} · {when}"


def chunk_lines(lines: list[str], limit: int = MESSAGE_MAX) -> list[str]:
    """Lines joined into as few messages of at most ``limit`` characters as they fit in."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        current = line
    if current:
        chunks.append(current)
    return chunks

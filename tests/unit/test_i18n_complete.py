"""No message is missing in either language.

(a) The English and Korean catalogs have the same keys, each with the same placeholders.
(b) Every key the code names — ``t("…")``, ``post_line(…, "…")``, ``ls("…")`` literals, and
    f-string keys such as ``f"points.reason.{x}"`` (every value where the values are known,
    else at least one key of that shape) — exists in both.
(c) Every refusal the code can raise has a message in both: each ``StudyOnError`` subclass's
    code, each ``ValidationError(field, problem)`` (``error.validation.<problem>`` and
    ``field.<field>``), ``InvalidTimerAction(reason)`` and ``NotFound(what)``.
(d) Every command, option and choice of the real command tree (the bot built by
    ``create_bot`` with every feature loaded) has a Korean name through the translator, and
    every name is one Discord accepts.

The source is read with ``ast``, so a key only built at run time from a variable is out of
reach; keep message keys literal (or an f-string with a literal prefix).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import string
import unicodedata
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import discord
import pytest

from bot.app import StudyOnBot, create_bot, extension_names, studyon_setup, studyon_teardown
from bot.config import parse_config
from bot.domain.errors import InvalidTimerAction, StudyOnError, ValidationError
from bot.domain.members import LOCALES
from bot.i18n import StudyOnTranslator

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("bot", "cogs")
LOCALE_DIR = ROOT / "bot" / "locales"


# -- the catalogs, read straight from the files -------------------------------------------------


def load_catalog(locale: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / locale).glob("*.json")):
        for key, value in json.loads(path.read_text(encoding="utf-8")).items():
            assert key not in merged, f"{locale}: {key!r} is defined twice ({path.name})"
            assert isinstance(value, str), f"{locale}/{path.name}: {key!r} is not a string"
            merged[key] = value
    return merged


CATALOGS = {locale: load_catalog(locale) for locale in LOCALES}


def placeholders(text: str) -> set[str]:
    names = set()
    for _, field, _, _ in string.Formatter().parse(text):
        if field is not None:
            names.add(re.split(r"[.\[]", field, maxsplit=1)[0])
    return names


def missing_in(keys: set[str]) -> dict[str, list[str]]:
    """{locale: sorted keys absent from it} for locales missing any of ``keys``."""
    out = {}
    for locale, messages in CATALOGS.items():
        absent = sorted(k for k in keys if k not in messages)
        if absent:
            out[locale] = absent
    return out


# -- (a) ---------------------------------------------------------------------------------------


def test_both_languages_have_the_same_keys() -> None:
    en, ko = CATALOGS["en"], CATALOGS["ko"]
    only_en = sorted(set(en) - set(ko))
    only_ko = sorted(set(ko) - set(en))
    assert not only_en and not only_ko, f"only in en: {only_en}; only in ko: {only_ko}"


# keys whose languages need different parameters (the code passes every one of them; the
# check below proves it): Korean names a month by its number, English by its name
DIFFERENT_PLACEHOLDERS = {"calendar.image.title"}


def test_every_message_parses_and_both_languages_take_the_same_placeholders() -> None:
    broken = []
    differ = []
    for key in sorted(set(CATALOGS["en"]) & set(CATALOGS["ko"]) - DIFFERENT_PLACEHOLDERS):
        try:
            en, ko = placeholders(CATALOGS["en"][key]), placeholders(CATALOGS["ko"][key])
        except ValueError as error:
            broken.append(f"{key}: {error}")
            continue
        if en != ko:
            differ.append(f"{key}: en {sorted(en)} / ko {sorted(ko)}")
    assert not broken, "messages that do not parse:\n" + "\n".join(broken)
    assert not differ, "placeholders differ:\n" + "\n".join(differ)


# -- reading the source --------------------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    key: str | None  # a literal key
    pattern: str | None  # an f-string key as a regex
    where: str
    params: frozenset[str] | None = None  # keywords a t() call passes (None: also **kwargs)


def source_files() -> Iterator[Path]:
    for folder in SOURCES:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _key_of(node: ast.expr, where: str) -> Use | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return Use(node.value, None, where)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(re.escape(value.value))
            else:
                parts.append(".+")
        return Use(None, "^" + "".join(parts) + "$", where)
    return None


# which argument of which function is a message key
KEY_ARGUMENTS = {"t": 0, "post_line": 2, "ls": 0}


def key_uses() -> list[Use]:
    uses = []
    for path in source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            index = KEY_ARGUMENTS.get(_call_name(node) or "")
            if index is None or len(node.args) <= index:
                continue
            use = _key_of(node.args[index], f"{rel}:{node.lineno}")
            if use is None:
                continue
            if _call_name(node) == "t" and all(k.arg is not None for k in node.keywords):
                passed = frozenset(k.arg for k in node.keywords if k.arg is not None)
                use = Use(use.key, use.pattern, use.where, passed)
            uses.append(use)
    return uses


@dataclass(frozen=True)
class Refusal:
    kind: str  # "validation", "timer", "not_found"
    args: tuple[str, ...]
    where: str


def raised_refusals() -> list[Refusal]:
    """Every ``ValidationError("field", "problem")``, ``InvalidTimerAction("reason")`` and
    ``NotFound("what")`` built with literal arguments in the source."""
    found = []
    for path in source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            literals = [
                a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None
                for a in node.args[:2]
            ]
            where = f"{rel}:{node.lineno}"
            if name == "ValidationError" and len(literals) == 2:
                # a field named by a variable still has its problem checked (and vice versa)
                found.append(Refusal("validation", (literals[0] or "", literals[1] or ""), where))
            elif name == "InvalidTimerAction" and literals and literals[0]:
                found.append(Refusal("timer", (literals[0],), where))
            elif name == "NotFound" and literals and literals[0]:
                found.append(Refusal("not_found", (literals[0],), where))
    return found


# -- (b) ---------------------------------------------------------------------------------------


def test_every_literal_key_in_the_code_exists() -> None:
    uses = [u for u in key_uses() if u.key is not None]
    assert len(uses) > 50  # the scan finds the code's keys
    absent = []
    for use in uses:
        assert use.key is not None
        for locale, messages in CATALOGS.items():
            if use.key not in messages:
                absent.append(f"{locale}: {use.key} ({use.where})")
    assert not absent, "keys used in code but missing:\n" + "\n".join(sorted(set(absent)))


def _known_values() -> dict[str, list[str]]:
    """Where the values an f-string key takes are known: its regex → every full key."""
    from bot.domain.points import Reason
    from bot.domain.timer import PhaseKind
    from bot.services.leaderboard import Period

    help_module = importlib.import_module("cogs.help")
    topics = list(help_module.TOPICS)
    return {
        r"^points\.reason\..+$": [f"points.reason.{r.value}" for r in Reason],
        r"^calendar\.month\..+$": [f"calendar.month.{n}" for n in range(1, 13)],
        r"^card\.phase\..+$": [f"card.phase.{k.value}" for k in PhaseKind],
        r"^calendar\.weekday\..+$": [f"calendar.weekday.{n}" for n in range(7)],
        r"^leaderboard\.period\..+$": [f"leaderboard.period.{p.value}" for p in Period],
        r"^cmd\.help\.topic\..+$": [f"cmd.help.topic.{name}" for name in topics],
        r"^help\..+\.title$": [f"help.{name}.title" for name in (help_module.OVERVIEW, *topics)],
        r"^help\..+\.summary$": [f"help.{name}.summary" for name in topics],
        r"^help\..+\.body$": [f"help.{name}.body" for name in topics],
    }


def test_every_literal_t_call_passes_what_its_messages_need() -> None:
    """A placeholder the call does not fill would show as "{name}" to the member."""
    unfilled = []
    for use in key_uses():
        if use.key is None or use.params is None:
            continue
        for locale, messages in CATALOGS.items():
            text = messages.get(use.key)
            if text is None:
                continue  # reported by the test above
            lacking = placeholders(text) - use.params
            if lacking:
                unfilled.append(f"{locale}: {use.key} needs {sorted(lacking)} ({use.where})")
    assert not unfilled, "placeholders the code does not fill:\n" + "\n".join(sorted(unfilled))


def test_every_f_string_key_has_its_messages() -> None:
    known = _known_values()
    absent: list[str] = []
    for use in key_uses():
        if use.pattern is None:
            continue
        if use.pattern in known:
            for locale, keys in missing_in(set(known[use.pattern])).items():
                absent.extend(f"{locale}: {k} ({use.where})" for k in keys)
            continue
        regex = re.compile(use.pattern)
        for locale, messages in CATALOGS.items():
            if not any(regex.match(k) for k in messages):
                absent.append(f"{locale}: nothing matches {use.pattern} ({use.where})")
    assert not absent, "f-string keys without messages:\n" + "\n".join(sorted(set(absent)))


# -- (c) ---------------------------------------------------------------------------------------


def _import_everything() -> None:
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if module.endswith("__main__"):
                continue
            importlib.import_module(module.removesuffix(".__init__"))


_T = TypeVar("_T")


def _subclasses(cls: type[_T]) -> Iterator[type[_T]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_error_class_has_a_message() -> None:
    _import_everything()
    codes: dict[str, str] = {"error.generic": "StudyOnError"}
    for cls in _subclasses(StudyOnError):
        if issubclass(cls, ValidationError | InvalidTimerAction):
            continue  # the code depends on the problem or reason: checked below
        codes[cls.code] = f"{cls.__module__}.{cls.__qualname__}"
    absent = [
        f"{loc}: {k} ({codes[k]})" for loc, keys in missing_in(set(codes)).items() for k in keys
    ]
    assert not absent, "error classes without a message:\n" + "\n".join(sorted(absent))


def test_every_refusal_the_code_raises_has_a_message() -> None:
    needed: dict[str, str] = {}
    for refusal in raised_refusals():
        if refusal.kind == "validation":
            field, problem = refusal.args
            if problem:
                needed[f"error.validation.{problem}"] = refusal.where
            if field:
                needed[f"field.{field}"] = refusal.where
        elif refusal.kind == "timer":
            needed[f"error.timer.{refusal.args[0]}"] = refusal.where
        else:
            needed[f"what.{refusal.args[0]}"] = refusal.where
    assert any(k.startswith("error.validation.") for k in needed)  # the scan works
    absent = [
        f"{loc}: {k} (raised at {needed[k]})"
        for loc, keys in missing_in(set(needed)).items()
        for k in keys
    ]
    assert not absent, "refusals without a message:\n" + "\n".join(sorted(absent))


# -- (d) ---------------------------------------------------------------------------------------

NAME_PUNCTUATION = set("-_'")


def valid_command_name(name: str) -> bool:
    """Discord's rule for command and option names, ``^[-_'\\p{L}\\p{N}\\p{sc=Deva}
    \\p{sc=Thai}]{1,32}$``, lowercase where the script has case (checked with unicodedata:
    letters, numbers, and the combining marks of Devanagari and Thai)."""
    if not 1 <= len(name) <= 32 or name != name.lower():
        return False
    for char in name:
        if char in NAME_PUNCTUATION:
            continue
        category = unicodedata.category(char)
        if category[0] in "LN":
            continue
        if category in ("Mn", "Mc") and unicodedata.name(char, "").startswith(
            ("DEVANAGARI", "THAI")
        ):
            continue
        return False
    return True


def test_the_name_rule() -> None:
    assert valid_command_name("leaderboard") and valid_command_name("순위")
    assert valid_command_name("to-do_it's") and valid_command_name("만들기2")
    assert not valid_command_name("Leaderboard")
    assert not valid_command_name("이번 주")  # no spaces
    assert not valid_command_name("a" * 33) and not valid_command_name("")
    assert not valid_command_name("points!")


@pytest.fixture
async def loaded_bot(tmp_path: Path) -> AsyncIterator[StudyOnBot]:
    """The real bot with every feature loaded, offline (nothing connects to Discord)."""
    config = parse_config(
        {
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'studyon.db'}"},
            "session": {"embedded_path": str(tmp_path / "session.db")},
        },
        env={},
    )
    bot = create_bot(config)
    await studyon_setup(bot)
    try:
        yield bot
    finally:
        await studyon_teardown(bot)


def _walk_payload(payload: dict[str, Any], path: str, problems: list[str]) -> int:
    """Check one command or option payload (and what it contains); returns names checked."""
    checked = 1
    name = payload["name"]
    ko = (payload.get("name_localizations") or {}).get("ko")
    here = f"{path} {name}".strip()
    if not valid_command_name(name):
        problems.append(f"{here}: English name {name!r} is not a valid command name")
    if ko is None:
        problems.append(f"{here}: no Korean name")
    elif not valid_command_name(ko):
        problems.append(f"{here}: Korean name {ko!r} is not a valid command name")
    if payload.get("description") and not (payload.get("description_localizations") or {}).get(
        "ko"
    ):
        problems.append(f"{here}: no Korean description")
    for choice in payload.get("choices") or []:
        checked += 1
        if not (choice.get("name_localizations") or {}).get("ko"):
            problems.append(f"{here}: choice {choice['name']!r} has no Korean name")
    for option in payload.get("options") or []:
        checked += _walk_payload(option, here, problems)
    return checked


async def test_every_command_option_and_choice_has_a_valid_korean_name(
    loaded_bot: StudyOnBot,
) -> None:
    tree = loaded_bot.tree
    assert set(loaded_bot.extensions) == set(extension_names())
    commands = tree.get_commands()
    names = {c.name for c in commands}
    for expected in ("points", "profile", "leaderboard", "help"):
        assert expected in names
    translator = StudyOnTranslator()
    problems: list[str] = []
    checked = 0
    for command in commands:
        payload = await command.get_translated_payload(tree, translator)
        checked += _walk_payload(payload, "/", problems)
    assert checked > 10
    assert not problems, "commands without a proper Korean name:\n" + "\n".join(problems)


def test_the_translator_is_what_the_bot_uses() -> None:
    # the check above goes through the same translator the bot installs in setup_hook
    source = inspect.getsource(importlib.import_module("bot.app"))
    assert "set_translator(StudyOnTranslator())" in source
    assert isinstance(discord.Locale("ko"), discord.Locale)

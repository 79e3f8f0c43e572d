"""The REST contract: every request the bot makes must be one Discord would accept.

Each request SimCord recorded (``env.http_requests``: method, path, query parameters and the
JSON body as discord.py handed them to its transport) is checked against

1. Discord's own OpenAPI 3.1 description of its API, ``vendor/discord-api-spec/openapi.json``
   relative to the repository root (see its ``SOURCE.md``): the method and path must name an
   operation in the spec, the path parameters and query parameters must match their schemas,
   and the body must validate against the operation's request body schema (JSON Schema
   2020-12, ``$ref``s resolved through a ``referencing`` registry over the whole document);
2. the limits the spec does not encode (message, embed, component and application command
   limits) and the project's own rule that every message sets ``allowed_mentions`` with
   nothing parsed: discord.py merges the client's default (``AllowedMentions.none()``) into
   every message, reply, followup and edit it sends, so a message with content or embeds
   whose ``allowed_mentions`` is missing or has a non-empty ``parse`` was sent around that
   default (explicit ``users`` / ``roles`` lists, deliberate pings, are allowed).

Normalisation before validating (the API accepts both forms; the spec is stricter than the
server): an integer where the schema wants a snowflake string (``format: snowflake``, found
generically wherever the schema says so) becomes that string, and a permission bit field
sent as a string of digits becomes an integer (the spec types these as plain integers with
no marker, so they are known by name: ``allow``, ``deny``, ``permissions``,
``default_member_permissions``). File uploads travel as multipart forms; SimCord records
their ``payload_json`` part as the body, which is what the operation's JSON schema describes
(its multipart schema is the same plus the file parts), so it is validated the same way.

Lengths are counted in Unicode code points (``len`` of the Python string), as Discord's
documentation counts "characters".

Application command size: Discord documents that the names, descriptions and values of a
command, its options (subcommands and groups included) and its choices may total at most 8000
characters, and that for a localised field only the longest of its default and its
localisations counts. So each name or description contributes the longest of its default
text and its localisations; each choice contributes its (longest) name plus its value as
text (a string's length, else the length of its JSON form: ``7`` is one character); options
and choices are counted at every depth.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

REPO = Path(__file__).resolve().parents[2]
#: Discord's spec, vendored with its license and source commit (``vendor/discord-api-spec``).
SPEC_PATH = REPO / "vendor" / "discord-api-spec" / "openapi.json"
SPEC_URI = "urn:discord-api-spec:openapi.json"

# ---------------------------------------------------------------------------------------------
# Limits the spec does not encode (or encodes more loosely than the server applies them)

MESSAGE_CONTENT_MAX = 2000  # the spec says 4000 for channel messages
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
ACTION_ROWS_MAX = 5
ROW_BUTTONS_MAX = 5
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
MODAL_TITLE_MAX = 45
COMMAND_NAME_MAX = 32
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25
COMMAND_CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
CHOICE_STRING_VALUE_MAX = 100
COMMAND_SIZE_MAX = 8000
AUTOCOMPLETE_CHOICES_MAX = 25
AUDIT_LOG_REASON_MAX = 512  # the X-Audit-Log-Reason header

#: Message flag IS_COMPONENTS_V2: top-level components need not be action rows then.
COMPONENTS_V2 = 1 << 15
#: Permission bit fields the spec types as integers and discord.py sends as strings.
PERMISSION_FIELDS = frozenset({"allow", "deny", "permissions", "default_member_permissions"})

CHAT_INPUT = 1
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
ACTION_ROW, BUTTON, TEXT_INPUT = 1, 2, 4
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})

#: Callback types that carry a message: CHANNEL_MESSAGE_WITH_SOURCE, UPDATE_MESSAGE.
MESSAGE_CALLBACKS = frozenset({4, 7})
DEFERRED_CALLBACKS = frozenset({5, 6})
AUTOCOMPLETE_CALLBACK = 8
MODAL_CALLBACK = 9

#: (method, spec path template) of the operations whose body is a message.
MESSAGE_OPERATIONS = frozenset(
    {
        ("POST", "/channels/{channel_id}/messages"),
        ("PATCH", "/channels/{channel_id}/messages/{message_id}"),
        ("POST", "/webhooks/{webhook_id}/{webhook_token}"),
        ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original"),
        ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"),
    }
)
INTERACTION_CALLBACK = ("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
#: A forum or media post: the starter message is the body's ``message``.
THREAD_CREATE = ("POST", "/channels/{channel_id}/threads")
#: Bulk overwrite (PUT, a list) and create / edit (POST / PATCH, one command).
COMMAND_OPERATIONS = frozenset(
    {
        ("PUT", "/applications/{application_id}/commands"),
        ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands"),
        ("POST", "/applications/{application_id}/commands"),
        ("POST", "/applications/{application_id}/guilds/{guild_id}/commands"),
        ("PATCH", "/applications/{application_id}/commands/{command_id}"),
        ("PATCH", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}"),
    }
)

#: Unicode script ranges (Scripts.txt) of Devanagari and Thai, which Discord's command name
#: pattern ``^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$`` admits besides letters and
#: numbers (their combining marks are not letters).
_DEVA_THAI = (
    (0x0900, 0x0950),
    (0x0955, 0x0963),
    (0x0966, 0x097F),
    (0xA8E0, 0xA8FF),
    (0x11B00, 0x11B09),
    (0x0E01, 0x0E3A),
    (0x0E40, 0x0E5B),
)


class Request(Protocol):
    """What the checker reads from a record (SimCord's ``HttpLogEntry`` has it all)."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def params(self) -> Mapping[str, Any]: ...

    @property
    def json(self) -> Any: ...


@dataclass(frozen=True)
class Record:
    """A hand-made request, for tests of the checker itself."""

    method: str
    path: str
    json: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True)
class Violation:
    """One way one request breaks the contract. ``pointer`` is a JSON pointer into the body
    (``""``: the request as a whole, ``?name``: a query parameter, ``{name}``: a path one)."""

    method: str
    path: str
    pointer: str
    message: str
    index: int | None = None  # the request's position in the log
    #: the numeric limit broken, if any: one limit broken at one place is reported once
    limit: int | None = field(default=None, compare=False)

    def __str__(self) -> str:
        where = f"#{self.index} " if self.index is not None else ""
        return f"{where}{self.method} {self.path} {self.pointer or '(request)'}: {self.message}"


# ---------------------------------------------------------------------------------------------
# JSON pointers


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + _escape(str(part)) for part in parts)


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _brief(value: Any, limit: int = 60) -> str:
    return _short(json.dumps(value, ensure_ascii=False, default=str), limit)


# ---------------------------------------------------------------------------------------------
# The spec


@dataclass(frozen=True)
class RouteMatch:
    template: str
    path_args: dict[str, str]
    allowed: bool  # False: the path is known, but not with this method


class Spec:
    """Discord's OpenAPI document: route lookup and validators over its schemas."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        resource = DRAFT202012.create_resource(document)
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        # most literal first, so ".../messages/@original" beats ".../messages/{message_id}"
        self.templates = sorted(
            ((t, tuple(t.strip("/").split("/"))) for t in document["paths"]),
            key=lambda item: -sum(1 for s in item[1] if not _is_param(s)),
        )
        self._validators: dict[str, Draft202012Validator] = {}

    def methods(self, template: str) -> set[str]:
        item = self.document["paths"][template]
        return {m.upper() for m in item if m in ("get", "put", "post", "patch", "delete")}

    def operation_object(self, method: str, template: str) -> Mapping[str, Any]:
        operation: Mapping[str, Any] = self.document["paths"][template][method.lower()]
        return operation

    def match(self, method: str, path: str) -> RouteMatch | None:
        segments = tuple(path.strip("/").split("/"))
        candidates: list[RouteMatch] = []
        for template, tpl in self.templates:
            if len(tpl) != len(segments):
                continue
            args: dict[str, str] = {}
            for t, s in zip(tpl, segments, strict=True):
                if _is_param(t):
                    if not s:
                        break
                    args[t[1:-1]] = s
                elif t != s:
                    break
            else:
                candidates.append(RouteMatch(template, args, method in self.methods(template)))
        best = [c for c in candidates if c.allowed] or candidates
        return best[0] if best else None

    def parameters(self, method: str, template: str, where: str) -> dict[str, Mapping[str, Any]]:
        item = self.document["paths"][template]
        found: dict[str, Mapping[str, Any]] = {}
        for param in [
            *item.get("parameters", []),
            *self.operation_object(method, template).get("parameters", []),
        ]:
            if param.get("in") == where:
                found[param["name"]] = param
        return found

    def body_pointer(self, method: str, template: str) -> tuple[str | None, bool]:
        """The JSON pointer of the operation's request body schema, and whether a body is
        required; (None, False) when the operation takes no body."""
        body = self.operation_object(method, template).get("requestBody")
        if body is None:
            return None, False
        content = body.get("content", {})
        for media in ("application/json", "multipart/form-data", *content):
            if media in content and "schema" in content[media]:
                where = pointer(
                    ["paths", template, method.lower(), "requestBody", "content", media, "schema"]
                )
                return where, bool(body.get("required"))
        return None, bool(body.get("required"))

    def validator(self, schema_pointer: str) -> Draft202012Validator:
        """A validator for the schema at ``schema_pointer`` (relative to the spec)."""
        found = self._validators.get(schema_pointer)
        if found is None:
            found = Draft202012Validator(
                {"$ref": f"{SPEC_URI}#{schema_pointer}"}, registry=self.registry
            )
            self._validators[schema_pointer] = found
        return found

    def param_validator(self, method: str, template: str, where: str, name: str) -> Any:
        item = self.document["paths"][template]
        for index, param in enumerate(item.get("parameters", [])):
            if param.get("in") == where and param["name"] == name:
                return self.validator(pointer(["paths", template, "parameters", index, "schema"]))
        for index, param in enumerate(
            self.operation_object(method, template).get("parameters", [])
        ):
            if param.get("in") == where and param["name"] == name:
                return self.validator(
                    pointer(["paths", template, method.lower(), "parameters", index, "schema"])
                )
        raise KeyError(name)

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """``schema`` with a top-level ``$ref`` followed (once, recursively)."""
        while "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                break
            node: Any = self.document
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            schema = node
        return schema


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


class SpecMissing(RuntimeError):
    """The vendored spec is not in the checkout: the contract cannot be checked."""


@cache
def load_spec(path: Path = SPEC_PATH) -> Spec:
    """The spec, loaded once per test session. It ships with the repository, so a missing
    file is an error, never a reason to check less."""
    if not path.is_file():
        raise SpecMissing(f"Discord's API description is missing: {path} (see its SOURCE.md)")
    with path.open(encoding="utf-8") as fh:
        return Spec(json.load(fh))


def require_spec() -> Spec:
    return load_spec()


# ---------------------------------------------------------------------------------------------
# Normalisation


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return set(kind)
    return set()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fixes(error: ValidationError) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, replacement) for every error that is a known, accepted form difference."""
    if error.validator == "type" and isinstance(error.schema, Mapping):
        value = error.instance
        path = tuple(error.absolute_path)
        if (
            _is_int(value)
            and value >= 0
            and error.schema.get("format") == "snowflake"
            and "string" in _types(error.schema)
        ):
            yield path, str(value)
        elif (
            isinstance(value, str)
            and value.isascii()
            and value.isdigit()
            and path
            and path[-1] in PERMISSION_FIELDS
            and "integer" in _types(error.schema)
        ):
            yield path, int(value)
    for sub in error.context or ():
        yield from _fixes(sub)


def _set(document: Any, path: Sequence[Any], value: Any) -> Any:
    if not path:
        return value
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return document


def normalise(validator: Draft202012Validator, body: Any) -> Any:
    """A copy of ``body`` with ints where snowflake strings are wanted made strings, and
    digit strings where permission integers are wanted made integers."""
    body = copy.deepcopy(body)
    for _ in range(100):  # each round fixes every difference the errors point at
        fixes = dict(f for e in validator.iter_errors(body) for f in _fixes(e))
        if not fixes:
            break
        for path, value in sorted(fixes.items(), key=lambda item: len(item[0])):
            body = _set(body, path, value)
    return body


# ---------------------------------------------------------------------------------------------
# Readable schema errors


def _root_type_mismatch(error: ValidationError) -> bool:
    """The branch wants another JSON type for the value itself (e.g. null vs object)."""
    return error.validator == "type" and len(error.relative_path) == 0


def _discriminator_mismatch(error: ValidationError) -> bool:
    return list(error.relative_path) == ["type"] and error.validator in ("enum", "const")


def leaf_errors(error: ValidationError) -> list[ValidationError]:
    """The errors worth showing for ``error``: for a failed ``oneOf``/``anyOf`` the errors of
    the one branch the value was evidently meant for (same JSON type, same ``type``
    discriminator), else the most relevant one."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0] if sub.schema_path else None, []).append(sub)
    plausible = [
        errors
        for errors in branches.values()
        if not any(_root_type_mismatch(e) or _discriminator_mismatch(e) for e in errors)
    ]
    if len(plausible) == 1:
        return [leaf for sub in plausible[0] for leaf in leaf_errors(sub)]
    best = best_match(error.context)
    return leaf_errors(best) if best is not None else [error]


_LENGTHS = {
    "maxLength": "characters; at most {limit} allowed",
    "minLength": "characters; at least {limit} needed",
    "maxItems": "items; at most {limit} allowed",
    "minItems": "items; at least {limit} needed",
}


def describe(error: ValidationError) -> str:
    """``error.message`` without the whole offending value in it."""
    instance = error.instance
    template = _LENGTHS.get(str(error.validator))
    if template is not None and isinstance(instance, str | list):
        return f"{len(instance)} " + template.format(limit=error.validator_value)
    message: str = error.message
    whole = repr(instance)
    if len(whole) > 60 and message.startswith(whole):
        message = _brief(instance) + message[len(whole) :]
    return message


def schema_violations(
    validator: Draft202012Validator, body: Any, method: str, path: str
) -> list[Violation]:
    found = []
    for error in validator.iter_errors(body):
        for leaf in leaf_errors(error):
            rule = "/".join(map(str, leaf.schema_path))
            limit = leaf.validator_value if leaf.validator in _LENGTHS else None
            found.append(
                Violation(
                    method,
                    path,
                    pointer(leaf.absolute_path),
                    _short(f"{describe(leaf)} (schema: {rule})"),
                    limit=limit if _is_int(limit) else None,
                )
            )
    return found


# ---------------------------------------------------------------------------------------------
# The limits the spec does not encode


class _Collector:
    def __init__(self, method: str, path: str) -> None:
        self.method = method
        self.path = path
        self.found: list[Violation] = []

    def add(self, where: Sequence[Any], message: str, limit: int | None = None) -> None:
        self.found.append(Violation(self.method, self.path, pointer(where), message, limit=limit))

    def length(
        self, value: Any, maximum: int, where: Sequence[Any], what: str, minimum: int = 0
    ) -> None:
        if not isinstance(value, str):
            return
        if len(value) > maximum:
            self.add(where, f"{what} is {len(value)} characters; the limit is {maximum}", maximum)
        elif len(value) < minimum:
            self.add(
                where, f"{what} is {len(value)} characters; at least {minimum} needed", minimum
            )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def check_embeds(c: _Collector, embeds: Any, where: Sequence[Any]) -> None:
    if not isinstance(embeds, list):
        return
    if len(embeds) > EMBEDS_MAX:
        c.add(where, f"{len(embeds)} embeds; the limit is {EMBEDS_MAX}", EMBEDS_MAX)
    total = 0
    for i, embed in enumerate(embeds):
        if not isinstance(embed, Mapping):
            continue
        at = [*where, i]
        c.length(embed.get("title"), EMBED_TITLE_MAX, [*at, "title"], "embed title")
        c.length(
            embed.get("description"),
            EMBED_DESCRIPTION_MAX,
            [*at, "description"],
            "embed description",
        )
        total += len(_text(embed.get("title"))) + len(_text(embed.get("description")))
        fields = embed.get("fields") or []
        if isinstance(fields, list):
            if len(fields) > EMBED_FIELDS_MAX:
                c.add(
                    [*at, "fields"],
                    f"{len(fields)} fields; the limit is {EMBED_FIELDS_MAX}",
                    EMBED_FIELDS_MAX,
                )
            for j, entry in enumerate(fields):
                if not isinstance(entry, Mapping):
                    continue
                name, value = entry.get("name"), entry.get("value")
                c.length(name, EMBED_FIELD_NAME_MAX, [*at, "fields", j, "name"], "field name", 1)
                c.length(
                    value, EMBED_FIELD_VALUE_MAX, [*at, "fields", j, "value"], "field value", 1
                )
                total += len(_text(name)) + len(_text(value))
        footer = embed.get("footer")
        if isinstance(footer, Mapping):
            c.length(footer.get("text"), EMBED_FOOTER_MAX, [*at, "footer", "text"], "footer text")
            total += len(_text(footer.get("text")))
        author = embed.get("author")
        if isinstance(author, Mapping):
            c.length(author.get("name"), EMBED_AUTHOR_MAX, [*at, "author", "name"], "author name")
            total += len(_text(author.get("name")))
    if total > EMBED_TOTAL_MAX:
        c.add(
            where,
            f"embeds total {total} characters (title, description, fields, footer, author "
            f"across all embeds); the limit is {EMBED_TOTAL_MAX}",
        )


def _walk_components(
    components: Any, where: Sequence[Any]
) -> Iterator[tuple[Mapping[str, Any], list[Any]]]:
    if not isinstance(components, list):
        return
    for i, component in enumerate(components):
        if not isinstance(component, Mapping):
            continue
        at = [*where, i]
        yield component, at
        yield from _walk_components(component.get("components"), [*at, "components"])
        accessory = component.get("accessory")
        if isinstance(accessory, Mapping):
            yield accessory, [*at, "accessory"]


def check_components(
    c: _Collector, components: Any, where: Sequence[Any], *, flags: Any = 0, modal: bool = False
) -> None:
    if not isinstance(components, list):
        return
    v2 = _is_int(flags) and bool(flags & COMPONENTS_V2)
    if not v2 and not modal:
        if len(components) > ACTION_ROWS_MAX:
            c.add(
                where,
                f"{len(components)} action rows; the limit is {ACTION_ROWS_MAX}",
                ACTION_ROWS_MAX,
            )
        for i, row in enumerate(components):
            if isinstance(row, Mapping) and row.get("type") != ACTION_ROW:
                c.add([*where, i], "a top-level component must be an action row")
    seen: dict[str, str] = {}
    for component, at in _walk_components(components, where):
        kind = component.get("type")
        if kind == ACTION_ROW:
            children = [x for x in component.get("components") or [] if isinstance(x, Mapping)]
            buttons = sum(1 for x in children if x.get("type") == BUTTON)
            if buttons > ROW_BUTTONS_MAX:
                c.add(
                    [*at, "components"],
                    f"{buttons} buttons in one row; the limit is {ROW_BUTTONS_MAX}",
                    ROW_BUTTONS_MAX,
                )
            if any(x.get("type") in SELECT_TYPES for x in children) and len(children) > 1:
                c.add(at, "a select menu must be alone in its action row")
        custom_id = component.get("custom_id")
        if isinstance(custom_id, str):
            c.length(custom_id, CUSTOM_ID_MAX, [*at, "custom_id"], "custom_id", 1)
            here = pointer(at)
            if custom_id in seen:
                c.add([*at, "custom_id"], f"custom_id {custom_id!r} repeats {seen[custom_id]}")
            else:
                seen[custom_id] = here
        if kind == BUTTON:
            c.length(component.get("label"), BUTTON_LABEL_MAX, [*at, "label"], "button label")
            has_url = bool(component.get("url")) or bool(component.get("sku_id"))
            if not has_url and not isinstance(custom_id, str):
                c.add(at, "a button that is not a link needs a custom_id")


def _has_user_content(message: Mapping[str, Any]) -> bool:
    content = message.get("content")
    embeds = message.get("embeds")
    return (isinstance(content, str) and content != "") or (
        isinstance(embeds, list) and len(embeds) > 0
    )


def check_message(c: _Collector, message: Any, where: Sequence[Any]) -> None:
    """Content, embeds, components and the project's allowed_mentions rule."""
    if not isinstance(message, Mapping):
        return
    c.length(message.get("content"), MESSAGE_CONTENT_MAX, [*where, "content"], "content")
    check_embeds(c, message.get("embeds"), [*where, "embeds"])
    check_components(
        c, message.get("components"), [*where, "components"], flags=message.get("flags") or 0
    )
    if _has_user_content(message):
        mentions = message.get("allowed_mentions")
        if not isinstance(mentions, Mapping):
            c.add(
                [*where, "allowed_mentions"],
                "a message with content or embeds must set allowed_mentions "
                '(mentions disabled: {"parse": []})',
            )
        elif mentions.get("parse") != []:
            c.add(
                [*where, "allowed_mentions", "parse"],
                f"allowed_mentions.parse must be [] (nothing pinged implicitly), "
                f"got {_brief(mentions.get('parse'))}",
            )


def check_interaction_callback(c: _Collector, body: Any) -> None:
    if not isinstance(body, Mapping):
        return
    kind = body.get("type")
    data = body.get("data")
    if kind in MESSAGE_CALLBACKS:
        check_message(c, data, ["data"])
    elif kind in DEFERRED_CALLBACKS and isinstance(data, Mapping) and _has_user_content(data):
        c.add(["data"], "a deferred response carries no content or embeds")
    elif kind == AUTOCOMPLETE_CALLBACK and isinstance(data, Mapping):
        choices = data.get("choices") or []
        if isinstance(choices, list):
            if len(choices) > AUTOCOMPLETE_CHOICES_MAX:
                c.add(
                    ["data", "choices"],
                    f"{len(choices)} choices; the limit is {AUTOCOMPLETE_CHOICES_MAX}",
                    AUTOCOMPLETE_CHOICES_MAX,
                )
            for i, choice in enumerate(choices):
                if isinstance(choice, Mapping):
                    at = ["data", "choices", i]
                    c.length(choice.get("name"), CHOICE_NAME_MAX, [*at, "name"], "choice name", 1)
                    c.length(
                        choice.get("value"),
                        CHOICE_STRING_VALUE_MAX,
                        [*at, "value"],
                        "choice value",
                    )
    elif kind == MODAL_CALLBACK and isinstance(data, Mapping):
        c.length(data.get("title"), MODAL_TITLE_MAX, ["data", "title"], "modal title", 1)
        c.length(data.get("custom_id"), CUSTOM_ID_MAX, ["data", "custom_id"], "custom_id", 1)
        check_components(c, data.get("components"), ["data", "components"], modal=True)


# Application commands


def command_name_ok(name: str) -> bool:
    """Discord's chat-input name pattern ``^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``
    (written with ``unicodedata`` and the two scripts' code point ranges)."""
    if not 1 <= len(name) <= COMMAND_NAME_MAX:
        return False
    for char in name:
        if char in "-_'" or unicodedata.category(char)[0] in "LN":
            continue
        code = ord(char)
        if any(low <= code <= high for low, high in _DEVA_THAI):
            continue
        return False
    return True


def _lowercase(name: str) -> bool:
    """Every letter that has a lowercase form uses it."""
    return all(char.lower() == char for char in name)


def _longest(default: Any, localizations: Any) -> int:
    sizes = [len(default)] if isinstance(default, str) else [0]
    if isinstance(localizations, Mapping):
        sizes += [len(v) for v in localizations.values() if isinstance(v, str)]
    return max(sizes)


def command_size(command: Mapping[str, Any]) -> int:
    """Characters Discord counts against the 8000 limit (see the module docstring)."""

    def named(node: Mapping[str, Any]) -> int:
        return _longest(node.get("name"), node.get("name_localizations")) + _longest(
            node.get("description"), node.get("description_localizations")
        )

    def option(node: Mapping[str, Any]) -> int:
        size = named(node)
        for choice in node.get("choices") or []:
            if isinstance(choice, Mapping):
                size += _longest(choice.get("name"), choice.get("name_localizations"))
                value = choice.get("value")
                size += len(value if isinstance(value, str) else json.dumps(value))
        for sub in node.get("options") or []:
            if isinstance(sub, Mapping):
                size += option(sub)
        return size

    return option(command)


def _check_name(c: _Collector, name: Any, where: Sequence[Any], chat_input: bool) -> None:
    if not isinstance(name, str):
        c.add(where, "a name is required")
        return
    if chat_input:
        if not command_name_ok(name):
            c.add(
                where,
                f"name {name!r} does not match ^[-_'\\p{{L}}\\p{{N}}\\p{{sc=Deva}}"
                f"\\p{{sc=Thai}}]{{1,32}}$",
            )
        elif not _lowercase(name):
            c.add(where, f"name {name!r} must be lowercase")
    else:
        c.length(name, COMMAND_NAME_MAX, where, "name", 1)


def _check_named(c: _Collector, node: Mapping[str, Any], at: list[Any], chat_input: bool) -> None:
    _check_name(c, node.get("name"), [*at, "name"], chat_input)
    names = node.get("name_localizations")
    if isinstance(names, Mapping):
        for locale, text in names.items():
            _check_name(c, text, [*at, "name_localizations", locale], chat_input)
    description = node.get("description")
    descriptions = node.get("description_localizations")
    if chat_input:
        c.length(description, COMMAND_DESCRIPTION_MAX, [*at, "description"], "description", 1)
        if not isinstance(description, str):
            c.add([*at, "description"], "a chat-input command or option needs a description")
        if isinstance(descriptions, Mapping):
            for locale, text in descriptions.items():
                c.length(
                    text,
                    COMMAND_DESCRIPTION_MAX,
                    [*at, "description_localizations", locale],
                    "description",
                    1,
                )
    elif description or descriptions:
        c.add([*at, "description"], "a context-menu command has an empty description")


def _check_options(c: _Collector, options: Any, at: list[Any]) -> None:
    if not isinstance(options, list):
        return
    if len(options) > COMMAND_OPTIONS_MAX:
        c.add(
            at, f"{len(options)} options; the limit is {COMMAND_OPTIONS_MAX}", COMMAND_OPTIONS_MAX
        )
    names: set[Any] = set()
    optional_seen = False
    for i, option in enumerate(options):
        if not isinstance(option, Mapping):
            continue
        here = [*at, i]
        _check_named(c, option, here, chat_input=True)
        if option.get("name") in names:
            c.add([*here, "name"], f"option name {option.get('name')!r} repeats")
        names.add(option.get("name"))
        kind = option.get("type")
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _check_options(c, option.get("options"), [*here, "options"])
            continue
        if option.get("required"):
            if optional_seen:
                c.add([*here, "required"], "required options must come before optional ones")
        else:
            optional_seen = True
        choices = option.get("choices")
        if isinstance(choices, list):
            if len(choices) > COMMAND_CHOICES_MAX:
                c.add(
                    [*here, "choices"],
                    f"{len(choices)} choices; the limit is {COMMAND_CHOICES_MAX}",
                    COMMAND_CHOICES_MAX,
                )
            for j, choice in enumerate(choices):
                if not isinstance(choice, Mapping):
                    continue
                where = [*here, "choices", j]
                c.length(choice.get("name"), CHOICE_NAME_MAX, [*where, "name"], "choice name", 1)
                locs = choice.get("name_localizations")
                if isinstance(locs, Mapping):
                    for locale, text in locs.items():
                        c.length(
                            text,
                            CHOICE_NAME_MAX,
                            [*where, "name_localizations", locale],
                            "choice name",
                            1,
                        )
                c.length(
                    choice.get("value"), CHOICE_STRING_VALUE_MAX, [*where, "value"], "choice value"
                )


def check_command(c: _Collector, command: Any, at: list[Any]) -> None:
    if not isinstance(command, Mapping):
        return
    chat_input = command.get("type", CHAT_INPUT) in (CHAT_INPUT, None)
    _check_named(c, command, at, chat_input)
    if chat_input:
        _check_options(c, command.get("options"), [*at, "options"])
    size = command_size(command)
    if size > COMMAND_SIZE_MAX:
        c.add(
            at,
            f"command {command.get('name')!r} is {size} characters (names, descriptions, "
            f"choices, longest localization each); the limit is {COMMAND_SIZE_MAX}",
        )


def check_commands(c: _Collector, body: Any, method: str) -> None:
    if method == "PUT":
        if isinstance(body, list):
            names: set[tuple[Any, Any]] = set()
            for i, command in enumerate(body):
                check_command(c, command, [i])
                if isinstance(command, Mapping):
                    key = (command.get("type", CHAT_INPUT), command.get("name"))
                    if key in names:
                        c.add([i, "name"], f"command {key[1]!r} is registered twice")
                    names.add(key)
    else:
        check_command(c, body, [])


def limit_violations(method: str, template: str, path: str, body: Any) -> list[Violation]:
    """The checks beyond the schema, for an operation known by its spec template."""
    c = _Collector(method, path)
    operation = (method, template)
    if operation in MESSAGE_OPERATIONS:
        check_message(c, body, [])
    elif operation == INTERACTION_CALLBACK:
        check_interaction_callback(c, body)
    elif operation == THREAD_CREATE and isinstance(body, Mapping):
        check_message(c, body.get("message"), ["message"])
    elif operation in COMMAND_OPERATIONS:
        check_commands(c, body, method)
    return c.found


#: The templates of the operations with extra checks, for matching without the spec.
_LIMIT_TEMPLATES = sorted(
    {t for _, t in (*MESSAGE_OPERATIONS, INTERACTION_CALLBACK, THREAD_CREATE, *COMMAND_OPERATIONS)},
    key=lambda t: -sum(1 for s in t.strip("/").split("/") if not _is_param(s)),
)


def _template_without_spec(path: str) -> str | None:
    segments = path.strip("/").split("/")
    for template in _LIMIT_TEMPLATES:
        tpl = template.strip("/").split("/")
        if len(tpl) == len(segments) and all(
            _is_param(t) or t == s for t, s in zip(tpl, segments, strict=True)
        ):
            return template
    return None


# ---------------------------------------------------------------------------------------------
# Query parameters


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _from_wire(text: str, schema: Mapping[str, Any]) -> Any:
    """A query string value as the JSON value its schema describes."""
    kinds = _types(schema)
    if "boolean" in kinds and text.lower() in ("true", "false", "1", "0"):
        return text.lower() in ("true", "1")
    if ("integer" in kinds or "number" in kinds) and text.lstrip("-").isdigit():
        return int(text)
    return text


# ---------------------------------------------------------------------------------------------
# The checker


class ContractChecker:
    """Checks recorded requests; ``spec=None`` checks only the limits beyond the spec."""

    def __init__(self, spec: Spec | None) -> None:
        self.spec = spec

    def check(self, requests: Iterable[Request]) -> list[Violation]:
        found = []
        for index, request in enumerate(requests):
            for violation in self.check_one(request):
                found.append(dataclasses.replace(violation, index=index))
        return found

    def check_one(self, request: Request) -> list[Violation]:
        method, path = request.method.upper(), request.path.split("?", 1)[0]
        body = request.json
        if self.spec is None:
            template = _template_without_spec(path)
            return [] if template is None else limit_violations(method, template, path, body)
        spec = self.spec
        match = spec.match(method, path)
        if match is None:
            return [Violation(method, path, "", "no such route in Discord's API description")]
        if not match.allowed:
            allowed = ", ".join(sorted(spec.methods(match.template)))
            return [
                Violation(
                    method,
                    path,
                    "",
                    f"{match.template} does not take {method} (it takes {allowed})",
                )
            ]
        template = match.template
        found: list[Violation] = []
        reason = getattr(request, "reason", None)
        if isinstance(reason, str) and len(reason) > AUDIT_LOG_REASON_MAX:
            found.append(
                Violation(
                    method,
                    path,
                    "",
                    f"audit log reason is {len(reason)} characters; "
                    f"the limit is {AUDIT_LOG_REASON_MAX}",
                )
            )
        found += self._path_params(method, template, path, match.path_args)
        found += self._query_params(method, template, path, dict(request.params or {}))
        where, required = spec.body_pointer(method, template)
        if where is None:
            if body not in (None, {}, []):
                found.append(
                    Violation(
                        method, path, "", f"{method} {template} takes no body, got {_brief(body)}"
                    )
                )
            return found
        if body is None:
            if required:
                found.append(Violation(method, path, "", "the request body is missing"))
            return found
        validator = spec.validator(where)
        body = normalise(validator, body)
        by_schema = schema_violations(validator, body, method, path)
        # a limit the schema already enforces is reported once, by the schema
        flagged = {(v.pointer, v.limit) for v in by_schema if v.limit is not None}
        found += by_schema
        found += [
            v
            for v in limit_violations(method, template, path, body)
            if (v.pointer, v.limit) not in flagged
        ]
        return found

    def _path_params(
        self, method: str, template: str, path: str, args: Mapping[str, str]
    ) -> list[Violation]:
        assert self.spec is not None
        found = []
        for name, value in args.items():
            try:
                validator = self.spec.param_validator(method, template, "path", name)
            except KeyError:
                continue
            for error in validator.iter_errors(value):
                found.append(Violation(method, path, "{" + name + "}", _short(describe(error))))
        return found

    def _query_params(
        self, method: str, template: str, path: str, params: Mapping[str, Any]
    ) -> list[Violation]:
        assert self.spec is not None
        known = self.spec.parameters(method, template, "query")
        found = []
        for name, raw in params.items():
            if name not in known:
                found.append(
                    Violation(
                        method,
                        path,
                        f"?{name}",
                        f"unknown query parameter (known: {', '.join(sorted(known)) or 'none'})",
                    )
                )
                continue
            validator = self.spec.param_validator(method, template, "query", name)
            schema = self.spec.resolve(known[name].get("schema", {}))
            value = _from_wire(_wire(raw), schema)
            for error in validator.iter_errors(value):
                found.append(Violation(method, path, f"?{name}", _short(describe(error))))
        return found


def checker() -> ContractChecker:
    return ContractChecker(load_spec())


def report(violations: Sequence[Violation], total: int) -> str:
    lines = [
        f"{len(violations)} REST contract violation(s) in {total} request(s) "
        "(method path JSON-pointer: message):"
    ]
    lines += [f"  {v}" for v in violations]
    return "\n".join(lines)


def check_requests(requests: Sequence[Request]) -> list[Violation]:
    """Every violation in ``requests``: against the spec and the limits beyond it."""
    return ContractChecker(load_spec()).check(requests)

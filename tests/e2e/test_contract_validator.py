"""The REST contract checker itself: hand-made requests it must refuse, and ones it must pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e import contract
from tests.e2e.contract import (
    ContractChecker,
    Record,
    Spec,
    Violation,
    command_name_ok,
    command_size,
    report,
    require_spec,
)

CHANNEL = "/channels/1456074443980800001/messages"
MESSAGE = CHANNEL + "/1456074443980800002"
CALLBACK = "/interactions/1456074443980800003/aW50ZXJhY3Rpb24tdG9rZW4/callback"
FOLLOWUP = "/webhooks/1456074443980800004/aW50ZXJhY3Rpb24tdG9rZW4"
ORIGINAL = FOLLOWUP + "/messages/@original"
COMMANDS = "/applications/1456074443980800004/commands"
GUILD_COMMANDS = "/applications/1456074443980800004/guilds/1456074443980800005/commands"
CHANNELS = "/guilds/1456074443980800005/channels"
OVERWRITE = "/channels/1456074443980800001/permissions/1456074443980800006"
NONE: dict[str, list[str]] = {"parse": []}


@pytest.fixture(scope="module")
def spec() -> Spec:
    return require_spec()


@pytest.fixture
def checker(spec: Spec) -> ContractChecker:
    return ContractChecker(spec)


def check(
    checker: ContractChecker, method: str, path: str, body: Any = None, **params: Any
) -> list[Violation]:
    return checker.check_one(Record(method, path, body, params))


def pointers(violations: list[Violation]) -> list[str]:
    return [v.pointer for v in violations]


def message(**fields: Any) -> dict[str, Any]:
    return {"allowed_mentions": NONE, **fields}


def embed(**fields: Any) -> dict[str, Any]:
    return {"type": "rich", **fields}


def command(name: str = "points", description: str = "Your points", **extra: Any) -> dict[str, Any]:
    return {"name": name, "description": description, "type": 1, **extra}


# --------------------------------------------------------------------------------------------
# What passes


def test_what_discord_py_sends_for_a_reply_passes(checker: ContractChecker) -> None:
    body = {
        "type": 4,
        "data": {
            "tts": False,
            "content": None,
            "embeds": [
                {
                    "fields": [{"inline": False, "name": "Recent history", "value": "`+1000`"}],
                    "flags": 0,
                    "color": 15844367,
                    "type": "rich",
                    "description": "Balance: **1000** points",
                    "title": "Your points",
                }
            ],
            "flags": 64,
            "allowed_mentions": NONE,
        },
    }
    assert check(checker, "POST", CALLBACK, body, with_response="1") == []


def test_messages_edits_followups_and_deferrals_pass(checker: ContractChecker) -> None:
    assert check(checker, "POST", CHANNEL, message(content="x" * 2000)) == []
    assert check(checker, "PATCH", MESSAGE, message(embeds=[embed(title="t")])) == []
    assert check(checker, "POST", FOLLOWUP, message(content="hi"), wait="true") == []
    assert check(checker, "PATCH", ORIGINAL, message(content="edited")) == []
    assert check(checker, "POST", CALLBACK, {"type": 5, "data": {"flags": 64}}) == []
    # a components-only edit carries no user text, so needs no allowed_mentions
    row = {"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "a", "label": "A"}]}
    assert check(checker, "PATCH", MESSAGE, {"components": [row]}) == []


def test_reads_and_deletes_pass(checker: ContractChecker) -> None:
    assert check(checker, "GET", "/oauth2/applications/@me") == []
    assert check(checker, "GET", CHANNEL, limit=50) == []
    assert check(checker, "DELETE", MESSAGE) == []
    assert check(checker, "PUT", "/channels/1456074443980800001/pins/1456074443980800002") == []


def test_discord_py_forms_are_normalised_not_refused(checker: ContractChecker) -> None:
    """Snowflakes as ints and permissions as strings: the API takes both (SOURCE.md)."""
    body = {
        "name": "study-room",
        "type": 0,
        "parent_id": 1456074443980800007,
        "permission_overwrites": [
            {"id": 1456074443980800005, "type": 0, "allow": "0", "deny": "1024"},
            {"id": 1456074443980800008, "type": 1, "allow": "3072", "deny": "0"},
        ],
    }
    assert check(checker, "POST", CHANNELS, body) == []
    assert check(checker, "PUT", OVERWRITE, {"allow": "1024", "deny": "0", "type": 1}) == []
    upload = message(content="calendar", attachments=[{"id": 0, "filename": "calendar.png"}])
    assert check(checker, "POST", CHANNEL, upload) == []


def test_a_localised_command_tree_passes(checker: ContractChecker) -> None:
    tree = [
        command(
            name_localizations={"ko": "포인트"},
            description_localizations={"ko": "내 포인트와 최근 내역"},
            default_member_permissions=None,
            contexts=[0],
        ),
        command(
            "todo",
            "Your todo list",
            options=[
                {
                    "type": 1,
                    "name": "add",
                    "description": "Add a todo",
                    "name_localizations": {"ko": "추가"},
                    "options": [
                        {"type": 3, "name": "text", "description": "What", "required": True},
                        {"type": 3, "name": "date", "description": "When", "required": False},
                    ],
                }
            ],
        ),
        {"name": "Show Profile", "type": 2},  # context menus may use capitals and spaces
    ]
    assert check(checker, "PUT", COMMANDS, tree) == []
    assert check(checker, "PUT", GUILD_COMMANDS, tree) == []


# --------------------------------------------------------------------------------------------
# What is refused


def test_content_over_2000_is_refused(checker: ContractChecker) -> None:
    found = check(checker, "POST", CHANNEL, message(content="x" * 2001))
    assert pointers(found) == ["/content"]
    assert "2001 characters" in found[0].message and "2000" in found[0].message
    reply = {"type": 4, "data": message(content="y" * 2001)}
    assert pointers(check(checker, "POST", CALLBACK, reply)) == ["/data/content"]


def test_embeds_over_6000_in_total_are_refused(checker: ContractChecker) -> None:
    embeds = [
        embed(title="t" * 256, description="d" * 4096),
        embed(
            description="e" * 1000,
            fields=[{"name": "n" * 100, "value": "v" * 500}],
            footer={"text": "f" * 50},
            author={"name": "a" * 49},
        ),
    ]  # 256 + 4096 + 1000 + 100 + 500 + 50 + 49 = 6051
    found = check(checker, "POST", CHANNEL, message(embeds=embeds))
    assert pointers(found) == ["/embeds"]
    assert "6051" in found[0].message
    embeds[1]["author"]["name"] = "a"  # 6003
    embeds[1]["footer"]["text"] = "f"  # 5954
    assert check(checker, "POST", CHANNEL, message(embeds=embeds)) == []


def test_embed_part_limits_are_refused(checker: ContractChecker) -> None:
    bad = embed(
        title="t" * 257,
        fields=[{"name": "n", "value": "v" * 1025}] + [{"name": "n", "value": "v"}] * 25,
        footer={"text": "f" * 2049},
        author={"name": "a" * 257},
    )
    found = pointers(check(checker, "POST", CHANNEL, message(embeds=[bad])))
    for where in (
        "/embeds/0/title",
        "/embeds/0/fields",
        "/embeds/0/fields/0/value",
        "/embeds/0/footer/text",
        "/embeds/0/author/name",
    ):
        assert where in found, (where, found)
    eleven = [embed(title="t")] * 11
    assert "/embeds" in pointers(check(checker, "POST", CHANNEL, message(embeds=eleven)))


def test_an_unknown_route_or_method_is_refused(checker: ContractChecker) -> None:
    found = check(checker, "POST", "/channels/1456074443980800001/study-timer", {"a": 1})
    assert [v.message for v in found] == ["no such route in Discord's API description"]
    found = check(checker, "DELETE", CHANNEL)
    assert "does not take DELETE" in found[0].message
    found = check(checker, "POST", FOLLOWUP, message(content="hi"), wait="true", waitt="true")
    assert pointers(found) == ["?waitt"]
    long_reason = Record("DELETE", "/channels/1456074443980800001", reason="r" * 513)
    assert [v.message for v in checker.check_one(long_reason)] == [
        "audit log reason is 513 characters; the limit is 512"
    ]


def test_a_bad_snowflake_is_refused(checker: ContractChecker) -> None:
    body = {
        "name": "room",
        "parent_id": "study-rooms",
        "permission_overwrites": [{"id": 12.5, "type": 0}, {"id": True, "type": 1}],
    }
    found = pointers(check(checker, "POST", CHANNELS, body))
    assert "/parent_id" in found
    assert "/permission_overwrites/0/id" in found
    assert "/permission_overwrites/1/id" in found
    # in the path too
    in_path = check(checker, "PATCH", "/channels/None/messages/1456074443980800002", message())
    assert pointers(in_path) == ["{channel_id}"]


def test_a_bad_command_name_is_refused(checker: ContractChecker) -> None:
    found = check(checker, "PUT", COMMANDS, [command("Points")])
    assert [v.pointer for v in found] == ["/0/name"] and "lowercase" in found[0].message
    found = check(checker, "PUT", COMMANDS, [command("study room")])
    assert pointers(found) == ["/0/name"]
    localised = command(name_localizations={"ko": "포인트 보기", "fr": "Points"})
    found = check(checker, "PUT", COMMANDS, [localised])
    assert sorted(pointers(found)) == ["/0/name_localizations/fr", "/0/name_localizations/ko"]
    option = {"type": 3, "name": "Text", "description": "d"}
    found = check(checker, "PUT", COMMANDS, [command(options=[option])])
    assert pointers(found) == ["/0/options/0/name"]


def test_bad_descriptions_and_option_order_are_refused(checker: ContractChecker) -> None:
    found = check(checker, "PUT", COMMANDS, [command(description="")])
    assert pointers(found) == ["/0/description"]
    long = command(description_localizations={"ko": "설" * 101})
    assert pointers(check(checker, "PUT", COMMANDS, [long])) == ["/0/description_localizations/ko"]
    options = [
        {"type": 3, "name": "date", "description": "d"},
        {"type": 3, "name": "text", "description": "d", "required": True},
    ]
    found = check(checker, "PUT", COMMANDS, [command(options=options)])
    assert pointers(found) == ["/0/options/1/required"]
    twice = check(checker, "PUT", COMMANDS, [command(), command()])
    assert pointers(twice) == ["/1/name"]


def test_a_command_over_8000_characters_is_refused(checker: ContractChecker) -> None:
    choices = [{"name": "c" * 100, "value": "v" * 100} for _ in range(25)]
    options = [
        {"type": 3, "name": f"o{i}", "description": "x" * 100, "choices": choices} for i in range(2)
    ]
    big = command("big", "d" * 100, options=options)
    # 3 + 100 + 2 × (2 + 100 + 25 × 200) = 10307
    assert command_size(big) == 10307
    found = check(checker, "PUT", COMMANDS, [big])
    assert pointers(found) == ["/0"] and "10307" in found[0].message


def test_command_size_counts_the_longest_localisation() -> None:
    cmd = command(
        "todo",
        "Todos",
        name_localizations={"ko": "할일", "de": "aufgaben"},
        description_localizations={"ko": "할 일 목록 관리하기"},
        options=[
            {
                "type": 3,
                "name": "when",
                "description": "Day",
                "choices": [
                    {"name": "today", "value": "t", "name_localizations": {"ko": "오늘"}},
                    {"name": "n", "value": 7},
                ],
            }
        ],
    )
    # max(4, 2, 8) + max(5, 11) + 4 + 3 + 5 + 1 + 1 + 1
    assert command_size(cmd) == 8 + 11 + 4 + 3 + 5 + 1 + 1 + 1


def test_missing_or_permissive_allowed_mentions_are_refused(checker: ContractChecker) -> None:
    found = check(checker, "POST", CHANNEL, {"content": "**alice** joined"})
    assert pointers(found) == ["/allowed_mentions"]
    found = check(checker, "PATCH", MESSAGE, {"embeds": [embed(title="card")]})
    assert pointers(found) == ["/allowed_mentions"]
    everyone = {"content": "hi", "allowed_mentions": {"parse": ["everyone", "users"]}}
    assert pointers(check(checker, "POST", CHANNEL, everyone)) == ["/allowed_mentions/parse"]
    reply = {"type": 4, "data": {"content": "done", "flags": 64}}
    assert pointers(check(checker, "POST", CALLBACK, reply)) == ["/data/allowed_mentions"]
    update = {"type": 7, "data": {"embeds": [embed(title="t")]}}
    assert pointers(check(checker, "POST", CALLBACK, update)) == ["/data/allowed_mentions"]
    assert pointers(check(checker, "POST", FOLLOWUP, {"content": "x"})) == ["/allowed_mentions"]


def test_component_limits_are_refused(checker: ContractChecker) -> None:
    def button(i: int, **extra: Any) -> dict[str, Any]:
        return {"type": 2, "style": 1, "custom_id": f"b{i}", "label": "B", **extra}

    def row(*items: dict[str, Any]) -> dict[str, Any]:
        return {"type": 1, "components": list(items)}

    six_rows = [row(button(i)) for i in range(6)]
    assert "/components" in pointers(check(checker, "POST", CHANNEL, {"components": six_rows}))
    crowded = [row(*(button(i) for i in range(6)))]
    found = pointers(check(checker, "POST", CHANNEL, {"components": crowded}))
    assert found == ["/components/0/components"]
    long = [row(button(0, custom_id="c" * 101, label="l" * 81))]
    found = pointers(check(checker, "POST", CHANNEL, {"components": long}))
    assert "/components/0/components/0/custom_id" in found
    assert "/components/0/components/0/label" in found
    same = [row(button(0), button(0))]
    found = pointers(check(checker, "POST", CHANNEL, {"components": same}))
    assert found == ["/components/0/components/1/custom_id"]


def test_a_schema_error_names_the_field_in_the_right_union_branch(
    checker: ContractChecker,
) -> None:
    """The callback body is a union of seven shapes; the error comes from the one meant."""
    found = check(checker, "POST", CALLBACK, {"type": 4, "data": {"content": 5, **message()}})
    assert pointers(found) == ["/data/content"]
    assert "not of type" in found[0].message


def test_the_report_lists_method_path_pointer_and_message(checker: ContractChecker) -> None:
    requests = [
        Record("POST", CHANNEL, message(content="ok")),
        Record("POST", CHANNEL, {"content": "x" * 2001}),
    ]
    found = checker.check(requests)
    assert {v.index for v in found} == {1}
    text = report(found, len(requests))
    assert text.splitlines()[0].startswith("2 REST contract violation(s) in 2 request(s)")
    assert f"#1 POST {CHANNEL} /content: content is 2001 characters" in text
    assert f"#1 POST {CHANNEL} /allowed_mentions: " in text


def test_without_the_spec_the_extra_limits_still_apply() -> None:
    checker = ContractChecker(None)
    assert checker.check_one(Record("POST", "/nowhere/1", {"x": 1})) == []
    found = checker.check_one(Record("POST", CHANNEL, {"content": "x" * 2001}))
    assert pointers(found) == ["/content", "/allowed_mentions"]


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("points", True),
        ("포인트", True),
        ("to-do_list", True),
        ("it's", True),
        ("नमस्ते", True),  # Devanagari with combining vowel signs
        ("สวัสดี", True),  # Thai with combining marks
        ("room2", True),
        ("", False),
        ("a" * 33, False),
        ("study room", False),
        ("points!", False),
        ("ポイント・一覧", False),
    ],
)
def test_command_name_pattern(name: str, ok: bool) -> None:
    assert command_name_ok(name) is ok


def test_a_missing_spec_is_an_error_not_a_skip(tmp_path: Path) -> None:
    with pytest.raises(contract.SpecMissing, match=r"SOURCE\.md"):
        contract.load_spec(tmp_path / "openapi.json")
    assert contract.load_spec() is contract.load_spec()  # the vendored one, loaded once

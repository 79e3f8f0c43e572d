"""``/todo`` as members use it: their own list, by day, privately, in their language; bad
input refused with nothing changed; someone else's todo out of reach; the room board told."""

from __future__ import annotations

from typing import Any

import pytest
from simcord.actors import MemberActor
from simcord.builders import ChannelHandle
from sqlalchemy import select

from storage.models import Base, Todo
from tests.support.studio import Studio, Town

LONG = ("@everyone <@123> **spam** " * 90)[:2001]
TRICKY = "@everyone read **ch. 4** _now_ <@&42>"


async def sql_state(studio: Studio) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: equal before and after ⇔ nothing was written."""
    async with studio.bot.services.uow() as uow:
        state: dict[str, list[tuple[Any, ...]]] = {}
        for table in Base.metadata.sorted_tables:
            rows = await uow.session.execute(select(table).order_by(*table.primary_key.columns))
            state[table.name] = [tuple(row) for row in rows]
        return state


async def todos_of(studio: Studio, town: Town, member: MemberActor) -> list[Todo]:
    async with studio.bot.services.uow() as uow:
        rows = await uow.session.scalars(
            select(Todo)
            .where(Todo.guild_id == town.guild.id, Todo.user_id == member.id)
            .order_by(Todo.id)
        )
        return list(rows)


async def add(member: MemberActor, channel: ChannelHandle, text: str, **more: Any) -> str:
    result = await member.slash(channel, "todo add", text=text, **more)
    assert result.ephemeral and result.response is not None
    return result.response.content


async def say(member: MemberActor, channel: ChannelHandle, name: str, **options: Any) -> str:
    """Run a command; return its private reply (asserting it was private)."""
    result = await member.slash(channel, name, **options)
    assert result.ephemeral, f"/{name} answered publicly"
    assert result.response is not None
    return result.response.content


async def korean(member: MemberActor, channel: ChannelHandle) -> None:
    assert "한국어" in await say(member, channel, "settings language", locale="ko")


# -- the happy path ----------------------------------------------------------------------------


async def test_add_list_done_undo_edit_today(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]

    reply = await add(alice, channel, "read ch. 4")
    assert "today (2026-01-01)" in reply and "read ch. 4" in reply
    await add(alice, channel, "  solve 10 problems\u200b ")
    [read, solve] = await todos_of(studio, town, alice)
    assert solve.text == "solve 10 problems"

    listing = await say(alice, channel, "todo list")
    assert listing.splitlines() == [
        "**Todos for today (2026-01-01)** · 0/2 done",
        "1. ⬜ read ch. 4",
        "2. ⬜ solve 10 problems",
    ]

    assert "✅ Done: read ch. 4" in await say(alice, channel, "todo done", item=str(read.id))
    listing = await say(alice, channel, "todo list")
    assert "0/2" not in listing and "· 1/2 done" in listing
    assert "1. ✅ ~~read ch. 4~~" in listing

    # finishing the last one says so
    last = await say(alice, channel, "todo done", item=str(solve.id))
    assert "last one" in last and "/rate" in last

    assert "Not done any more: read ch. 4" in await say(
        alice, channel, "todo undo", item=str(read.id)
    )
    edited = await say(alice, channel, "todo edit", item=str(read.id), text="read ch. 5")
    assert "read ch. 5" in edited
    stored = await todos_of(studio, town, alice)
    assert [(t.text, t.done) for t in stored] == [
        ("read ch. 5", False),
        ("solve 10 problems", True),
    ]


async def test_joiners_inside_todo_text_are_kept(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0646\u0645"  # "I read", with its ZWNJ
    coder = "\U0001f469\u200d\U0001f4bb code review"  # woman, ZWJ, laptop

    assert persian in await add(alice, channel, f"\u200b {persian}\ufeff")
    await add(alice, channel, coder)
    assert [t.text for t in await todos_of(studio, town, alice)] == [persian, coder]

    listing = await say(alice, channel, "todo list")
    assert listing.splitlines()[1:] == [f"1. ⬜ {persian}", f"2. ⬜ {coder}"]
    choices = await alice.autocomplete(channel, "todo done", "item", "\U0001f469\u200d")
    assert [c["name"] for c in choices] == [f"⬜ {coder} · today"]
    assert f"✅ Done: {persian}" in await say(alice, channel, "todo done", item=persian)


async def test_a_given_date_has_its_own_list(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    reply = await add(alice, channel, "mock exam", date="2026-01-05")
    assert "**2026-01-05**" in reply and "today" not in reply
    await add(alice, channel, "today's")

    assert "mock exam" in await say(alice, channel, "todo list", date="2026-01-05")
    assert "mock exam" not in await say(alice, channel, "todo list")
    empty = await say(alice, channel, "todo list", date="2026-01-04")
    assert "No todos for **2026-01-04** yet" in empty and "/todo add" in empty
    [exam, _] = await todos_of(studio, town, alice)
    assert str(exam.day) == "2026-01-05"


async def test_item_typed_instead_of_picked_finds_the_members_own(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    channel, alice, bob = town.general, *town.members
    await add(alice, channel, "Read Ch. 4")
    await add(bob, channel, "bob's plan")
    assert "✅ Done: Read Ch. 4" in await say(alice, channel, "todo done", item="read ch. 4")
    refused = await say(alice, channel, "todo done", item="bob's plan")
    assert refused == "I could not find that todo."


async def test_a_long_list_is_split_not_cut(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    texts = [f"{i:02d} " + "*_" * 98 for i in range(1, 31)]  # 199 chars, twice as long escaped
    for text in texts:
        await add(alice, channel, text)
    result = await alice.slash(channel, "todo list")
    messages = [result.response, *result.followups]
    assert len(messages) > 1
    assert all(m is not None and m.ephemeral and len(m.content) <= 2000 for m in messages)
    shown = "\n".join(m.content for m in messages if m is not None)
    for number, text in enumerate(texts, start=1):
        escaped = text.replace("*", "\\*").replace("_", "\\_")
        assert f"{number}. ⬜ {escaped}" in shown


# -- mentions and markdown -------------------------------------------------------------------


async def test_user_text_pings_nobody_and_keeps_its_characters(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    result = await alice.slash(channel, "todo add", text=TRICKY)
    assert result.response is not None
    message = result.response.message
    assert message.mention_everyone is False
    assert "@everyone" in result.response.content
    assert "\\*\\*ch. 4\\*\\*" in result.response.content  # shown literally, not bold
    [todo] = await todos_of(studio, town, alice)
    assert todo.text == TRICKY  # stored verbatim
    checked = 0
    for request in studio.env.http_requests:
        body = request.json if isinstance(request.json, dict) else {}
        data = body.get("data", body)
        if isinstance(data, dict) and "content" in data:
            assert data.get("allowed_mentions") == {"parse": []}, request
            checked += 1
    assert checked >= 1


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("", "The text cannot be empty."),
        ("   ", "The text cannot be empty."),
        ("\u200b\u200d\ufeff", "The text cannot be empty."),
        (" \u200c \u2060\n", "The text cannot be empty."),
        ("x" * 201, "The text is too long: 201 characters, at most 200."),
        (LONG, "The text is too long: 2001 characters, at most 200."),
    ],
)
async def test_bad_text_is_refused_privately_with_nothing_written(
    studio: Studio, text: str, english: str
) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    await add(alice, channel, "fine")
    [fine] = await todos_of(studio, town, alice)
    before = await sql_state(studio)
    assert await say(alice, channel, "todo add", text=text) == english
    assert await say(alice, channel, "todo edit", item=str(fine.id), text=text) == english
    assert await sql_state(studio) == before


@pytest.mark.parametrize(
    ("text", "korean_text"),
    [
        ("\u200b\u200b", "내용이 비어 있어요."),
        ("x" * 201, "내용이 너무 길어요: 201자, 최대 200자예요."),
        (LONG, "내용이 너무 길어요: 2001자, 최대 200자예요."),
    ],
)
async def test_bad_text_is_refused_in_korean(studio: Studio, text: str, korean_text: str) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    await korean(alice, channel)
    before = await sql_state(studio)
    assert await say(alice, channel, "todo add", text=text) == korean_text
    assert await sql_state(studio) == before


@pytest.mark.parametrize(
    ("day", "english", "korean_text"),
    [
        ("2026-02-30", "The date is not a real date.", "날짜가 실제로 없는 날짜예요."),
        ("01/05/2026", "The date must look like YYYY-MM-DD.", "YYYY-MM-DD 형식"),
        ("tomorrow", "The date must look like YYYY-MM-DD.", "YYYY-MM-DD 형식"),
        ("2027-01-03", "The date is too far from today", "너무 멀어요"),  # 367 days ahead
        ("9999-12-31", "The date is too far from today", "너무 멀어요"),
    ],
)
async def test_bad_dates_are_refused_in_the_members_language(
    studio: Studio, day: str, english: str, korean_text: str
) -> None:
    town = studio.guild("alice", "bob")
    channel, alice, bob = town.general, *town.members
    await korean(bob, channel)
    before = await sql_state(studio)
    assert english in await say(alice, channel, "todo add", text="plan", date=day)
    assert english in await say(alice, channel, "todo list", date=day)
    assert korean_text in await say(bob, channel, "todo add", text="계획", date=day)
    assert korean_text in await say(bob, channel, "todo list", date=day)
    assert await sql_state(studio) == before


async def test_the_fifty_first_todo_of_a_day_is_refused(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    for i in range(50):
        await add(alice, channel, f"task {i + 1}")
    before = await sql_state(studio)
    assert await say(alice, channel, "todo add", text="one more") == (
        "Too many todos for one day: at most 50."
    )
    assert await sql_state(studio) == before
    assert "tomorrow" in await add(alice, channel, "tomorrow", date="2026-01-02")


async def test_ticking_twice_or_undoing_an_open_todo_is_explained(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    await add(alice, channel, "read")
    [read] = await todos_of(studio, town, alice)
    assert await say(alice, channel, "todo undo", item=str(read.id)) == (
        "That todo is not ticked, so there is nothing to undo."
    )
    await say(alice, channel, "todo done", item=str(read.id))
    before = await sql_state(studio)
    assert await say(alice, channel, "todo done", item=str(read.id)) == (
        "That todo is already ticked off."
    )
    await korean(alice, channel)
    assert await say(alice, channel, "todo done", item=str(read.id)) == "이미 완료한 할 일이에요."
    before["members"] = (await sql_state(studio))["members"]  # only the language changed
    assert await sql_state(studio) == before


async def test_someone_elses_todo_cannot_be_seen_or_touched(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    channel, alice, bob = town.general, *town.members
    await add(alice, channel, "Alice's secret plan")
    await add(bob, channel, "Bob's own")
    [secret] = await todos_of(studio, town, alice)
    before = await sql_state(studio)

    item = str(secret.id)
    for name, extra in (
        ("todo done", {}),
        ("todo undo", {}),
        ("todo edit", {"text": "defaced"}),
        ("todo remove", {}),
    ):
        result = await bob.slash(channel, name, item=item, **extra)
        assert result.ephemeral and result.response is not None
        assert result.response.content == "I could not find that todo.", name
        assert not result.response.components  # no confirmation offered
    assert "Alice" not in await say(bob, channel, "todo list")
    await korean(bob, channel)
    assert await say(bob, channel, "todo done", item=item) == "할 일을 찾을 수 없어요."
    before["members"] = (await sql_state(studio))["members"]
    assert await sql_state(studio) == before
    [still] = await todos_of(studio, town, alice)
    assert (still.text, still.done) == ("Alice's secret plan", False)


# -- autocomplete ------------------------------------------------------------------------------


async def test_item_autocompletes_from_the_members_own_todos_only(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    channel, alice, bob = town.general, *town.members
    await add(alice, channel, "read ch. 4")
    await add(alice, channel, "re-read notes", date="2026-01-03")
    await add(alice, channel, "write " + "w" * 194)  # 200 characters
    await add(bob, channel, "read Bob's book")
    mine = await todos_of(studio, town, alice)
    ids = {str(t.id) for t in mine}

    choices = await alice.autocomplete(channel, "todo edit", "item", "")
    assert {c["value"] for c in choices} == ids
    assert choices[0]["name"] == "⬜ read ch. 4 · today"  # today's first
    labels = {c["value"]: c["name"] for c in choices}
    long_label = labels[str(mine[2].id)]
    assert len(long_label) <= 100 and "…" in long_label and long_label.endswith("· today")
    assert labels[str(mine[1].id)] == "⬜ re-read notes · 2026-01-03"
    # the data is never shortened
    assert mine[2].text == "write " + "w" * 194

    found = await alice.autocomplete(channel, "todo remove", "item", "READ")
    assert [c["value"] for c in found] == [str(mine[0].id), str(mine[1].id)]
    assert await alice.autocomplete(channel, "todo done", "item", "Bob") == []
    bobs = await bob.autocomplete(channel, "todo done", "item", "")
    assert [c["name"] for c in bobs] == ["⬜ read Bob's book · today"]

    # done offers open todos, undo ticked ones
    await say(alice, channel, "todo done", item=str(mine[0].id))
    done_choices = await alice.autocomplete(channel, "todo done", "item", "")
    assert str(mine[0].id) not in {c["value"] for c in done_choices}
    undo_choices = await alice.autocomplete(channel, "todo undo", "item", "")
    assert [c["name"] for c in undo_choices] == ["✅ read ch. 4 · today"]


async def test_autocomplete_offers_at_most_25(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    for i in range(30):
        await add(alice, channel, f"task {i + 1}")
    choices = await alice.autocomplete(channel, "todo done", "item", "task")
    assert len(choices) == 25
    assert choices[0]["name"] == "⬜ task 1 · today"


async def test_autocomplete_labels_follow_the_members_language(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    await add(alice, channel, "read")
    await korean(alice, channel)
    [choice] = await alice.autocomplete(channel, "todo done", "item", "")
    assert choice["name"] == "⬜ read · 오늘"


# -- remove asks first -------------------------------------------------------------------------


async def test_remove_asks_and_removes_only_on_confirm(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    await add(alice, channel, "keep me")
    await add(alice, channel, "drop me")
    [keep, drop] = await todos_of(studio, town, alice)

    asked = await alice.slash(channel, "todo remove", item=str(keep.id))
    assert asked.ephemeral and asked.response is not None
    assert "for good?" in asked.response.content and "keep me" in asked.response.content
    [row] = asked.response.components
    buttons = [(b["label"], b["style"]) for b in row["components"]]
    assert buttons == [("Remove", 4), ("Keep it", 2)]  # danger, then secondary
    before = await sql_state(studio)
    kept = await alice.click(asked.response, label="Keep it")
    assert kept.acknowledged
    assert asked.response.content == "Kept: keep me"
    assert asked.response.components == []
    assert await sql_state(studio) == before

    asked = await alice.slash(channel, "todo remove", item=str(drop.id))
    assert asked.response is not None
    await alice.click(asked.response, label="Remove")
    assert asked.response.content == "🗑️ Removed: drop me"
    assert [t.id for t in await todos_of(studio, town, alice)] == [keep.id]


async def test_remove_without_an_answer_removes_nothing(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    await add(alice, channel, "maybe")
    [maybe] = await todos_of(studio, town, alice)
    asked = await alice.slash(channel, "todo remove", item=str(maybe.id))
    assert asked.response is not None
    await studio.advance(121)
    assert asked.response.content == "No answer, so nothing was removed: maybe"
    assert asked.response.components == []
    assert [t.id for t in await todos_of(studio, town, alice)] == [maybe.id]


async def test_remove_confirmation_in_korean(studio: Studio) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    await add(alice, channel, "지울 일")
    [todo] = await todos_of(studio, town, alice)
    await korean(alice, channel)
    asked = await alice.slash(channel, "todo remove", item=str(todo.id))
    assert asked.response is not None
    assert "완전히 지울까요?" in asked.response.content
    await alice.click(asked.response, label="삭제")
    assert asked.response.content == "🗑️ 지웠어요: 지울 일"
    assert await todos_of(studio, town, alice) == []


async def test_confirming_a_removal_of_an_already_removed_todo_is_explained(
    studio: Studio,
) -> None:
    town = studio.guild("alice")
    channel, alice = town.general, town.members[0]
    await add(alice, channel, "twice")
    [todo] = await todos_of(studio, town, alice)
    first = await alice.slash(channel, "todo remove", item=str(todo.id))
    second = await alice.slash(channel, "todo remove", item=str(todo.id))
    assert first.response is not None and second.response is not None
    await alice.click(first.response, label="Remove")
    again = await alice.click(second.response, label="Remove")
    assert [m.content for m in again.followups] == ["I could not find that todo."]
    assert second.response.components == []


# -- the room board ----------------------------------------------------------------------------


async def room_for(studio: Studio, town: Town, owner: MemberActor, title: str) -> ChannelHandle:
    """A study room owned by ``owner`` with its text channel (the services' way: what
    ``/room create`` does, without depending on that command)."""
    services = studio.bot.services
    room = await services.rooms.create(town.guild.id, owner.id, title, 50, 10, 4)
    channel = town.guild.create_text_channel(title.lower().replace(" ", "-"))
    await services.rooms.attach_channels(room.id, channel.id, None)
    return channel


async def test_ticking_a_todo_in_a_room_tells_the_board(studio: Studio) -> None:
    town = studio.guild("alice", "bob")
    general, alice, bob = town.general, *town.members
    board = await room_for(studio, town, alice, "Morning grind")
    await add(alice, general, TRICKY)
    await add(bob, general, "Bob's own")
    [todo] = await todos_of(studio, town, alice)
    [bobs] = await todos_of(studio, town, bob)
    before = len(board.history())

    await say(alice, general, "todo done", item=str(todo.id))
    line = board.last_message
    assert line is not None
    assert line.content == (
        "**alice** completed *@everyone read \\*\\*ch. 4\\*\\* \\_now\\_ <@&42>*"
    )
    assert line.mention_everyone is False and line.role_mentions == []
    assert len(board.history()) == before + 1

    # not in a room: no board line anywhere
    await say(bob, general, "todo done", item=str(bobs.id))
    assert len(board.history()) == before + 1
    # undo says nothing on the board; ticking again is a new completion
    await say(alice, general, "todo undo", item=str(todo.id))
    assert len(board.history()) == before + 1
    await say(alice, general, "todo done", item=str(todo.id))
    assert len(board.history()) == before + 2


async def test_board_lines_are_in_the_guilds_language_not_the_members(studio: Studio) -> None:
    town = studio.guild("alice")
    general, alice = town.general, town.members[0]
    board = await room_for(studio, town, alice, "Quiet")
    await korean(alice, general)
    await add(alice, general, "영어 단어 50개")
    [todo] = await todos_of(studio, town, alice)
    reply = await say(alice, general, "todo done", item=str(todo.id))
    assert reply.startswith("✅ 완료")
    assert board.last_message is not None
    assert board.last_message.content == "**alice** completed *영어 단어 50개*"

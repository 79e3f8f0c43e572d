"""Todos and day ratings, each member's own, on days of the member's time zone.

A member can only ever see or touch their own todos: every lookup is scoped by guild and
user, so another member's todo id is simply "not found". Todos and ratings leave here as
values (``TodoItem``, ``DayRating``), never as database rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain import todos as rules
from bot.domain.errors import AlreadyDone, NotFound
from bot.domain.rooms import clean_text
from bot.domain.todos import DayRating, TodoItem
from bot.services.base import SqlService
from bot.services.board import COMPLETED, BoardLines, Line, owe_line
from bot.services.events import TodoCompleted, TodoListener
from bot.services.members import member_zone
from bot.services.points import ensure_member
from bot.services.settings import ServiceSettings
from storage.models import Rating, Todo
from storage.uow import UnitOfWork, UnitOfWorkFactory

SEARCH_POOL = 200  # todos looked at to pick the (at most 25) closest to today


class TodoAlreadyDone(AlreadyDone):
    """Ticking a todo that is ticked already."""

    code = "error.todo.already_done"


class TodoNotDone(AlreadyDone):
    """Unticking a todo that is not ticked (nothing to undo)."""

    code = "error.todo.not_done"


def item_of(todo: Todo) -> TodoItem:
    return TodoItem(
        id=todo.id,
        guild_id=todo.guild_id,
        user_id=todo.user_id,
        day=todo.day,
        text=todo.text,
        done=todo.done,
        done_ms=todo.done_ms,
        position=todo.position,
        created_ms=todo.created_ms,
    )


def rating_of(rating: Rating) -> DayRating:
    return DayRating(
        guild_id=rating.guild_id,
        user_id=rating.user_id,
        day=rating.day,
        score=rating.score,
        updated_ms=rating.updated_ms,
    )


@dataclass(frozen=True, slots=True)
class DayTodos:
    day: date
    todos: tuple[TodoItem, ...]

    @property
    def done(self) -> int:
        return sum(1 for t in self.todos if t.done)


class TodoService(SqlService):
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        settings: ServiceSettings,
        listener: TodoListener,
        board: BoardLines | None = None,
    ) -> None:
        super().__init__(uow_factory, clock, settings)
        self._listener = listener
        self._board = board

    async def _zone(self, uow: UnitOfWork, guild_id: int, user_id: int) -> ZoneInfo:
        return await member_zone(
            uow, guild_id, user_id, self._settings.for_guild(guild_id).default_timezone
        )

    async def _day(self, uow: UnitOfWork, guild_id: int, user_id: int, text: str | None) -> date:
        return rules.parse_day(text, await self._zone(uow, guild_id, user_id), self._clock.now_ms())

    async def _owned(self, uow: UnitOfWork, guild_id: int, user_id: int, todo_id: int) -> Todo:
        todo = await uow.todos.get_owned(guild_id, user_id, todo_id)
        if todo is None:
            raise NotFound("todo")
        return todo

    async def add(self, guild_id: int, user_id: int, text: str, day: str | None = None) -> TodoItem:
        clean = rules.validate_todo_text(text)
        now = self._clock.now_ms()
        async with self._uow() as uow:
            await ensure_member(
                uow, guild_id, user_id, now, self._settings.for_guild(guild_id).signup_bonus
            )
            on = await self._day(uow, guild_id, user_id, day)
            count = await uow.todos.count_for_day(guild_id, user_id, on)
            rules.check_todo_count(count)
            todo = await uow.todos.add(
                guild_id=guild_id,
                user_id=user_id,
                day=on,
                text=clean,
                created_ms=now,
            )
            await uow.commit()
            return item_of(todo)

    async def for_day(self, guild_id: int, user_id: int, day: str | None = None) -> DayTodos:
        async with self._uow() as uow:
            on = await self._day(uow, guild_id, user_id, day)
            rows = await uow.todos.for_day(guild_id, user_id, on)
            return DayTodos(on, tuple(item_of(todo) for todo in rows))

    async def done(
        self, guild_id: int, user_id: int, todo_id: int, name: str | None = None
    ) -> TodoItem:
        """Tick the todo; the board of every open room the member is in owes the line
        that says so (in the member's ``name``), recorded with the tick."""
        now = self._clock.now_ms()
        async with self._uow() as uow:
            todo = await self._owned(uow, guild_id, user_id, todo_id)
            if todo.done:
                raise TodoAlreadyDone()
            todo.done = True
            todo.done_ms = now
            rooms = await uow.rooms.rooms_of_member(guild_id, user_id)
            words = {"text": todo.text} | ({"name": name} if name is not None else {})
            lines = [
                await owe_line(uow, guild_id, r.id, user_id, Line(COMPLETED, words), now)
                for r in rooms
            ]
            await uow.commit()
            item = item_of(todo)
        if self._board is not None:
            await self._board.deliver(lines)
        await self._listener.on_todo_completed(
            TodoCompleted(guild_id, user_id, item.id, item.text, tuple(r.id for r in rooms))
        )
        return item

    async def undo(self, guild_id: int, user_id: int, todo_id: int) -> TodoItem:
        async with self._uow() as uow:
            todo = await self._owned(uow, guild_id, user_id, todo_id)
            if not todo.done:
                raise TodoNotDone()
            todo.done = False
            todo.done_ms = None
            await uow.commit()
            return item_of(todo)

    async def edit(self, guild_id: int, user_id: int, todo_id: int, text: str) -> TodoItem:
        clean = rules.validate_todo_text(text)
        async with self._uow() as uow:
            todo = await self._owned(uow, guild_id, user_id, todo_id)
            todo.text = clean
            await uow.commit()
            return item_of(todo)

    async def remove(self, guild_id: int, user_id: int, todo_id: int) -> TodoItem:
        """The removed todo, as it was."""
        async with self._uow() as uow:
            todo = await self._owned(uow, guild_id, user_id, todo_id)
            item = item_of(todo)
            await uow.todos.delete(todo)
            await uow.commit()
            return item

    async def get(self, guild_id: int, user_id: int, todo_id: int) -> TodoItem:
        """The member's own todo (another member's is not found)."""
        async with self._uow() as uow:
            return item_of(await self._owned(uow, guild_id, user_id, todo_id))

    async def search(
        self, guild_id: int, user_id: int, prefix: str, limit: int = 25
    ) -> list[TodoItem]:
        """The member's own todos matching ``prefix`` (for autocomplete)."""
        async with self._uow() as uow:
            rows = await uow.todos.search(guild_id, user_id, prefix, limit=limit)
            return [item_of(todo) for todo in rows]

    async def choices(
        self,
        guild_id: int,
        user_id: int,
        typed: str,
        *,
        done: bool | None = None,
        limit: int = 25,
    ) -> tuple[date, list[TodoItem]]:
        """The member's own todos containing ``typed`` for an ``item`` option: today's first,
        then the days nearest to today, in list order; ``done`` narrows to ticked (True) or
        open (False) ones. Also returns the member's today, for labelling."""
        async with self._uow() as uow:
            today = await self._day(uow, guild_id, user_id, None)
            pool = await uow.todos.search(
                guild_id, user_id, typed.strip(), limit=SEARCH_POOL, done=done
            )
        pool.sort(key=lambda t: (abs((t.day - today).days), t.day < today, t.position, t.id))
        return today, [item_of(todo) for todo in pool[:limit]]

    async def find_by_text(self, guild_id: int, user_id: int, text: str) -> TodoItem:
        """The member's todo whose text is exactly ``text`` (ignoring case), the one nearest
        to today if several: what a member who typed instead of picking a choice meant."""
        typed = clean_text(text)
        if not typed:
            raise NotFound("todo")
        _, candidates = await self.choices(guild_id, user_id, typed, limit=SEARCH_POOL)
        for todo in candidates:
            if todo.text.casefold() == typed.casefold():
                return todo
        raise NotFound("todo")

    async def rate(
        self, guild_id: int, user_id: int, score: int, day: str | None = None
    ) -> DayRating:
        score = rules.validate_score(score)
        now = self._clock.now_ms()
        async with self._uow() as uow:
            await ensure_member(
                uow, guild_id, user_id, now, self._settings.for_guild(guild_id).signup_bonus
            )
            on = await self._day(uow, guild_id, user_id, day)
            rating = await uow.ratings.upsert(guild_id, user_id, on, score, now)
            await uow.commit()
            return rating_of(rating)

    async def today(self, guild_id: int, user_id: int) -> date:
        async with self._uow() as uow:
            return await self._day(uow, guild_id, user_id, None)

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from storage.models import Todo
from storage.repos.base import Repository


class TodoRepository(Repository):
    async def add(
        self,
        guild_id: int,
        user_id: int,
        day: date,
        text: str,
        created_ms: int,
        position: int | None = None,
    ) -> Todo:
        """A todo on the member's list for ``day`` (flushed); without ``position`` it goes
        after the last one."""
        if position is None:
            last = select(func.coalesce(func.max(Todo.position), 0)).where(
                Todo.guild_id == guild_id, Todo.user_id == user_id, Todo.day == day
            )
            position = int((await self.session.execute(last)).scalar_one()) + 1
        todo = Todo(
            guild_id=guild_id,
            user_id=user_id,
            day=day,
            text=text,
            done=False,
            position=position,
            created_ms=created_ms,
        )
        self.session.add(todo)
        await self.session.flush()
        return todo

    async def get_owned(self, guild_id: int, user_id: int, todo_id: int) -> Todo | None:
        """The todo if it belongs to this member in this guild, else None."""
        stmt = select(Todo).where(
            Todo.id == todo_id, Todo.guild_id == guild_id, Todo.user_id == user_id
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def for_day(self, guild_id: int, user_id: int, day: date) -> list[Todo]:
        stmt = (
            select(Todo)
            .where(Todo.guild_id == guild_id, Todo.user_id == user_id, Todo.day == day)
            .order_by(Todo.position, Todo.id)
        )
        return list(await self.session.scalars(stmt))

    async def count_for_day(self, guild_id: int, user_id: int, day: date) -> int:
        stmt = (
            select(func.count())
            .select_from(Todo)
            .where(Todo.guild_id == guild_id, Todo.user_id == user_id, Todo.day == day)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def search(
        self,
        guild_id: int,
        user_id: int,
        prefix: str,
        limit: int = 25,
        *,
        day: date | None = None,
        done: bool | None = None,
    ) -> list[Todo]:
        """The member's todos whose text contains ``prefix`` (case-insensitive; empty matches
        all), latest day first, for autocomplete. ``day``/``done`` narrow it further."""
        stmt = select(Todo).where(Todo.guild_id == guild_id, Todo.user_id == user_id)
        if prefix:
            # casefolded here: the databases' own case folding is ASCII-only on SQLite
            stmt = stmt.where(Todo.text_key.contains(prefix.casefold(), autoescape=True))
        if day is not None:
            stmt = stmt.where(Todo.day == day)
        if done is not None:
            stmt = stmt.where(Todo.done == done)
        stmt = stmt.order_by(Todo.day.desc(), Todo.position, Todo.id).limit(limit)
        return list(await self.session.scalars(stmt))

    async def done_counts(
        self, guild_id: int, user_id: int, first_day: date, last_day: date
    ) -> dict[date, int]:
        """Per day (inclusive range, days with none left out): how many todos are done."""
        stmt = (
            select(Todo.day, func.count())
            .where(
                Todo.guild_id == guild_id,
                Todo.user_id == user_id,
                Todo.day >= first_day,
                Todo.day <= last_day,
                Todo.done,
            )
            .group_by(Todo.day)
        )
        return {day: int(n) for day, n in (await self.session.execute(stmt)).all()}

    async def delete(self, todo: Todo) -> None:
        await self.session.delete(todo)
        await self.session.flush()

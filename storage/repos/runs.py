from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from bot.domain.run import RunStatus
from storage.models import AlarmDismissal, Room, Run, RunResult
from storage.repos.base import Repository


class RunRepository(Repository):
    async def add(
        self,
        *,
        room_id: int,
        run_no: int,
        study_ms: int,
        break_ms: int,
        terms: int,
        started_ms: int,
        status: RunStatus = RunStatus.RUNNING,
    ) -> Run:
        """A new run, running by default (flushed). A second running run in one room raises
        ``sqlalchemy.exc.IntegrityError``."""
        run = Run(
            room_id=room_id,
            run_no=run_no,
            study_ms=study_ms,
            break_ms=break_ms,
            terms=terms,
            started_ms=started_ms,
            status=str(status),
        )
        self.session.add(run)
        await self.session.flush()
        return run

    async def get(self, run_id: int) -> Run | None:
        return await self.session.get(Run, run_id)

    async def get_for_update(self, run_id: int) -> Run | None:
        """The run, re-read and locked until the end of the transaction (PostgreSQL
        ``FOR UPDATE``; SQLite transactions hold the write lock already)."""
        stmt = (
            select(Run)
            .where(Run.id == run_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def current(self, room_id: int) -> Run | None:
        """The room's running run, if any."""
        stmt = select(Run).where(Run.room_id == room_id, Run.status == RunStatus.RUNNING.value)
        return (await self.session.scalars(stmt)).one_or_none()

    async def last_run_no(self, room_id: int) -> int:
        """The highest run number of the room; 0 before its first run."""
        stmt = select(func.coalesce(func.max(Run.run_no), 0)).where(Run.room_id == room_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def finish(self, run: Run, status: RunStatus, now_ms: int) -> None:
        """End the run as ``finished`` or ``stopped``."""
        if status not in (RunStatus.FINISHED, RunStatus.STOPPED):
            raise ValueError(f"a run ends as finished or stopped, not {status!r}")
        run.status = str(status)
        run.ended_ms = now_ms
        await self.session.flush()

    async def add_results(self, results: Iterable[RunResult]) -> None:
        self.session.add_all(list(results))
        await self.session.flush()

    async def results(self, run_id: int) -> list[RunResult]:
        stmt = select(RunResult).where(RunResult.run_id == run_id).order_by(RunResult.user_id)
        return list(await self.session.scalars(stmt))

    async def add_dismissals(self, dismissals: Iterable[AlarmDismissal]) -> None:
        """Record dismissals; one already recorded for (run, boundary, user) is kept (the
        first wins), so replaying is harmless."""
        rows = [
            {
                "run_id": d.run_id,
                "boundary": d.boundary,
                "user_id": d.user_id,
                "dismissed_ms": d.dismissed_ms,
                "on_time": d.on_time,
            }
            for d in dismissals
        ]
        if not rows:
            return
        await self.session.flush()
        stmt = self.insert(AlarmDismissal).on_conflict_do_nothing(
            index_elements=["run_id", "boundary", "user_id"]
        )
        await self.session.execute(stmt, rows)

    async def dismissals(self, run_id: int) -> list[AlarmDismissal]:
        stmt = (
            select(AlarmDismissal)
            .where(AlarmDismissal.run_id == run_id)
            .order_by(AlarmDismissal.boundary, AlarmDismissal.user_id)
        )
        return list(await self.session.scalars(stmt))

    async def kings_count(self, guild_id: int, user_id: int) -> int:
        """How many runs in the guild the user finished as a study king."""
        stmt = (
            select(func.count())
            .select_from(RunResult)
            .join(Run, Run.id == RunResult.run_id)
            .join(Room, Room.id == Run.room_id)
            .where(
                Room.guild_id == guild_id,
                RunResult.user_id == user_id,
                RunResult.is_king,
            )
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def kings_leaderboard(
        self,
        guild_id: int,
        limit: int = 10,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> list[tuple[int, int]]:
        """``(user_id, kings)`` of the guild, most first (ties by user id); only runs
        started in ``[since_ms, until_ms)`` count (either end open when None), so a past
        period never counts titles won after it ended."""
        kings = func.count().label("kings")
        stmt = (
            select(RunResult.user_id, kings)
            .join(Run, Run.id == RunResult.run_id)
            .join(Room, Room.id == Run.room_id)
            .where(Room.guild_id == guild_id, RunResult.is_king)
            .group_by(RunResult.user_id)
            .order_by(kings.desc(), RunResult.user_id)
            .limit(limit)
        )
        if since_ms is not None:
            stmt = stmt.where(Run.started_ms >= since_ms)
        if until_ms is not None:
            stmt = stmt.where(Run.started_ms < until_ms)
        return [(int(u), int(k)) for u, k in (await self.session.execute(stmt)).all()]

"""The end of a run: kings, refunds and results settled once in SQL, then announced."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.alarms import MemberSpan, is_on_time, run_results
from bot.domain.run import Run, RunOutcome, RunStatus
from bot.services.points import refund_in
from bot.services.settings import ServiceSettings
from bot.services.timer.common import ANOTHER_PROCESS
from bot.services.timer.outbox import Announcements
from storage.models import AlarmDismissal, RunResult
from storage.session.base import RoomKey, SessionStore
from storage.uow import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class RunEnd:
    _uow: UnitOfWorkFactory
    _store: SessionStore
    _settings: ServiceSettings
    _outbox: Announcements
    _token: str

    async def finish(self, key: RoomKey, run: Run, now: int) -> Run:
        """Kings, refunds and results in one transaction, settled once under the run's row
        lock: a wake-up after a crash (at any step) finds them settled, or settles them, and
        reads the same outcome. Then the results are owed, and announced once."""
        vote_ms = self._settings.for_guild(key.guild_id).vote_ms
        outcome = await self._settle(key, run, now)
        # the claim and the announcement it makes owed are one write: no crash can leave the
        # end claimed with its announcement recorded nowhere. Another process that claimed
        # it owes it, and it is taken over after the lease if it never comes; its run, which
        # records that, is read and never written over.
        won = run.finish(outcome, self._token, now, vote_ms)
        if await self._store.claim_and_put_run(key, f"finish:{run.run_id}", won):
            finished = won
        else:
            stored = await self._store.get_run(key)
            finished = stored or run.finish(outcome, ANOTHER_PROCESS, now, vote_ms)
        if finished.owed_results is not None and finished.owed_results.by == self._token:
            return await self._outbox.deliver_results(key, finished)
        return finished

    async def _settle(self, key: RoomKey, run: Run, now: int) -> RunOutcome:
        dismissals = await self._store.get_dismissals(key, run.run_id)
        bounds = run.timer.boundaries()
        # the server's grace as it is at the end: every alarm of the run is judged with it
        grace_s = self._settings.for_guild(key.guild_id).alarm_grace_seconds
        refunds: dict[int, int] = {}
        async with self._uow() as uow:
            row = await uow.runs.get_for_update(run.run_id)
            settled = row is not None and row.status == RunStatus.FINISHED.value
            started = run.timer.started_at_ms
            # the stays of this run: not ended before it began, and not a join that was taken
            # back at once (zero length, its payment already returned)
            stays = [
                m
                for m in await uow.rooms.memberships(key.room_id)
                if (m.left_ms is None or m.left_ms > started) and m.left_ms != m.joined_ms
            ]
            spans: dict[int, list[MemberSpan]] = {}
            for m in stays:
                spans.setdefault(m.user_id, []).append(
                    MemberSpan(m.user_id, m.joined_ms, m.left_ms)
                )
            results = run_results(bounds, spans, dismissals, grace_s, run.reached)
            rows: list[RunResult] = []
            for result in results:
                user_id = result.user_id
                refund_id: int | None = None
                if result.is_king:
                    # every payment for a stay of this run (a rejoin paid again), each once:
                    # a refund already paid is found by its key, not paid again; this run
                    # announces the refunds it paid (a settling repeated after a crash
                    # included), not those an earlier run of the same stay paid
                    paid = [
                        m.payment_entry_id
                        for m in stays
                        if m.user_id == user_id and m.payment_entry_id is not None
                    ]
                    reference = f"run:{run.run_id}"
                    for payment_id in paid:
                        entry = await refund_in(uow, payment_id, reference, now)
                        refund_id = entry.id
                        if entry.reference.startswith(reference + ";"):
                            refunds[user_id] = refunds.get(user_id, 0) + entry.amount
                rows.append(
                    RunResult(
                        run_id=run.run_id,
                        user_id=user_id,
                        alarms=result.alarms,
                        dismissed=result.dismissed,
                        on_time=result.on_time,
                        is_king=result.is_king,
                        refund_entry_id=refund_id,
                    )
                )
            if not settled:
                await uow.runs.add_results(rows)
                await uow.runs.add_dismissals(
                    AlarmDismissal(
                        run_id=run.run_id,
                        boundary=boundary,
                        user_id=user_id,
                        dismissed_ms=at,
                        on_time=is_on_time(run.rang_at(bounds[boundary - 1]), at, grace_s),
                    )
                    for (boundary, user_id), at in dismissals.items()
                    if 1 <= boundary <= len(bounds)
                )
                if row is not None:
                    await uow.runs.finish(row, RunStatus.FINISHED, now)
            await uow.commit()
        kings = tuple(sorted(r.user_id for r in results if r.is_king))
        return RunOutcome(kings, tuple(results), refunds)

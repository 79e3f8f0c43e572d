"""Every crash point of a run, enumerated: is anything lost or doubled when the bot dies there?

A scripted room is played in SimCord: three members make and join it, the owner starts the
timer, alarms are dismissed by button and by ⏰, the owner pauses, resumes and skips, the run
ends (kings, refunds, ratings), a member extends the room, the second run ends and, nobody
extending it, the room closes. The script is first played crash-free, recording every write
the bot makes, in order: each session-store write, each SQL commit and each REST call that
reaches the simulated Discord (reads are not writes). With N writes there are 2N crash
points: just before write k, and just after it.

For each point the script is played again from nothing. At write k the process dies as a
SIGKILL would kill it: that write fails (or is made, for "after"), and from then on every
write of that process fails; its tasks are cancelled, its connections dropped; nothing is
unloaded or shut down. A fresh bot starts at once on the same SQLite file (or PostgreSQL
database), the same session store and the same simulated Discord, and the script goes on.

A member action during which the process died is done again after the restart when the
member did not see it done, as a member would: a command or button nobody answered is used
again; a ⏰ reaction (which nobody answers) is taken off and put back; a skip is done again
only when neither its answer nor the alarm it makes fall has appeared. An action the member
saw done is not repeated.

At the end every invariant is checked against the crash-free run: each alarm posted exactly
once, each results announcement once, each refund paid once and the same refunds, the
balances, the kings and the ratings those of the crash-free run, and no room, channel, live
run, owed cleanup or owed board line left behind, and every board line of the crash-free
run posted as often as there (never lost, never doubled). A crash point breaking one is a
violation.

    python -m bench.crash_points [--backend sqlite|postgres] [--only NAME ...]

prints ``points`` (crash points covered) and ``violations`` (target 0), JSON last line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import discord
import simcord
import time_machine
from simcord import _runtime as sim_runtime
from simcord.actors import MemberActor
from simcord.builders import ChannelHandle, GuildHandle
from simcord.http import router as sim_router
from simcord.results import InteractionResult
from sqlalchemy import event, text

from bench.common import report
from bot import wiring
from bot.app import StudyOnBot, create_bot
from bot.config import Config, parse_config
from bot.simulation import frozen_wall_clock, repeated_posts
from storage import db as storage_db
from storage.db import dispose
from storage.session.embedded import EmbeddedSessionStore
from storage.session.redis_store import RedisSessionStore
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

POSTGRES_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
POSTGRES_DATABASE = "crash_bench"
REDIS_URL = "redis://127.0.0.1:6379/13"  # a database number no test uses

TITLE = "Crash course"
STUDY_MIN, BREAK_MIN, TERMS = 2, 1, 2
VOTE_S = 60
# SimCord waits, in real time, for a bot timer due within its settle timeout of virtual time
# (and then fires it, moving the clock): the bot's 5-second retries after a restart would
# stall every play and drift its clock. Shorter than those, and ample for real work.
SETTLE_S = 4.0
ALARM = "⏰"
# the session store's writes (each is one atomic step of the store)
STORE_WRITES = (
    "put_run",
    "replace_run",
    "delete_run",
    "claim",
    "claim_and_put_run",
    "add_dismissal",
    "add_member",
    "remove_member",
    "put_alarm_message",
    "put_results_message",
    "put_card_digest",
    "put_voice_sessions",
    "close_voice_sessions",
    "put_alive",
    "drop_room",
)
_ID = re.compile(r"\d{5,}")


class Crash(BaseException):
    """The process died here. A ``BaseException``: nothing the bot catches as an error
    survives it, as nothing survives a SIGKILL."""


# -- recording every write, and dying at one ------------------------------------------------


@dataclass(frozen=True, slots=True)
class CrashPoint:
    write: int  # the k-th write of the run, from 1
    after: bool  # the write is made, then the process dies (else it dies instead)

    def name(self, label: str) -> str:
        return f"{'after' if self.after else 'before'}#{self.write}:{label}"


@dataclass
class Recorder:
    """Counts the bot's writes once armed, and kills the process at ``crash_at``."""

    crash_at: CrashPoint | None = None
    armed: bool = False
    labels: list[str] = field(default_factory=list)
    crashed: bool = False  # the crash happened (the process is dead until recovered)
    dead_owners: list[object] = field(default_factory=list)  # stores and engines of the dead
    dead_generations: set[int] = field(default_factory=set)
    env: simcord.Env | None = None
    # every database connection opened, with its engine: a killed process's are cut
    connections: list[tuple[object, Any]] = field(default_factory=list)

    async def cut_connections(self, engine: object) -> None:
        """What the operating system does to a killed process's database connections: they
        close, and the database rolls back what they had not committed (and frees its
        locks). The pool is not asked: connections checked out by cancelled tasks count."""
        kept = []
        for owner, dbapi_connection in self.connections:
            if owner is not engine:
                kept.append((owner, dbapi_connection))
                continue
            driver = getattr(dbapi_connection, "driver_connection", None)
            with contextlib.suppress(BaseException):
                if isinstance(driver, aiosqlite.Connection):
                    await driver.close()
                elif driver is not None and hasattr(driver, "terminate"):
                    driver.terminate()  # asyncpg: the socket is closed at once
        self.connections = kept

    def _dead(self, owner: object) -> bool:
        return any(owner is d for d in self.dead_owners)

    def _count(self, label: str) -> CrashPoint | None:
        """Record a write; the crash point it is, if it is the armed one."""
        if not self.armed or self.crashed:
            return None
        self.labels.append(label)
        at = self.crash_at
        return at if at is not None and at.write == len(self.labels) else None

    def die(self) -> None:
        """The process is killed now: its store, its engine and its REST calls fail."""
        self.crashed = True
        assert self.env is not None
        bot = self.env.bot
        services = getattr(bot, "_services", None)
        if services is not None:
            self.dead_owners += [services.store, services.engine]
        self.dead_generations.add(self.env._generation)

    async def write(self, owner: object, label: str, do: Callable[[], Awaitable[Any]]) -> Any:
        if self._dead(owner):
            raise Crash(label)
        point = self._count(label)
        if point is not None and not point.after:
            self.die()
            raise Crash(label)
        result = await do()
        if point is not None:
            self.die()
            raise Crash(label)
        return result

    def rest_dead(self) -> bool:
        scope = sim_runtime._BOT_SCOPE.get()
        return scope is not None and scope[1] in self.dead_generations

    def rest(self, method: str, path: str, do: Callable[[], Any]) -> Any:
        if self.rest_dead():
            raise Crash(f"rest {method} {path}")
        scope = sim_runtime._BOT_SCOPE.get()
        if method == "GET" or scope is None:
            return do()
        label = f"rest.{method} {_ID.sub('{id}', path)}"
        point = self._count(label)
        if point is not None and not point.after:
            self.die()
            raise Crash(label)
        result = do()
        if point is not None:
            self.die()
            raise Crash(label)
        return result


@contextlib.contextmanager
def intercepted(recorder: Recorder) -> Iterator[None]:
    """Route every session-store write, SQL commit and REST call through ``recorder``."""
    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def store_write(name: str, original: Any) -> Any:
        async def write(self: Any, *args: Any, **kwargs: Any) -> Any:
            return await recorder.write(
                self, f"store.{name}", lambda: original(self, *args, **kwargs)
            )

        return write

    for cls in (EmbeddedSessionStore, RedisSessionStore):
        for name in STORE_WRITES:
            patch(cls, name, store_write(name, getattr(cls, name)))

    original_commit = UnitOfWork.commit

    async def commit(self: UnitOfWork) -> None:
        engine = self.session.bind
        await recorder.write(engine, "sql.commit", lambda: original_commit(self))

    patch(UnitOfWork, "commit", commit)
    original_dispatch = sim_router.dispatch

    def dispatch(backend: Any, method: str, path: str, **kwargs: Any) -> Any:
        return recorder.rest(
            method, path, lambda: original_dispatch(backend, method, path, **kwargs)
        )

    patch(sim_router, "dispatch", dispatch)
    original_engine = storage_db.create_engine

    def create_engine(url: Any, **kwargs: Any) -> Any:
        engine = original_engine(url, **kwargs)

        def connected(dbapi_connection: Any, _record: Any) -> None:
            recorder.connections.append((engine, dbapi_connection))

        event.listen(engine.sync_engine, "connect", connected)
        return engine

    patch(wiring, "create_engine", create_engine)
    try:
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


# -- the world: the simulated Discord, the bot in it, and the clock ---------------------


@dataclass
class Backend:
    name: str  # sqlite | postgres
    database_url: str = ""
    redis_url: str = ""


@dataclass
class World:
    env: simcord.Env
    wall: time_machine.Traveller
    config: Config
    recorder: Recorder
    guild: GuildHandle
    general: ChannelHandle
    members: dict[str, MemberActor]
    notes: list[str] = field(default_factory=list)  # what the script could not do, and why

    @property
    def bot(self) -> StudyOnBot:
        bot = self.env.bot
        assert isinstance(bot, StudyOnBot)
        return bot

    def now_ms(self) -> int:
        return round(time.time() * 1000)

    async def recover(self) -> None:
        """The dead process is gone (SimCord cancels its tasks); a fresh one starts on the
        same files and the same simulated Discord. Its connections are dropped, never
        closed gracefully: no cog is unloaded, nothing flushed."""
        dead = self.bot
        fresh = create_bot(self.config, simulated=True)
        await self.env.restart_bot(fresh)
        await drop_connections(dead, self.recorder)
        self.recorder.crashed = False

    async def advance(self, seconds: float) -> None:
        """Let time pass, stopping at every wake-up; a process that died on the way is
        replaced at once (at the instant it died)."""
        end = self.now_ms() + round(seconds * 1000)
        while (now := self.now_ms()) < end:
            services = getattr(self.bot, "_services", None)
            due = services.scheduler.next_due_ms() if services is not None else None
            target = due if due is not None and now < due < end else end
            self.wall.shift(timedelta(milliseconds=target - now))
            await self.env.advance_time((target - now) / 1000)
            if self.recorder.crashed:
                await self.recover()

    # -- reading what members see ------------------------------------------------------

    async def sql(self, query: str, **params: Any) -> list[Any]:
        async with self.bot.services.engine.connect() as connection:
            return list((await connection.execute(text(query), params)).all())

    async def room(self) -> tuple[int, int] | None:
        """The open room of the script: (room id, text channel id)."""
        rows = await self.sql(
            "SELECT id, text_channel_id FROM rooms WHERE title = :t AND status = 'open' "
            "ORDER BY id",
            t=TITLE,
        )
        if not rows or rows[-1][1] is None:
            return None
        return int(rows[-1][0]), int(rows[-1][1])

    def channel(self, channel_id: int) -> ChannelHandle | None:
        return next((c for c in self.guild.channels.values() if c.id == channel_id), None)

    async def room_channel(self) -> ChannelHandle | None:
        room = await self.room()
        return self.channel(room[1]) if room is not None else None

    def bot_messages(self, channel: ChannelHandle) -> list[discord.Message]:
        me = self.bot.user
        assert me is not None
        return [m for m in channel.history() if m.author.id == me.id]

    async def latest(self, prefix: str, suffix: str = "") -> discord.Message | None:
        """What a member takes for the current one: the bot's message in the room channel
        with a button ``prefix…:{run}…suffix`` of the latest run shown there (the first such
        message, should there be two)."""
        channel = await self.room_channel()
        if channel is None:
            return None
        best: tuple[int, discord.Message] | None = None
        for message in self.bot_messages(channel):
            custom_id = button_id(message, prefix, suffix)
            if custom_id is None:
                continue
            run = int(custom_id.removeprefix(prefix).split(":")[2])
            if best is None or run > best[0]:
                best = (run, message)
        return best[1] if best is not None else None

    async def alarm(self, k: int) -> discord.Message | None:
        return await self.latest("studyon:dismiss:", f":{k}")

    async def end_message(self) -> discord.Message | None:
        return await self.latest("studyon:extend:")


def button_id(message: discord.Message, prefix: str, suffix: str = "") -> str | None:
    for row in message.components:
        for item in getattr(row, "children", ()):
            custom_id = str(getattr(item, "custom_id", None) or "")
            if custom_id.startswith(prefix) and custom_id.endswith(suffix):
                return custom_id
    return None


async def drop_connections(bot: StudyOnBot, recorder: Recorder) -> None:
    """What the operating system does to a killed process's connections: they close, and
    the database rolls back what was not committed. Nothing of the bot's own shutdown."""
    services = bot._services
    if services is None:
        return
    await recorder.cut_connections(services.engine)
    with contextlib.suppress(BaseException):
        await services.store.close()
    with contextlib.suppress(BaseException):
        await dispose(services.engine)


# -- the script ------------------------------------------------------------------------


def answered(result: Any) -> bool:
    """Whether the member saw an answer to a command or a click."""
    if not isinstance(result, InteractionResult):
        return False
    if result.followups:
        return True
    response = result.response
    return response is not None and bool(response.content or response.embeds)


@dataclass
class Action:
    """One thing a member does. ``seen``: whether, after a crash during it and the restart,
    the member can see it done (else they do it again); ``None``: do it again regardless
    (an action nobody answers, such as a reaction)."""

    name: str
    do: Callable[[World], Awaitable[Any]]
    seen: Callable[[World, Any], Awaitable[bool]] | None


@dataclass
class Wait:
    seconds: float


Step = Action | Wait


async def _answered(world: World, result: Any) -> bool:
    return answered(result)


def slash(member: str, command: str, in_room: bool = False, **options: Any) -> Action:
    async def do(world: World) -> Any:
        channel = (await world.room_channel()) if in_room else world.general
        if channel is None:
            world.notes.append(f"{member}: no room channel for /{command}")
            return None
        if command == "room join":
            room = await world.room()
            if room is None:
                world.notes.append(f"{member}: no room to join")
                return None
            options["room"] = str(room[0])
        return await world.members[member].slash(channel, command, **options)

    return Action(f"{member} /{command}", do, _answered)


def create_room(member: str) -> Action:
    async def do(world: World) -> Any:
        return await world.members[member].slash(
            world.general,
            "room create",
            title=TITLE,
            study=STUDY_MIN,
            terms=TERMS,
            **{"break": BREAK_MIN},
        )

    async def seen(world: World, result: Any) -> bool:
        # the owner sees the room made: it is open (listed, with its channel)
        return answered(result) or await world.room() is not None

    return Action(f"{member} /room create", do, seen)


async def alarm_for(world: World, member: str, k: int, doing: str) -> discord.Message | None:
    """Alarm #``k`` as the member finds it; noted when it is not there to ``doing``."""
    alarm = await world.alarm(k)
    if alarm is None:
        world.notes.append(f"{member}: alarm #{k} not there to {doing}")
    return alarm


def click_dismiss(member: str, k: int) -> Action:
    async def do(world: World) -> Any:
        alarm = await alarm_for(world, member, k, "dismiss")
        if alarm is None:
            return None
        custom_id = button_id(alarm, "studyon:dismiss:")
        return await world.members[member].click(alarm, custom_id=custom_id)

    return Action(f"{member} clicks Dismiss on alarm #{k}", do, _answered)


def react(member: str, k: int) -> Action:
    async def do(world: World) -> Any:
        alarm = await alarm_for(world, member, k, "react to")
        if alarm is None:
            return None
        actor = world.members[member]
        with contextlib.suppress(Exception):
            await actor.unreact(alarm, ALARM)
        await actor.react(alarm, ALARM)
        return None

    return Action(f"{member} reacts ⏰ on alarm #{k}", do, None)


def skip(member: str, falls: int) -> Action:
    """The owner skips; the skip makes alarm #``falls`` fall at once."""
    action = slash(member, "timer skip", in_room=True)

    async def seen(world: World, result: Any) -> bool:
        return answered(result) or await world.alarm(falls) is not None

    return Action(action.name, action.do, seen)


def click_end(member: str, label: str) -> Action:
    async def do(world: World) -> Any:
        end = await world.end_message()
        if end is None:
            world.notes.append(f"{member}: no results to click {label} on")
            return None
        return await world.members[member].click(end, label=label)

    return Action(f"{member} clicks {label} on the results", do, _answered)


def script() -> list[Step]:
    """Run 1: 2 × (2 + 1) minutes with a pause and a skip; run 2 (the Extend) to its end."""
    return [
        create_room("alice"),
        slash("bob", "room join"),
        slash("carol", "room join"),
        slash("alice", "timer start", in_room=True),
        Wait(STUDY_MIN * 60),  # alarm #1
        Wait(5),
        click_dismiss("alice", 1),
        react("bob", 1),
        Wait(5),
        click_dismiss("carol", 1),
        Wait(10),  # the ⏰ is folded onto the alarm
        slash("alice", "timer pause", in_room=True),
        Wait(20),
        slash("alice", "timer resume", in_room=True),
        Wait(BREAK_MIN * 60 - 15),  # alarm #2 (the pause moved it 20 s)
        Wait(10),
        click_dismiss("alice", 2),
        click_dismiss("bob", 2),  # carol misses #2: no king
        Wait(30),
        skip("alice", 3),  # the last study period skipped: alarm #3 falls now
        Wait(5),
        click_dismiss("alice", 3),
        react("bob", 3),
        click_dismiss("carol", 3),
        Wait(70),  # the grace is over: kings alice and bob, their points back
        click_end("alice", "5"),
        click_end("bob", "4"),
        click_end("carol", "Extend"),
        Wait(STUDY_MIN * 60 + 5),  # run 2, alarm #1
        click_dismiss("alice", 1),
        click_dismiss("carol", 1),
        Wait(BREAK_MIN * 60),  # alarm #2
        click_dismiss("alice", 2),
        click_dismiss("carol", 2),
        Wait(STUDY_MIN * 60),  # alarm #3: the end of run 2
        click_dismiss("carol", 3),
        react("alice", 3),
        Wait(70),  # kings of run 2
        click_end("carol", "3"),
        Wait(VOTE_S + 10),  # nobody extends: the room closes, its channels go
        Wait(600),  # what is owed (retries, leases, sweeps) has its time
    ]


async def play(world: World, steps: list[Step]) -> None:
    for step in steps:
        if isinstance(step, Wait):
            await world.advance(step.seconds)
            continue
        result = None
        with contextlib.suppress(Crash):
            result = await step.do(world)
        if not world.recorder.crashed:
            continue
        await world.recover()
        if step.seen is None or not await step.seen(world, result):
            world.notes.append(f"done again after the crash: {step.name}")
            await step.do(world)
            if world.recorder.crashed:  # pragma: no cover - one crash per play
                await world.recover()


# -- what a run leaves, and what must hold --------------------------------------------------


@dataclass
class Outcome:
    alarms: dict[tuple[int, int], int]  # (finished run's place, boundary) → times posted
    ends: dict[int, int]  # finished run's place → results posted
    kings: dict[int, tuple[str, ...]]
    refunds: dict[int, dict[str, list[int]]]  # run place → member → refunds paid
    balances: dict[str, int]
    ratings: dict[str, int]
    leftovers: list[str]  # rooms, channels, live runs, owed cleanups and lines left behind
    stray_alarms: int  # alarms posted for runs that never finished (made twice, lost)
    lines: Counter[str] = field(default_factory=Counter)  # board lines posted, by text


@dataclass
class Posts:
    """Every message the bot posted, as Discord accepted it (from the REST log; a post that
    repeated a nonce and got the earlier message back made none)."""

    alarms: Counter[tuple[int, int]] = field(default_factory=Counter)  # (run id, k)
    ends: Counter[int] = field(default_factory=Counter)  # run id
    lines: Counter[str] = field(default_factory=Counter)  # board lines (text, no buttons)


def posts_of(world: World) -> Posts:
    posts = Posts()
    repeats = repeated_posts(world.env)  # answered with the message a nonce already made
    for at, entry in enumerate(world.env.http_requests):
        if entry.method != "POST" or not entry.path.endswith("/messages") or at in repeats:
            continue
        body = entry.json if isinstance(entry.json, dict) else {}
        if body.get("content") and not body.get("components"):
            posts.lines[str(body["content"])] += 1
        for row in body.get("components") or ():
            for item in row.get("components") or ():
                custom_id = str(item.get("custom_id") or "")
                if m := re.fullmatch(r"studyon:dismiss:\d+:\d+:(\d+):(\d+)", custom_id):
                    posts.alarms[(int(m[1]), int(m[2]))] += 1
                elif m := re.fullmatch(r"studyon:extend:\d+:\d+:(\d+)", custom_id):
                    posts.ends[int(m[1])] += 1
    return posts


async def outcome_of(world: World) -> Outcome:
    names = {m.id: name for name, m in world.members.items()}
    posts = posts_of(world)
    finished = [
        int(r[0])
        for r in await world.sql(
            "SELECT runs.id FROM runs JOIN rooms ON rooms.id = runs.room_id "
            "WHERE rooms.title = :t AND runs.status = 'finished' ORDER BY runs.id",
            t=TITLE,
        )
    ]
    place = {run_id: i + 1 for i, run_id in enumerate(finished)}
    alarms = {(place[run], k): n for (run, k), n in posts.alarms.items() if run in place}
    stray = sum(n for (run, _), n in posts.alarms.items() if run not in place)
    ends = {place[run]: n for run, n in posts.ends.items() if run in place}
    kings: dict[int, tuple[str, ...]] = {}
    for run_id in finished:
        rows = await world.sql(
            "SELECT user_id FROM run_results WHERE run_id = :r AND is_king ORDER BY user_id",
            r=run_id,
        )
        kings[place[run_id]] = tuple(sorted(names.get(int(u), str(u)) for (u,) in rows))
    refunds: dict[int, dict[str, list[int]]] = {}
    for user_id, amount, reference in await world.sql(
        "SELECT user_id, amount, reference FROM ledger_entries WHERE reason = 'king_refund' "
        "ORDER BY id"
    ):
        run_id = int(str(reference).split(";")[0].removeprefix("run:"))
        at = place.get(run_id, -run_id)
        refunds.setdefault(at, {}).setdefault(names[int(user_id)], []).append(int(amount))
    balances = {
        names[int(u)]: int(total)
        for u, total in await world.sql(
            "SELECT user_id, SUM(amount) FROM ledger_entries GROUP BY user_id"
        )
    }
    ratings = {
        names[int(u)]: int(score)
        for u, score in await world.sql("SELECT user_id, score FROM ratings")
    }
    leftovers: list[str] = []
    for room_id, status in await world.sql("SELECT id, status FROM rooms"):
        if status != "closed":
            leftovers.append(f"room {room_id} is {status}")
    for (count,) in await world.sql("SELECT COUNT(*) FROM discord_cleanups"):
        if count:
            leftovers.append(f"{count} Discord cleanup(s) still owed")
    for (count,) in await world.sql("SELECT COUNT(*) FROM board_lines WHERE message_id IS NULL"):
        if count:
            leftovers.append(f"{count} board line(s) still owed")
    for channel in world.guild.channels.values():
        kind = getattr(channel._channel, "type", None)
        if channel.id == world.general.id or kind == discord.ChannelType.category.value:
            continue
        leftovers.append(f"channel #{channel.name} is left")
    running = await world.bot.services.store.running_rooms()
    if running:
        leftovers.append(f"live runs left for {len(running)} room(s)")
    return Outcome(alarms, ends, kings, refunds, balances, ratings, leftovers, stray, posts.lines)


def violations_of(got: Outcome, want: Outcome) -> list[str]:
    """Every invariant ``got`` breaks, measured against the crash-free run ``want``."""
    out: list[str] = []
    for key in sorted(set(want.alarms) | set(got.alarms)):
        n = got.alarms.get(key, 0)
        if n != 1:
            run, k = key
            out.append(f"alarm #{k} of run {run} posted {n} times")
    if got.stray_alarms:
        out.append(f"{got.stray_alarms} alarm(s) posted for a run that never finished")
    for run in sorted(set(want.ends) | set(got.ends)):
        n = got.ends.get(run, 0)
        if n != 1:
            out.append(f"the end of run {run} announced {n} times")
    if got.kings != want.kings:
        out.append(f"kings {got.kings}, not {want.kings}")
    if got.refunds != want.refunds:
        out.append(f"refunds {got.refunds}, not {want.refunds}")
    if got.balances != want.balances:
        out.append(f"balances {got.balances}, not {want.balances}")
    if got.ratings != want.ratings:
        out.append(f"ratings {got.ratings}, not {want.ratings}")
    # every board line of the crash-free run, as often as there (a line tells what happened)
    for line in sorted(set(want.lines) | set(got.lines)):
        n, wanted = got.lines.get(line, 0), want.lines.get(line, 0)
        if n != wanted:
            out.append(f"board line {line!r} posted {n} times, not {wanted}")
    out.extend(got.leftovers)
    return out


# -- one play of the script ----------------------------------------------------------------


@contextlib.asynccontextmanager
async def world_of(backend: Backend, work: Path, recorder: Recorder) -> AsyncIterator[World]:
    raw: dict[str, Any] = {
        "timer": {"extend_vote_seconds": VOTE_S},
        "session": {},
    }
    if backend.name == "sqlite":
        raw["database"] = {"url": f"sqlite+aiosqlite:///{work / 'studyon.db'}"}
        raw["session"]["embedded_path"] = str(work / "session.db")
    else:
        raw["database"] = {"url": backend.database_url}
        raw["session"]["redis_url"] = backend.redis_url
    config = parse_config(raw, env={})
    with frozen_wall_clock() as wall, intercepted(recorder):
        bot = create_bot(config, simulated=True)
        async with simcord.run(bot, check_errors=False, settle_timeout=SETTLE_S) as env:
            recorder.env = env
            await bot.tree.sync()
            guild = env.create_guild("Crash Café")
            general = guild.create_text_channel("general")
            members = {n: guild.add_member(env.create_user(n)) for n in ("alice", "bob", "carol")}
            world = World(env, wall, config, recorder, guild, general, members)
            try:
                yield world
            finally:
                current = env.bot
                if isinstance(current, StudyOnBot):
                    await drop_connections(current, recorder)


async def fresh_backend(backend: Backend) -> None:
    """An empty database and session store for the next play."""
    if backend.name != "postgres":
        return
    import redis.asyncio as aioredis
    from sqlalchemy.ext.asyncio import create_async_engine

    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :d AND pid <> pg_backend_pid()"
                ),
                {"d": POSTGRES_DATABASE},
            )
            await connection.execute(text(f"DROP DATABASE IF EXISTS {POSTGRES_DATABASE}"))
            await connection.execute(text(f"CREATE DATABASE {POSTGRES_DATABASE}"))
    finally:
        await admin.dispose()
    client = aioredis.Redis.from_url(backend.redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


@dataclass
class Play:
    outcome: Outcome
    labels: list[str]
    notes: list[str]


async def play_once(backend: Backend, crash_at: CrashPoint | None) -> Play:
    await fresh_backend(backend)
    recorder = Recorder(crash_at)
    with tempfile.TemporaryDirectory(prefix="studyon-crash-") as tmp:
        async with world_of(backend, Path(tmp), recorder) as world:
            recorder.armed = True
            await play(world, script())
            recorder.armed = False
            outcome = await outcome_of(world)
            return Play(outcome, recorder.labels, world.notes)


@dataclass
class Enumeration:
    points: int
    violations: dict[str, list[str]]  # crash point → what broke
    writes: list[str]
    diverged: list[str]  # points whose writes before the crash were not the crash-free ones
    seconds: float
    # points after which a board line of the crash-free run never appeared (each is a
    # violation too; listed apart to be found at a glance)
    lines_lost: dict[str, list[str]] = field(default_factory=dict)


async def enumerate_points(
    backend: Backend,
    only: set[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Enumeration:
    started = time.perf_counter()
    baseline = await play_once(backend, None)
    clean = violations_of(baseline.outcome, baseline.outcome)
    violations: dict[str, list[str]] = {}
    if clean:
        violations["crash-free"] = clean
    writes = baseline.labels
    diverged: list[str] = []
    lines_lost: dict[str, list[str]] = {}
    points = 0
    for k, label in enumerate(writes, start=1):
        for after in (False, True):
            point = CrashPoint(k, after)
            name = point.name(label)
            if only is not None and name not in only:
                continue
            points += 1
            try:
                played = await play_once(backend, point)
            except Exception as first:
                # SimCord gave up waiting for the bot (a loaded machine): played again once;
                # failing again, the point counts as broken, with why
                log.warning("%s: the play failed (%r); playing it again", name, first)
                try:
                    played = await play_once(backend, point)
                except Exception as error:
                    violations[name] = [f"the play failed: {error!r}"]
                    if progress is not None:
                        progress(f"{name}: the play failed: {error!r}")
                    continue
            if played.labels[: k - 1] != writes[: k - 1] or (
                len(played.labels) >= k and played.labels[k - 1] != label
            ):
                diverged.append(name)
            broken = violations_of(played.outcome, baseline.outcome)
            if broken:
                violations[name] = broken
            lost = sorted(baseline.outcome.lines - played.outcome.lines)
            if lost:
                lines_lost[name] = lost
            if progress is not None:
                progress(f"{name}: {'; '.join(broken) if broken else 'ok'}")
    seconds = time.perf_counter() - started
    return Enumeration(points, violations, writes, diverged, seconds, lines_lost)


def backend_of(name: str) -> Backend:
    if name == "postgres":
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{POSTGRES_DATABASE}"
        return Backend("postgres", url, REDIS_URL)
    return Backend("sqlite")


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--only", nargs="*", help="crash points to play (by name)")
    parser.add_argument("--verbose", action="store_true", help="print each point's outcome")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)
    progress = (lambda line: print(line, file=sys.stderr, flush=True)) if args.verbose else None
    found = asyncio.run(
        enumerate_points(backend_of(args.backend), set(args.only) if args.only else None, progress)
    )
    for name, broken in found.violations.items():
        print(f"VIOLATION {name}: {'; '.join(broken)}")
    for name, lines in found.lines_lost.items():
        print(f"board line lost at {name}: {'; '.join(map(repr, lines))}")
    figures: dict[str, object] = {
        "backend": args.backend,
        "writes": len(found.writes),
        "points": found.points,
        "violations": len(found.violations),
        "violating_points": sorted(found.violations),
        "diverged": len(found.diverged),
        "points_losing_a_board_line": len(found.lines_lost),
        "seconds": round(found.seconds, 1),
    }
    report("crash_points", figures)
    return figures


if __name__ == "__main__":
    main()

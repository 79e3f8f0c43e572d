"""A process on the same machine is known to be gone at once: its heartbeat token says where
it runs (PID namespace on this boot, pid, start time), and ``/proc`` says whether that
process still runs. Real child processes, really killed; nothing else is ever taken for gone
(another namespace, a token that names no process, this process, a process alive).

The services tests are those of ``test_liveness`` with process A standing for a real child
process: A claims alarm #1 and its post hangs, its beat is live in the store; B, the
production wiring on the same files, takes the claim over at once if A's process was killed,
and leaves it to A until its beat runs out if that process runs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine

from bot.clock import to_datetime
from bot.domain.timer import MINUTE_MS
from bot.services.liveness import ALIVE_FOR_MS
from bot.services.processes import SPACE_HEX, LocalProcesses, ProcessId, local_processes
from bot.wiring import Services, open_services
from tests.services.test_liveness import (
    Posting,
    killed,
    process,
    started,
    stop,
    taken_over_once,
)
from tests.services.test_restart import start_room
from tests.support.world import SETTINGS, World, listen

PROC = Path("/proc")
ROOT = Path(__file__).resolve().parents[2]
# a child that says its own heartbeat token, then waits to be killed
SAYS_ITS_TOKEN = (
    "import sys, time\n"
    "from bot.services.processes import local_processes\n"
    "print(local_processes().new_token(), flush=True)\n"
    "time.sleep(60)\n"
)


def start_of(pid: int) -> int:
    """Field 22 of /proc/<pid>/stat (clock ticks since boot), read past the command."""
    stat = (PROC / str(pid) / "stat").read_text()
    return int(stat[stat.rindex(")") + 1 :].split()[22 - 3])


def state_of(pid: int) -> str:
    stat = (PROC / str(pid) / "stat").read_text()
    return stat[stat.rindex(")") + 1 :].split()[0]


def here() -> ProcessId:
    assert PROC.is_dir(), "these tests read /proc: they run on Linux"
    me = local_processes().here
    assert me is not None
    return me


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def token_of(proc: subprocess.Popen[bytes], start: int | None = None) -> str:
    """The token the child would have: this space, its pid, its start time (or ``start``)."""
    return ProcessId(here().space, proc.pid, start_of(proc.pid) if start is None else start).token(
        "c0de"
    )


def dead(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait()


# -- the token ---------------------------------------------------------------------------


def test_the_token_says_where_this_process_runs_and_reads_back() -> None:
    me = here()
    assert len(me.space) == SPACE_HEX
    assert (me.pid, me.start) == (os.getpid(), start_of(os.getpid()))
    token = local_processes().new_token()
    assert ProcessId.parse(token) == me
    assert token != local_processes().new_token()  # two services in one process
    assert LocalProcesses().here == me  # the same however often it is looked up
    assert len(token) <= 40


@pytest.mark.parametrize(
    "token", ["a", "", "a.b.c.d", "e6d907fc.12.34", "e6d907fc.-1.34.ab", "E6D907FC.12.34.ab"]
)
def test_a_token_that_names_no_process_is_never_gone(token: str) -> None:
    here()
    assert ProcessId.parse(token) is None
    assert not local_processes().gone(token)


def test_a_process_of_another_namespace_or_boot_is_never_gone(
    child: subprocess.Popen[bytes],
) -> None:
    other = format(int(here().space, 16) ^ 1, f"0{SPACE_HEX}x")
    start = start_of(child.pid)
    dead(child)
    token = ProcessId(other, child.pid, start).token("ab")
    assert ProcessId.parse(token) is not None
    assert not local_processes().gone(token)


def test_without_proc_the_token_is_only_random_and_nothing_is_gone(tmp_path: Path) -> None:
    blind = LocalProcesses(tmp_path)
    assert blind.here is None
    token = blind.new_token()
    assert ProcessId.parse(token) is None and len(token) == 12
    assert not blind.gone(local_processes().new_token())


# -- real processes ----------------------------------------------------------------------


def test_a_child_process_is_alive_while_it_runs_and_gone_once_killed() -> None:
    """The child makes its own token: the same space as this process, its pid and start."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SAYS_ITS_TOKEN], cwd=ROOT, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        token = proc.stdout.readline().decode().strip()
        assert ProcessId.parse(token) == ProcessId(here().space, proc.pid, start_of(proc.pid))
        assert not local_processes().gone(token)
        proc.kill()
        proc.wait()
        assert local_processes().gone(token)
    finally:
        proc.kill()
        proc.wait()


def test_a_killed_process_not_yet_reaped_is_gone(child: subprocess.Popen[bytes]) -> None:
    token = token_of(child)
    assert not local_processes().gone(token)
    child.kill()
    deadline = time.monotonic() + 5
    while state_of(child.pid) != "Z":  # until the kernel has made it a zombie
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert local_processes().gone(token)  # still there, unreaped: gone all the same


def test_a_pid_running_a_process_started_at_another_time_is_gone(
    child: subprocess.Popen[bytes],
) -> None:
    """The pid was used again: the token's process is not the one running under it."""
    start = start_of(child.pid)
    assert not local_processes().gone(token_of(child))
    assert local_processes().gone(token_of(child, start - 1))
    assert local_processes().gone(token_of(child, start + 1))


def test_this_process_is_never_gone() -> None:
    me = here()
    processes = local_processes()
    assert not processes.gone(processes.new_token())
    assert not LocalProcesses().gone(me.token("ab"))
    assert processes.gone(ProcessId(me.space, me.pid, me.start + 1).token("ab"))  # an earlier
    # process that had this pid


# -- taking over a claim -----------------------------------------------------------------


async def claimed_by(
    tmp_path: Path, frozen: time_machine.Traveller, token: str, posting: Posting
) -> tuple[Services, World, asyncio.Task[None]]:
    """Process A, standing for the process ``token`` names, with a room whose alarm #1 it
    has claimed, its post under way and its beat live."""
    a = await open_services(
        f"sqlite+aiosqlite:///{tmp_path / 'studyon.db'}",
        embedded_path=tmp_path / "session.db",
        settings=SETTINGS,
        start_scheduler=False,
        process_token=token,
    )
    a.events.add_room_listener(posting)
    world = World(a, listen(a), frozen)
    key, _, t0 = await start_room(world)
    frozen.move_to(to_datetime(t0 + 50 * MINUTE_MS))  # alarm #1 falls
    wake = asyncio.create_task(a.timers.wake(key))
    await posting.entered.wait()
    run = await a.store.get_run(key)
    assert run is not None and run.owed_alarms[1].by == token == a.heartbeat.token
    return a, world, wake


async def _beats(tmp_path: Path) -> dict[str, int]:
    reader = await process(tmp_path)
    try:
        return await reader.store.heartbeats()
    finally:
        await reader.close()


async def test_the_alarm_a_process_killed_on_this_machine_claimed_is_posted_at_once(
    tmp_path: Path, frozen: time_machine.Traveller, child: subprocess.Popen[bytes]
) -> None:
    """A's process is killed while posting, its beat left live in the store; B, started
    in its place half a second later, takes the alarm over at once, without waiting the
    2.5 s A's beat still has."""
    posting = Posting()
    token = token_of(child)
    a, a_world, wake = await claimed_by(tmp_path, frozen, token, posting)
    claimed = a_world.now_ms()
    dead(child)
    frozen.shift(0.5)
    assert (await _beats(tmp_path))[token] == claimed + ALIVE_FOR_MS  # A's beat: still live
    b_world = await started(tmp_path, frozen)
    b = b_world.app
    await taken_over_once(b_world, posting, claimed + 500)
    await stop(wake, b)
    await killed(a)


async def test_the_claim_of_a_process_running_on_this_machine_waits_for_its_beat(
    tmp_path: Path, frozen: time_machine.Traveller, child: subprocess.Popen[bytes]
) -> None:
    """A's process runs (a slow Discord): B leaves the alarm to it until A's beat runs
    out, as for a process of another machine, and takes it over then."""
    posting = Posting()
    token = token_of(child)
    a, a_world, wake = await claimed_by(tmp_path, frozen, token, posting)
    claimed = a_world.now_ms()
    frozen.shift(0.5)
    b_world = await started(tmp_path, frozen)
    b = b_world.app
    [key] = await b.store.running_rooms()
    assert b_world.seen.boundaries == []
    assert b_world.next_wakeup(key) == claimed + ALIVE_FOR_MS
    await b_world.advance_to(claimed + ALIVE_FOR_MS - 1)
    assert b_world.seen.boundaries == []
    assert child.poll() is None  # alive all along: only its beat ran out
    await b_world.advance_to(claimed + ALIVE_FOR_MS)
    [alarm] = b_world.seen.boundaries
    assert alarm.boundary.index == 1 and alarm.retry and alarm.fired_ms == claimed + ALIVE_FOR_MS
    assert posting.attempts == 1
    await stop(wake, a, b)

"""Every crash point of a scripted run, on SQLite and the embedded store: the bot killed at
each write in turn (before it, and after it), a fresh bot finishing the run, and nothing
lost or doubled (``bench.crash_points`` says what is played and what is checked). All the
points are played, none sampled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import crash_points

ROOT = Path(__file__).resolve().parents[2]

# Crash points known to break an invariant still, each with why it is open. Any other
# point breaking one fails this test, and so does one of these that no longer breaks any
# (take it off the list: it was fixed).
KNOWN_OPEN: dict[str, str] = {}


async def test_no_crash_point_loses_or_doubles_anything() -> None:
    found = await crash_points.enumerate_points(crash_points.backend_of("sqlite"))
    assert found.writes, "the crash-free run made no write"
    assert found.points == 2 * len(found.writes)  # every write, before and after: no sample
    assert "crash-free" not in found.violations, found.violations.get("crash-free")
    assert found.diverged == [], "a play did not make the crash-free run's writes before its crash"
    new = {n: v for n, v in found.violations.items() if n not in KNOWN_OPEN}
    fixed = sorted(set(KNOWN_OPEN) - set(found.violations))
    assert not new, "new violations:\n" + "\n".join(f"{n}: {'; '.join(v)}" for n, v in new.items())
    assert not fixed, f"no longer broken (take them off KNOWN_OPEN): {fixed}"


def test_the_cli_prints_points_and_violations() -> None:
    """The command line plays the same enumeration (here one point of it) and ends with the
    JSON line of its figures. It runs as a process of its own, as it is run, so nothing the
    enumeration above left in this one (patched parts, connections) plays a part."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.crash_points", "--only", "before#1:sql.commit"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=ROOT,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["points"] == 1 and figures["violations"] == 0
    assert figures["backend"] == "sqlite" and figures["writes"] > 100

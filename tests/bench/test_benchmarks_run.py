"""The benchmarks still work (at a small size; their figures are reported, not asserted)."""

from __future__ import annotations

import json

import pytest

from bench import restart, timer_load
from bench.common import report
from tests.support.servers import require_postgres, require_redis


def last_json(out: str) -> dict[str, object]:
    return dict(json.loads(out.strip().splitlines()[-1]))


def test_timer_load_small(capsys: pytest.CaptureFixture[str]) -> None:
    figures = timer_load.main(["--rooms", "40", "--window", "1", "--lead", "0.5"])
    printed = last_json(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(figures))
    for key in ("rooms", "p50_late_ms", "p99_late_ms", "max_late_ms", "rss_kb_per_room"):
        assert key in printed
    assert printed["rooms"] == 40 and printed["fired"] == 40 and printed["doubled"] == 0


@pytest.mark.parametrize(
    "on",
    [
        "embedded",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis_cluster", marks=pytest.mark.redis_cluster),
    ],
)
async def test_restart_small(
    on: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    store, url = ("embedded", "") if on == "embedded" else ("redis", "")
    if on == "redis":
        url = await require_redis()
    elif on == "redis_cluster":
        url = request.getfixturevalue("redis_cluster").url
    figures = await restart.run(60, store, seed=3, missed_share=0.3, redis_url=url)
    report("restart", figures)
    printed = last_json(capsys.readouterr().out)
    for key in ("rooms", "store", "rebuild_s", "lost", "doubled"):
        assert key in printed
    assert printed["lost"] == 0 and printed["doubled"] == 0
    assert printed["missed_while_down"] and printed["store"] == store


def test_api_budget_small(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import api_budget

    api_budget.main(["--members", "3", "--study", "1", "--break", "1", "--terms", "2"])
    printed = last_json(capsys.readouterr().out)
    for key in (
        "members",
        "calls_between_boundaries",
        "global_calls_per_boundary",
        "interaction_calls_per_boundary",
        "max_channel_posts_per_5s",
    ):
        assert key in printed
    assert printed["boundaries"] == 3 and printed["members"] == 3


STORM_KEYS = (
    "alarm_p50_s",
    "alarm_p99_s",
    "limit_s",
    "http_429",
    "invalid_requests",
    "global_calls_per_boundary",
    "unfair_late",
)


def test_alarm_storm_small(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import alarm_storm

    figures = alarm_storm.main(["--rooms", "20", "--lead", "1"])
    printed = last_json(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(figures))
    assert all(key in printed for key in STORM_KEYS)
    assert printed["rooms"] == 20 and printed["unfair_late"] == 0


@pytest.mark.postgres
@pytest.mark.redis
async def test_alarm_storm_over_processes_small(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import alarm_storm

    await require_postgres()
    await require_redis()
    figures = await alarm_storm.storm(30, 3, lead_s=2)
    report("alarm_storm", figures)
    printed = last_json(capsys.readouterr().out)
    assert all(key in printed for key in STORM_KEYS)
    assert printed["processes"] == 3 and printed["unfair_late"] == 0


CLUSTER_KEYS = ("lost", "doubled", "double_refunds", "kills", "max_recovery_s")


@pytest.mark.postgres
@pytest.mark.redis
async def test_cluster_small(capsys: pytest.CaptureFixture[str]) -> None:
    """Two real bot processes, one killed with SIGKILL and restarted in a fresh directory:
    nothing lost or doubled, no refund paid twice (its own database and Redis database)."""
    from bench import cluster

    await require_postgres()
    await require_redis()
    figures = await cluster.bench(
        2, 8, 1, 7, database="cluster_bench_test", redis_url="redis://127.0.0.1:6379/6"
    )
    report("cluster", figures)
    printed = last_json(capsys.readouterr().out)
    assert all(key in printed for key in CLUSTER_KEYS)
    assert printed["kills"] == 1 and printed["fresh_dir_restarts"] == 1
    assert printed["boundaries"] == 16 and printed["runs_ended"] == 16
    assert printed["lost"] == 0 and printed["doubled"] == 0
    assert printed["double_refunds"] == 0 and printed["results_lost"] == 0
    assert printed["kings"] and printed["refunds"] == printed["kings"]
    assert printed["max_recovery_s"] is not None

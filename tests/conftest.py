"""Fixtures every test directory may use: the local Redis Cluster (``tests.support.cluster``),
started once for the whole run by the first test that asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import bot.simulation  # noqa: F401  (SimCord answers a repeated nonce as Discord does)
from tests.support.cluster import LocalCluster, local_cluster


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with local_cluster(Path(tmp_path_factory.mktemp("redis-cluster"))) as cluster:
        yield cluster

"""A local Redis Cluster of three primaries, started for the tests that need one.

``redis-server --cluster-enabled yes`` three times, on free ports in a directory of its own,
joined by ``redis-cli --cluster create``; ready once every node reports ``cluster_state:ok``
and knows the other two. A machine without ``redis-server`` fails these tests with what to
install: they never skip.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

NODES = 3
READY_S = 30.0  # the most a node or the cluster may take to come up


@dataclass(frozen=True)
class LocalCluster:
    ports: tuple[int, ...]
    workdir: Path

    @property
    def url(self) -> str:
        """The session store's URL for this cluster (``redis+cluster://``, every node)."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not on PATH: the Redis Cluster tests start a local cluster with "
            f"redis-server and redis-cli (install Redis 7, e.g. apt-get install redis-server)",
            pytrace=False,
        )
    return found


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """Ports free with their cluster bus port (port + 10000), away from the usual ones."""
    chosen: list[int] = []
    rng = random.Random()
    while len(chosen) < count:
        port = rng.randrange(20000, 55000)
        if port not in chosen and _free(port) and _free(port + 10000):
            chosen.append(port)
    return chosen


def _cli(cli: str, port: int, *args: str) -> str:
    done = subprocess.run(
        [cli, "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return done.stdout


def _wait(what: str, ready: Callable[[], bool], logs: Path) -> None:
    deadline = time.monotonic() + READY_S
    while not ready():
        if time.monotonic() > deadline:
            tails = "\n".join(
                f"--- {log.name}\n" + "\n".join(log.read_text().splitlines()[-10:])
                for log in sorted(logs.glob("*.log"))
            )
            pytest.fail(f"the local Redis Cluster: {what} within {READY_S} s\n{tails}")
        time.sleep(0.05)  # a real external process: polled briefly


def _server_args(server: str, port: int, workdir: Path) -> list[str]:
    node_dir = workdir / str(port)
    node_dir.mkdir(parents=True)
    options = {
        "port": str(port),
        "bind": "127.0.0.1",
        "dir": str(node_dir),
        "cluster-enabled": "yes",
        "cluster-config-file": "nodes.conf",
        "cluster-node-timeout": "5000",
        "save": "",
        "appendonly": "no",
        "logfile": str(workdir / f"{port}.log"),
    }
    return [server, *(arg for name, value in options.items() for arg in (f"--{name}", value))]


@contextlib.contextmanager
def local_cluster(workdir: Path) -> Iterator[LocalCluster]:
    server, cli = _binary("redis-server"), _binary("redis-cli")
    ports = _free_ports(NODES)
    processes: list[subprocess.Popen[bytes]] = []

    def answering(port: int) -> Callable[[], bool]:
        return lambda: _cli(cli, port, "ping") == "PONG\n"

    def ready() -> bool:
        for port in ports:
            info = _cli(cli, port, "cluster", "info")
            if "cluster_state:ok" not in info or f"cluster_known_nodes:{NODES}" not in info:
                return False
        return True

    try:
        for port in ports:
            processes.append(
                subprocess.Popen(
                    _server_args(server, port, workdir),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port in ports:
            _wait(f"node {port} answering", answering(port), workdir)
        nodes = [f"127.0.0.1:{p}" for p in ports]
        created = subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if created.returncode != 0:
            pytest.fail(f"redis-cli --cluster create failed:\n{created.stdout}{created.stderr}")
        _wait("cluster_state:ok on every node", ready, workdir)
        yield LocalCluster(tuple(ports), workdir)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

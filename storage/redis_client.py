"""Redis clients from a URL: one server, or a Redis Cluster.

A single server is any URL redis-py reads (``redis://``, ``rediss://``, ``unix://``). A cluster
is named by ``redis+cluster://`` (``rediss+cluster://`` for TLS) and a comma-separated list of
some of its nodes, ``redis+cluster://[user:password@]host:port[,host:port...][?option=value]``:
the client asks the first node it reaches for the others, so listing more than one only lets
start-up survive a node that is down. A cluster has database 0 alone: a URL names no other.
Query options are redis-py's, as for a single server.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster

__all__ = [
    "CLUSTER_SCHEMES",
    "SINGLE_SCHEMES",
    "AnyRedis",
    "RedisTarget",
    "connect",
    "discover_nodes",
    "parse_redis_url",
]

SINGLE_SCHEMES: Final = ("redis://", "rediss://", "unix://")
CLUSTER_SCHEMES: Final = ("redis+cluster://", "rediss+cluster://")
DEFAULT_PORT: Final = 6379

AnyRedis: TypeAlias = aioredis.Redis | RedisCluster


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """What a URL names. ``url`` is what redis-py is given: the server's URL, or for a
    cluster the first node's (with the credentials and options); ``nodes`` lists every
    node the URL names, and is empty for a single server."""

    url: str
    nodes: tuple[tuple[str, int], ...] = ()

    @property
    def cluster(self) -> bool:
        return bool(self.nodes)


def _node(text: str) -> tuple[str, int]:
    """``host:port``, ``host`` (port 6379) or ``[v6]:port``."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not host or (rest and not rest.startswith(":")):
            raise ValueError(f"bad cluster node {text!r}")
        port_text = rest[1:]
    else:
        host, _, port_text = text.partition(":")
        if not host or ":" in port_text:
            raise ValueError(f"bad cluster node {text!r} (write an IPv6 address as [addr]:port)")
    if not port_text and not text.endswith(":"):
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad port in cluster node {text!r}")
    return host, int(port_text)


def parse_redis_url(url: str) -> RedisTarget:
    """The target ``url`` names. Raises ``ValueError`` for a malformed cluster URL, with a
    message that never holds the password; a single server's URL is left to redis-py."""
    url = url.strip()
    scheme = next((s for s in CLUSTER_SCHEMES if url.startswith(s)), None)
    if scheme is None:
        return RedisTarget(url)
    rest = url[len(scheme) :]
    end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=-1)
    netloc, tail = (rest, "") if end < 0 else (rest[:end], rest[end:])
    userinfo, at, hosts = netloc.rpartition("@")
    if "#" in tail:
        raise ValueError("a Redis Cluster URL takes no #fragment")
    path, _, query = tail.partition("?")
    if path not in ("", "/", "/0"):
        raise ValueError(
            f"a Redis Cluster URL takes no database {path!r} (a cluster has database 0 only)"
        )
    if not hosts.strip():
        raise ValueError("a Redis Cluster URL must name at least one node, host:port")
    nodes = tuple(_node(part.strip()) for part in hosts.split(","))
    host, port = nodes[0]
    shown = f"[{host}]" if ":" in host else host
    single = scheme.replace("+cluster", "")
    first = f"{single}{userinfo}{at}{shown}:{port}" + (f"?{query}" if query else "")
    return RedisTarget(first, nodes)


def connect(target: RedisTarget | str, **options: Any) -> AnyRedis:
    """A client for ``target`` (unconnected: it connects on first use). ``options`` are
    redis-py's; for a cluster, ``max_connections`` counts per node."""
    if isinstance(target, str):
        target = parse_redis_url(target)
    if not target.cluster:
        client: aioredis.Redis = aioredis.Redis.from_url(target.url, **options)
        return client
    others = [ClusterNode(host, port) for host, port in target.nodes[1:]]
    return RedisCluster.from_url(target.url, startup_nodes=others, **options)


async def discover_nodes(client: AnyRedis, alone: asyncio.Lock) -> None:
    """Before a call on ``client``: a cluster client that has not learnt the cluster's nodes
    (new, or after losing them) learns them on its next call, and calls racing to be that
    one break each other's connections (redis-py 8.1: the nodes are replaced under them). So
    the first goes alone, holding ``alone``; the others then find the nodes known. Nothing
    for a single server."""
    if isinstance(client, RedisCluster) and client._initialize:
        async with alone:
            await client.initialize()  # at once when another just did it

"""A local stand-in for Discord's REST API, for benchmarks and tests.

SimCord answers above discord.py's HTTP layer, so it cannot show what the real request loop
does against Discord's limits. This server answers the routes the bot uses the way Discord
does - the same JSON shapes, snowflake ids, rate-limit headers and 429 bodies - so the real
``discord.http.HTTPClient`` (or a whole ``discord.Client`` after ``login``) talks to it as to
Discord once ``discord.http.Route.BASE`` points here (see ``pointed_at``).

What it enforces, as Discord does:

* the global limit per bot token (default 50 requests a second), over every route except
  interaction callbacks and webhook (interaction follow-up) routes;
* per-route buckets with Discord's ``X-RateLimit-*`` headers on every answer: message
  creation 5 per 5 s per channel, edits 5 per 5 s per channel, reactions 1 per 0.25 s per
  channel, a generous bucket per route and major parameter for everything else;
* ``nonce`` with ``enforce_nonce``: a nonce repeated in a channel within a few minutes gets
  the first message back instead of a new one.

Every 401/403/429 answer is counted as an invalid request (Discord bans an IP past 10,000 in
10 minutes). Faults (an error after the action was done, a slow answer, scripted answers) are
set per route with ``script``. Limits run on a monotonic clock (time-machine leaves
``time.monotonic`` alone), ids and timestamps on the wall clock.

    async with DiscordStandIn(global_per_s=5) as standin, pointed_at(standin):
        ...

Run alone for multi-process benchmarks (prints the port, serves until killed; figures at
``GET /_standin/stats`` and ``GET /_standin/messages?nonce=...&channel_id=...&since=N``)::

    python -m bench.standin --port 0
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import datetime
import hashlib
import json
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import discord.http
from aiohttp import web

API = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000

# route keys ("METHOD template", templates as discord.py writes them)
CREATE_MESSAGE = "POST /channels/{channel_id}/messages"
EDIT_MESSAGE = "PATCH /channels/{channel_id}/messages/{message_id}"
ADD_REACTION = "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
INTERACTION_CALLBACK = "POST /interactions/{webhook_id}/{webhook_token}/callback"
HOOK_MESSAGE = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"

MonotonicClock = Callable[[], float]
WallClockMs = Callable[[], int]
JSON = dict[str, Any]


def snowflake_ms(snowflake: int) -> int:
    """The creation instant (Unix ms) a Discord snowflake carries."""
    return (snowflake >> 22) + DISCORD_EPOCH_MS


def _wall_ms() -> int:
    # looked up at each call, so a frozen wall clock (time-machine) is seen
    return int(time.time() * 1000)


def _iso(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).isoformat()


@dataclass(frozen=True)
class Limit:
    """``count`` requests per window of ``per_s`` seconds, opened by the first request."""

    count: int
    per_s: float


DEFAULT_ROUTE_LIMITS: Mapping[str, Limit] = {
    CREATE_MESSAGE: Limit(5, 5.0),
    EDIT_MESSAGE: Limit(5, 5.0),
    ADD_REACTION: Limit(1, 0.25),
}


@dataclass(frozen=True)
class Fault:
    """One scripted answer for the next request of a route that gets past the limits.

    ``status=None`` gives the real answer; ``act=True`` does the request's work (the message
    is created) before answering ``status``, as when Discord fails after committing;
    ``body=None`` with a status gives a Discord-shaped error body; ``delay_s`` holds the
    answer back that long."""

    status: int | None = None
    body: object = None
    delay_s: float = 0.0
    act: bool = False


@dataclass
class StoredMessage:
    id: int
    channel_id: int
    content: str
    embeds: list[Any]
    components: list[Any]
    nonce: str | None
    created_ms: int
    accepted_at: float  # monotonic, when the create was done
    edited_ms: int | None = None
    pinned: bool = False
    deleted: bool = False
    reactions: list[str] = field(default_factory=list)
    flags: int = 0
    interaction_token: str | None = None
    attachments: list[JSON] = field(default_factory=list)


@dataclass
class RequestRecord:
    method: str
    route: str  # template, e.g. "/channels/{channel_id}/messages"
    path: str
    status: int
    received: float  # monotonic
    answered: float  # monotonic
    body: object
    counts_global: bool

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}"


@dataclass
class _Window:
    opened: float
    used: int = 0


class _Blocked(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


def _answer(
    data: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    # exactly Discord's content type (discord.py parses JSON only on an exact match) and its
    # proxy header (a 429 without one reads as a Cloudflare ban)
    all_headers = {"Content-Type": "application/json", "Via": "1.1 google", **(headers or {})}
    if status == 204:
        return web.Response(status=204, headers={"Via": "1.1 google", **(headers or {})})
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


_ERRORS = {
    401: "401: Unauthorized",
    403: "Missing Permissions",
    404: "404: Not Found",
    500: "500: Internal Server Error",
    502: "502: Bad Gateway",
}


def _error(status: int, message: str | None = None, code: int = 0) -> web.Response:
    return _answer({"message": message or _ERRORS.get(status, str(status)), "code": code}, status)


Handler = Callable[[web.Request, Any], Awaitable[web.Response]]


class DiscordStandIn:
    """Discord's REST API on 127.0.0.1, with its limits; see the module docstring."""

    def __init__(
        self,
        *,
        port: int = 0,
        global_per_s: int = 50,
        route_limits: Mapping[str, Limit] | None = None,
        default_limit: Limit = Limit(50, 1.0),
        nonce_window_s: float = 300.0,
        latency_s: float = 0.0,
        tokens: set[str] | None = None,
        bot_user_id: int = 1_000_000_000_000_000_001,
        application_id: int | None = None,
        guild_id: int = 1_000_000_000_000_000_002,
        max_concurrency: int = 1,
        clock: MonotonicClock = time.monotonic,
        wall_ms: WallClockMs = _wall_ms,
    ) -> None:
        """``route_limits`` overrides ``DEFAULT_ROUTE_LIMITS`` by route key; ``tokens``, when
        given, are the only bot tokens accepted (others get 401); ``guild_id`` is reported for
        channels the stand-in did not create; ``max_concurrency`` is the IDENTIFY limit
        ``GET /gateway/bot`` reports."""
        self._port = port
        self.global_per_s = global_per_s
        self.route_limits = {**DEFAULT_ROUTE_LIMITS, **(route_limits or {})}
        self.default_limit = default_limit
        self.nonce_window_s = nonce_window_s
        self.latency_s = latency_s
        self.tokens = tokens
        self.bot_user_id = bot_user_id
        self.application_id = application_id or bot_user_id
        self.guild_id = guild_id
        self.max_concurrency = max_concurrency
        self.clock = clock
        self.wall_ms = wall_ms

        self.records: list[RequestRecord] = []
        self.accepted: Counter[str] = Counter()
        self.http_429 = 0
        self.global_429 = 0
        self.invalid_requests = 0
        self.global_calls = 0
        self.interaction_calls = 0
        self.nonce_repeats = 0
        self.messages: dict[int, StoredMessage] = {}
        self.channels: dict[int, JSON] = {}
        self.deleted_channels: set[int] = set()
        self.interactions: dict[str, JSON] = {}  # token -> callback body

        self._counter = 0
        self._global: dict[str, _Window] = {}
        self._buckets: dict[tuple[str, str, str], _Window] = {}
        self._nonces: dict[tuple[int, str], int] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._creations: dict[int, list[float]] = {}
        self._runner: web.AppRunner | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        self._routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._port).start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def base(self) -> str:
        """What ``discord.http.Route.BASE`` should be."""
        return self.url + API

    # -- faults -----------------------------------------------------------------------------

    def script(self, route: str, *faults: Fault) -> None:
        """Queue ``faults`` for the next requests of ``route`` (e.g. ``CREATE_MESSAGE``)."""
        self._faults.setdefault(route, deque()).extend(faults)

    # -- figures ----------------------------------------------------------------------------

    def channel_messages(self, channel_id: int, *, deleted: bool = False) -> list[StoredMessage]:
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id and (deleted or not m.deleted)
        ]

    def message_by_nonce(self, nonce: str) -> StoredMessage | None:
        return next((m for m in self.messages.values() if m.nonce == nonce), None)

    def accepted_at(self, nonce: str) -> float | None:
        """When (monotonic) the message created with ``nonce`` was accepted."""
        message = self.message_by_nonce(nonce)
        return None if message is None else message.accepted_at

    def max_channel_posts(self, window_s: float = 5.0) -> int:
        """The most messages created in one channel within any ``window_s`` seconds. Buckets are
        fixed windows, as Discord's are, so a burst either side of a reset can reach twice a
        bucket's count here without any 429."""
        best = 0
        for times in self._creations.values():
            for i, t in enumerate(times):
                best = max(best, bisect.bisect_left(times, t + window_s) - i)
        return best

    def stats(self) -> JSON:
        return {
            "requests": len(self.records),
            "accepted": dict(self.accepted),
            "by_status": dict(Counter(str(r.status) for r in self.records)),
            "http_429": self.http_429,
            "global_429": self.global_429,
            "http_429_by_route": dict(
                Counter(f"{r.method} {r.route}" for r in self.records if r.status == 429)
            ),
            "invalid_requests": self.invalid_requests,
            "global_calls": self.global_calls,
            "interaction_calls": self.interaction_calls,
            "not_found_routes": sorted({r.path for r in self.records if r.route == "*"}),
            "messages_created": len(self.messages),
            "nonce_repeats": self.nonce_repeats,
            "max_channel_posts_per_5s": self.max_channel_posts(5.0),
        }

    # -- the request path -------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.startswith("/_standin/"):
            return await handler(request)
        received = self.clock()
        info = request.match_info.route.resource
        canonical = info.canonical if info is not None else request.path
        template = canonical.removeprefix(API) if canonical.startswith(API + "/") else "*"
        body: object = None
        if request.content_type == "application/json" and request.can_read_body:
            body = await request.json()
        elif request.content_type == "multipart/form-data":
            # a message with files: discord.py sends the JSON part as payload_json
            raw = (await request.post()).get("payload_json")
            body = json.loads(raw) if isinstance(raw, str) else None
        # interaction callbacks and follow-ups are outside the global limit, as at Discord
        counts_global = not request.path.startswith((API + "/interactions/", API + "/webhooks/"))
        response = await self._limited(request, f"{request.method} {template}", body, counts_global)
        if response.status in (401, 403, 429):
            self.invalid_requests += 1
        if response.status == 429:
            self.http_429 += 1
        if 200 <= response.status < 300:
            self.accepted[f"{request.method} {template}"] += 1
        record = RequestRecord(
            request.method,
            template,
            request.path,
            response.status,
            received,
            self.clock(),
            body,
            counts_global,
        )
        self.records.append(record)
        return response

    async def _limited(
        self, request: web.Request, key: str, body: object, counts_global: bool
    ) -> web.Response:
        token = request.headers.get("Authorization", "")
        if (
            self.tokens is not None
            and counts_global
            and token.removeprefix("Bot ") not in self.tokens
        ):
            return _error(401)
        if not counts_global:
            self.interaction_calls += 1
        else:
            self.global_calls += 1
            blocked = self._take_global(token)
            if blocked is not None:
                return blocked
        if key.endswith(" *"):
            return _error(404)
        headers, blocked = self._take_bucket(token, key, request.match_info)
        if blocked is not None:
            return blocked
        spec = self._handlers[key]
        fault = self._faults[key].popleft() if self._faults.get(key) else Fault()
        if fault.status is None or fault.act:
            try:
                # a bulk command sync sends a list; everything else an object or nothing
                response = await spec(request, {} if body is None else body)
            except _Blocked as failed:
                response = failed.response
        if fault.status is not None:
            scripted = fault.body
            response = _error(fault.status) if scripted is None else _answer(scripted, fault.status)
        delay = self.latency_s + fault.delay_s
        if delay > 0:
            await asyncio.sleep(delay)
        response.headers.update(headers)
        return response

    def _take_global(self, token: str) -> web.Response | None:
        now = self.clock()
        window = self._global.get(token)
        if window is None or now >= window.opened + 1.0:
            window = self._global[token] = _Window(now)
        if window.used < self.global_per_s:
            window.used += 1
            return None
        self.global_429 += 1
        retry = max(window.opened + 1.0 - now, 0.001)
        body = {"message": "You are being rate limited.", "retry_after": retry, "global": True}
        headers = {
            "X-RateLimit-Global": "true",
            "X-RateLimit-Scope": "global",
            "Retry-After": str(math.ceil(retry)),
        }
        return _answer({**body, "code": 0}, 429, headers)

    def _take_bucket(
        self, token: str, key: str, params: Mapping[str, str]
    ) -> tuple[dict[str, str], web.Response | None]:
        limit = self.route_limits.get(key, self.default_limit)
        major = "+".join(
            params[p]
            for p in ("channel_id", "guild_id", "webhook_id", "webhook_token")
            if p in params
        )
        now = self.clock()
        window = self._buckets.get((token, key, major))
        if window is None or now >= window.opened + limit.per_s:
            window = self._buckets[(token, key, major)] = _Window(now)
        reset_after = window.opened + limit.per_s - now
        blocked = window.used >= limit.count
        if not blocked:
            window.used += 1
        headers = {
            "X-RateLimit-Limit": str(limit.count),
            "X-RateLimit-Remaining": str(limit.count - window.used),
            "X-RateLimit-Reset": f"{self.wall_ms() / 1000 + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.sha1(key.encode()).hexdigest()[:32],
        }
        if not blocked:
            return headers, None
        body = {
            "message": "You are being rate limited.",
            "retry_after": round(reset_after, 3),
            "global": False,
            "code": 0,
        }
        extra = {"X-RateLimit-Scope": "user", "Retry-After": str(math.ceil(reset_after))}
        return headers, _answer(body, 429, {**headers, **extra})

    # -- ids and payloads -------------------------------------------------------------------

    def snowflake(self) -> int:
        self._counter = (self._counter + 1) & 0x3FFFFF
        return ((self.wall_ms() - DISCORD_EPOCH_MS) << 22) | self._counter

    def _user(self) -> JSON:
        return {
            "id": str(self.bot_user_id),
            "username": "studyon",
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "flags": 0,
        }

    def message_payload(self, m: StoredMessage) -> JSON:
        return {
            "id": str(m.id),
            "channel_id": str(m.channel_id),
            "author": self._user(),
            "content": m.content,
            "timestamp": _iso(m.created_ms),
            "edited_timestamp": None if m.edited_ms is None else _iso(m.edited_ms),
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": m.attachments,
            "embeds": m.embeds,
            "components": m.components,
            "pinned": m.pinned,
            "type": 0,
            "flags": m.flags,
            **({"nonce": m.nonce} if m.nonce is not None else {}),
        }

    def channel_payload(self, channel_id: int) -> JSON:
        if channel_id in self.deleted_channels:
            raise _Blocked(_error(404, "Unknown Channel", 10003))
        known = self.channels.get(channel_id)
        if known is not None:
            return known
        # a channel the bot was given rather than made here: a plain text channel
        return self._new_channel(channel_id, self.guild_id, {"name": f"channel-{channel_id}"})

    def _new_channel(self, channel_id: int, guild_id: int, body: JSON) -> JSON:
        kind = int(body.get("type", 0))
        channel: JSON = {
            "id": str(channel_id),
            "type": kind,
            "guild_id": str(guild_id),
            "name": body.get("name", "channel"),
            "position": body.get("position", 0),
            "parent_id": body.get("parent_id"),
            "permission_overwrites": list(body.get("permission_overwrites", [])),
            "topic": body.get("topic"),
            "nsfw": bool(body.get("nsfw", False)),
            "rate_limit_per_user": body.get("rate_limit_per_user", 0),
            "last_message_id": None,
            "flags": 0,
        }
        if kind in (2, 13):  # voice, stage
            channel |= {
                "bitrate": body.get("bitrate", 64000),
                "user_limit": body.get("user_limit", 0),
                "rtc_region": None,
            }
        self.channels[channel_id] = channel
        return channel

    def _message(self, request: web.Request) -> StoredMessage:
        message = self.messages.get(int(request.match_info["message_id"]))
        if message is None or message.deleted:
            raise _Blocked(_error(404, "Unknown Message", 10008))
        return message

    def _create(
        self, channel_id: int, body: JSON, *, token: str | None = None
    ) -> tuple[StoredMessage, bool]:
        """The stored message for ``body``, and whether it is new (not a repeated nonce)."""
        nonce = body.get("nonce")
        nonce = None if nonce is None else str(nonce)
        now = self.clock()
        if nonce is not None and body.get("enforce_nonce") and token is None:
            first = self.messages.get(self._nonces.get((channel_id, nonce), 0))
            if first is not None and now - first.accepted_at < self.nonce_window_s:
                self.nonce_repeats += 1
                return first, False
        message = StoredMessage(
            id=self.snowflake(),
            channel_id=channel_id,
            content=str(body.get("content") or ""),
            embeds=list(body.get("embeds") or []),
            components=list(body.get("components") or []),
            nonce=nonce,
            created_ms=self.wall_ms(),
            accepted_at=now,
            flags=int(body.get("flags") or 0),
            interaction_token=token,
        )
        for sent in body.get("attachments") or []:
            attachment_id = self.snowflake()
            name = str(sent.get("filename", "file"))
            url = f"{self.url}/attachments/{channel_id}/{attachment_id}/{name}"
            message.attachments.append(
                {
                    "id": str(attachment_id),
                    "filename": name,
                    "size": 0,
                    "url": url,
                    "proxy_url": url,
                }
            )
        self.messages[message.id] = message
        if nonce is not None and token is None:
            self._nonces[(channel_id, nonce)] = message.id
        if token is None:
            self._creations.setdefault(channel_id, []).append(now)
        return message, True

    @staticmethod
    def _edit(message: StoredMessage, body: JSON, edited_ms: int) -> None:
        # a field sent as null is cleared, one left out is kept
        if "content" in body:
            message.content = str(body["content"] or "")
        if "embeds" in body:
            message.embeds = list(body["embeds"] or [])
        if "components" in body:
            message.components = list(body["components"] or [])
        if "flags" in body:
            message.flags = int(body["flags"] or 0)
        message.edited_ms = edited_ms

    # -- routes -----------------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        handlers: dict[str, Handler] = {
            "GET /users/@me": self._me,
            "GET /oauth2/applications/@me": self._application,
            "GET /gateway": self._gateway,
            "GET /gateway/bot": self._gateway,
            "GET /channels/{channel_id}": self._get_channel,
            "DELETE /channels/{channel_id}": self._delete_channel,
            "PUT /channels/{channel_id}/permissions/{target}": self._overwrite,
            "POST /guilds/{guild_id}/channels": self._create_channel,
            CREATE_MESSAGE: self._create_message,
            "GET /channels/{channel_id}/messages/{message_id}": self._get_message,
            EDIT_MESSAGE: self._edit_message,
            "DELETE /channels/{channel_id}/messages/{message_id}": self._delete_message,
            ADD_REACTION: self._react,
            "PUT /channels/{channel_id}/messages/pins/{message_id}": self._pin,
            "PUT /channels/{channel_id}/pins/{message_id}": self._pin,
            "DELETE /channels/{channel_id}/messages/pins/{message_id}": self._unpin,
            "DELETE /channels/{channel_id}/pins/{message_id}": self._unpin,
            "PUT /applications/{application_id}/commands": self._commands,
            "PUT /applications/{application_id}/guilds/{guild_id}/commands": self._commands,
            "GET /applications/{application_id}/commands": self._no_commands,
            "GET /applications/{application_id}/guilds/{guild_id}/commands": self._no_commands,
            INTERACTION_CALLBACK: self._callback,
            "POST /webhooks/{webhook_id}/{webhook_token}": self._followup,
            f"GET {HOOK_MESSAGE}": self._hook_get,
            f"PATCH {HOOK_MESSAGE}": self._hook_edit,
            f"DELETE {HOOK_MESSAGE}": self._hook_delete,
        }
        self._handlers = handlers

        async def served(request: web.Request) -> web.Response:
            raise AssertionError("answered in the middleware")

        for key in handlers:
            method, template = key.split(" ", 1)
            app.router.add_route(method, API + template, served)
        app.router.add_get("/_standin/stats", self._http_stats)
        app.router.add_get("/_standin/messages", self._http_messages)
        app.router.add_route("*", "/{tail:.*}", served)

    async def _me(self, request: web.Request, body: JSON) -> web.Response:
        return _answer(self._user())

    async def _application(self, request: web.Request, body: JSON) -> web.Response:
        return _answer(
            {
                "id": str(self.application_id),
                "name": "StudyOn",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self._user(),
                "verify_key": "0" * 64,
                "flags": 0,
            }
        )

    async def _gateway(self, request: web.Request, body: JSON) -> web.Response:
        limit = {
            "total": 1000,
            "remaining": 1000,
            "reset_after": 0,
            "max_concurrency": self.max_concurrency,
        }
        # no gateway here: a URL nothing listens on, so a connect fails at once
        return _answer({"url": "ws://127.0.0.1:9", "shards": 1, "session_start_limit": limit})

    async def _get_channel(self, request: web.Request, body: JSON) -> web.Response:
        return _answer(self.channel_payload(int(request.match_info["channel_id"])))

    async def _delete_channel(self, request: web.Request, body: JSON) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        channel = self.channel_payload(channel_id)
        self.channels.pop(channel_id, None)
        self.deleted_channels.add(channel_id)
        return _answer(channel)

    async def _overwrite(self, request: web.Request, body: JSON) -> web.Response:
        channel = self.channel_payload(int(request.match_info["channel_id"]))
        target = request.match_info["target"]
        kept = [o for o in channel["permission_overwrites"] if o.get("id") != target]
        channel["permission_overwrites"] = [*kept, {"id": target, **body}]
        return _answer(None, 204)

    async def _create_channel(self, request: web.Request, body: JSON) -> web.Response:
        guild_id = int(request.match_info["guild_id"])
        return _answer(self._new_channel(self.snowflake(), guild_id, body), 201)

    async def _create_message(self, request: web.Request, body: JSON) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        self.channel_payload(channel_id)
        message, _ = self._create(channel_id, body)
        return _answer(self.message_payload(message))

    async def _get_message(self, request: web.Request, body: JSON) -> web.Response:
        return _answer(self.message_payload(self._message(request)))

    async def _edit_message(self, request: web.Request, body: JSON) -> web.Response:
        message = self._message(request)
        self._edit(message, body, self.wall_ms())
        return _answer(self.message_payload(message))

    async def _delete_message(self, request: web.Request, body: JSON) -> web.Response:
        self._message(request).deleted = True
        return _answer(None, 204)

    async def _react(self, request: web.Request, body: JSON) -> web.Response:
        self._message(request).reactions.append(request.match_info["emoji"])
        return _answer(None, 204)

    async def _pin(self, request: web.Request, body: JSON) -> web.Response:
        self._message(request).pinned = True
        return _answer(None, 204)

    async def _unpin(self, request: web.Request, body: JSON) -> web.Response:
        self._message(request).pinned = False
        return _answer(None, 204)

    async def _commands(self, request: web.Request, body: object) -> web.Response:
        commands = body if isinstance(body, list) else []
        app_id = request.match_info["application_id"]
        return _answer(
            [
                {"id": str(self.snowflake()), "application_id": app_id, "version": "1", **c}
                for c in commands
            ]
        )

    async def _no_commands(self, request: web.Request, body: JSON) -> web.Response:
        return _answer([])

    async def _callback(self, request: web.Request, body: JSON) -> web.Response:
        token = request.match_info["webhook_token"]
        self.interactions[token] = body
        kind = int(body.get("type", 1))
        data = body.get("data") or {}
        interaction: JSON = {
            "id": request.match_info["webhook_id"],
            "type": 2,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(int(data.get("flags") or 0) & 64),
        }
        resource: JSON = {"type": kind}
        if kind == 4:  # a message in answer
            message, _ = self._create(0, data, token=token)
            interaction["response_message_id"] = str(message.id)
            resource["message"] = self.message_payload(message)
        elif kind == 5:
            message, _ = self._create(0, {"flags": data.get("flags")}, token=token)
            interaction["response_message_id"] = str(message.id)
        return _answer({"interaction": interaction, "resource": resource})

    def _hook_message(self, request: web.Request) -> StoredMessage:
        token = request.match_info["webhook_token"]
        wanted = request.match_info["message_id"]
        for m in self.messages.values():
            if m.interaction_token == token and not m.deleted and str(m.id) == wanted:
                return m
        if wanted == "@original":
            first = next((m for m in self.messages.values() if m.interaction_token == token), None)
            if first is not None and not first.deleted:
                return first
        raise _Blocked(_error(404, "Unknown Message", 10008))

    async def _followup(self, request: web.Request, body: JSON) -> web.Response:
        message, _ = self._create(0, body, token=request.match_info["webhook_token"])
        return _answer(self.message_payload(message))

    async def _hook_get(self, request: web.Request, body: JSON) -> web.Response:
        return _answer(self.message_payload(self._hook_message(request)))

    async def _hook_edit(self, request: web.Request, body: JSON) -> web.Response:
        message = self._hook_message(request)
        self._edit(message, body, self.wall_ms())
        return _answer(self.message_payload(message))

    async def _hook_delete(self, request: web.Request, body: JSON) -> web.Response:
        self._hook_message(request).deleted = True
        return _answer(None, 204)

    # -- figures over HTTP, for a stand-in in another process -------------------------------

    async def _http_stats(self, request: web.Request) -> web.Response:
        return _answer(self.stats())

    async def _http_messages(self, request: web.Request) -> web.Response:
        nonce = request.query.get("nonce")
        channel = request.query.get("channel_id")
        # ``since=N``: only the messages after the first N created (a log read as it grows)
        since = int(request.query.get("since", "0"))
        messages = list(self.messages.values())[since:] if since else self.messages.values()
        found = [
            {**self.message_payload(m), "created_ms": m.created_ms, "accepted_at": m.accepted_at}
            for m in messages
            if (nonce is None or m.nonce == nonce)
            and (channel is None or str(m.channel_id) == channel)
        ]
        return _answer(found)


@contextmanager
def pointed_at(standin: DiscordStandIn) -> Iterator[None]:
    """discord.py's REST calls (webhooks and interactions too) go to ``standin`` inside."""
    before = discord.http.Route.BASE
    discord.http.Route.BASE = standin.base
    try:
        yield
    finally:
        discord.http.Route.BASE = before


async def serve(port: int, global_per_s: int) -> None:
    async with DiscordStandIn(port=port, global_per_s=global_per_s) as standin:
        print(standin.port, flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--global-per-s", type=int, default=50)
    args = parser.parse_args(argv)
    with suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.global_per_s))


if __name__ == "__main__":
    main()

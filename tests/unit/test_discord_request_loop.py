"""The one retry layer below the bot: discord.py's own request loop, as the bot configures
it, against a local HTTP stand-in for Discord (SimCord answers above this loop, so it cannot
show it). A 5xx or a short 429 is retried there; a rate limit longer than the bot will hold (30 s)
a call for raises at once, so an alarm stays owed and the timer service tries again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import discord
import pytest
from aiohttp import web

from bot.app import MAX_RATELIMIT_WAIT_S, StudyOnBot
from bot.config import Config

CHANNEL = 4242


def answer(data: object, status: int = 200) -> web.Response:
    # exactly Discord's content type (discord.py compares it whole) and its proxy header (a
    # 429 without one reads as a Cloudflare ban)
    headers = {"Content-Type": "application/json", "Via": "1.1 google"}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=headers)


@dataclass
class StandIn:
    """Answers each POST to the channel's messages with the next scripted answer (then 200)."""

    answers: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    posts: int = 0


def _message(content: str) -> dict[str, object]:
    user = {"id": "1", "username": "studyon", "discriminator": "0", "avatar": None}
    return {
        "id": "900",
        "channel_id": str(CHANNEL),
        "author": user,
        "content": content,
        "timestamp": "2026-12-02T00:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
    }


@pytest.fixture
async def discord_http(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[StandIn, StudyOnBot]]:
    stand_in = StandIn()

    async def post_message(request: web.Request) -> web.Response:
        stand_in.posts += 1
        body = await request.json()
        if stand_in.answers:
            status, data = stand_in.answers.pop(0)
            return answer(data, status)
        return answer(_message(str(body.get("content"))))

    async def me(request: web.Request) -> web.Response:
        return answer(_message("")["author"])

    app = web.Application()
    app.router.add_post(f"/api/v10/channels/{CHANNEL}/messages", post_message)
    app.router.add_get("/api/v10/users/@me", me)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    bot = StudyOnBot(Config())
    await bot.http.static_login("stand-in")  # what login does, without the gateway
    try:
        yield stand_in, bot
    finally:
        await bot.http.close()
        await runner.cleanup()


async def send(bot: StudyOnBot, content: str) -> object:
    params = discord.http.handle_message_parameters(content=content)
    with params:
        return await bot.http.send_message(CHANNEL, params=params)


async def test_the_bot_holds_a_rate_limited_call_half_a_minute_at_most() -> None:
    assert StudyOnBot(Config()).http.max_ratelimit_timeout == MAX_RATELIMIT_WAIT_S == 30.0


async def test_a_server_error_is_retried_by_the_request_loop(
    discord_http: tuple[StandIn, StudyOnBot],
) -> None:
    stand_in, bot = discord_http
    stand_in.answers = [(500, {"message": "Internal Server Error", "code": 0})]
    message = await send(bot, "⏰ Alarm #1")
    assert isinstance(message, dict) and message["content"] == "⏰ Alarm #1"
    assert stand_in.posts == 2  # the failure and discord.py's own retry, nothing more


async def test_a_short_rate_limit_is_waited_out(discord_http: tuple[StandIn, StudyOnBot]) -> None:
    stand_in, bot = discord_http
    limited = {"message": "You are being rate limited.", "retry_after": 0.05, "global": False}
    stand_in.answers = [(429, limited)]
    await send(bot, "⏰ Alarm #2")
    assert stand_in.posts == 2


async def test_a_long_rate_limit_raises_at_once_and_is_left_to_the_outbox(
    discord_http: tuple[StandIn, StudyOnBot],
) -> None:
    stand_in, bot = discord_http
    limited = {"message": "You are being rate limited.", "retry_after": 60.0, "global": False}
    stand_in.answers = [(429, limited)]
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(discord.RateLimited) as raised:
        await send(bot, "⏰ Alarm #3")
    assert raised.value.retry_after == 60.0
    assert loop.time() - began < 5  # not held for the minute Discord asked for
    assert stand_in.posts == 1

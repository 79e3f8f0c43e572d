"""The one retry layer below the bot: discord.py's own request loop, as the bot configures
it, against a local HTTP stand-in for Discord (SimCord answers above this loop, so it cannot
show it). A 5xx or a short 429 is retried there; a rate limit longer than the bot will hold (30 s)
a call for raises at once, so an alarm stays owed and the timer service tries again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import discord
import pytest

from bench.standin import CREATE_MESSAGE, DiscordStandIn, Fault, pointed_at
from bot.app import MAX_RATELIMIT_WAIT_S, StudyOnBot
from bot.config import Config

CHANNEL = 4242


def limited(retry_after: float) -> dict[str, object]:
    return {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}


@pytest.fixture
async def discord_http() -> AsyncIterator[tuple[DiscordStandIn, StudyOnBot]]:
    async with DiscordStandIn() as stand_in:
        with pointed_at(stand_in):
            bot = StudyOnBot(Config())
            await bot.http.static_login("stand-in")  # what login does, without the gateway
            try:
                yield stand_in, bot
            finally:
                await bot.http.close()


def posts(stand_in: DiscordStandIn) -> int:
    return sum(1 for r in stand_in.records if r.key == CREATE_MESSAGE)


async def send(bot: StudyOnBot, content: str) -> object:
    params = discord.http.handle_message_parameters(content=content)
    with params:
        return await bot.http.send_message(CHANNEL, params=params)


async def test_the_bot_holds_a_rate_limited_call_half_a_minute_at_most() -> None:
    assert StudyOnBot(Config()).http.max_ratelimit_timeout == MAX_RATELIMIT_WAIT_S == 30.0


async def test_a_server_error_is_retried_by_the_request_loop(
    discord_http: tuple[DiscordStandIn, StudyOnBot],
) -> None:
    stand_in, bot = discord_http
    stand_in.script(CREATE_MESSAGE, Fault(status=500))
    message = await send(bot, "⏰ Alarm #1")
    assert isinstance(message, dict) and message["content"] == "⏰ Alarm #1"
    assert posts(stand_in) == 2  # the failure and discord.py's own retry, nothing more


async def test_a_short_rate_limit_is_waited_out(
    discord_http: tuple[DiscordStandIn, StudyOnBot],
) -> None:
    stand_in, bot = discord_http
    stand_in.script(CREATE_MESSAGE, Fault(status=429, body=limited(0.05)))
    await send(bot, "⏰ Alarm #2")
    assert posts(stand_in) == 2


async def test_a_long_rate_limit_raises_at_once_and_is_left_to_the_outbox(
    discord_http: tuple[DiscordStandIn, StudyOnBot],
) -> None:
    stand_in, bot = discord_http
    stand_in.script(CREATE_MESSAGE, Fault(status=429, body=limited(60.0)))
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(discord.RateLimited) as raised:
        await send(bot, "⏰ Alarm #3")
    assert raised.value.retry_after == 60.0
    assert loop.time() - began < 5  # not held for the minute Discord asked for
    assert posts(stand_in) == 1

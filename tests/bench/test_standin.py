"""The Discord stand-in answers the real discord.py as Discord would, and discord.py's request
loop, seen against it, spaces a channel's posts from the headers alone but meets the global
limit only by 429s (it keeps no count of its own). Limits are shrunk so each test is quick."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest
import time_machine
from discord.http import HTTPClient, Route, handle_message_parameters
from discord.webhook.async_ import async_context

from bench.standin import (
    CREATE_MESSAGE,
    INTERACTION_CALLBACK,
    DiscordStandIn,
    Fault,
    Limit,
    pointed_at,
    snowflake_ms,
)

CHANNEL = 4242
# a window short enough for a test, the count Discord uses
FAST_POSTS = {CREATE_MESSAGE: Limit(5, 0.5)}


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(global_per_s=1000, route_limits=FAST_POSTS) as server:
        with pointed_at(server):
            yield server


@pytest.fixture
async def http(standin: DiscordStandIn) -> AsyncIterator[HTTPClient]:
    client = HTTPClient(asyncio.get_running_loop())
    await client.static_login("stand-in")
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def client(standin: DiscordStandIn) -> AsyncIterator[discord.Client]:
    bot = discord.Client(intents=discord.Intents.none())
    await bot.login("stand-in")  # users/@me and the application, no gateway
    try:
        yield bot
    finally:
        await bot.close()


async def post(
    http: HTTPClient, content: str, channel: int = CHANNEL, nonce: str | None = None
) -> str:
    with handle_message_parameters(content=content, nonce=nonce) as params:
        message = await http.send_message(channel, params=params)
    return str(message["id"])


async def test_a_post_is_a_message_whose_snowflake_tells_when(
    standin: DiscordStandIn, client: discord.Client
) -> None:
    before = time.time() * 1000
    message = await client.get_partial_messageable(CHANNEL).send("⏰ Alarm")
    assert isinstance(message, discord.Message) and message.content == "⏰ Alarm"
    assert before - 2 <= snowflake_ms(message.id) <= time.time() * 1000
    assert message.created_at.timestamp() * 1000 == snowflake_ms(message.id)
    assert [m.content for m in standin.channel_messages(CHANNEL)] == ["⏰ Alarm"]


async def test_snowflakes_follow_a_frozen_wall_clock_while_limits_keep_real_time(
    standin: DiscordStandIn, http: HTTPClient
) -> None:
    with time_machine.travel("2026-12-02 08:00:00+00:00", tick=False) as traveller:
        first = int(await post(http, "a"))
        traveller.shift(60)
        second = int(await post(http, "b"))
    assert snowflake_ms(first) == 1796198400000 and snowflake_ms(second) == 1796198460000
    assert standin.stats()["http_429"] == 0


async def test_a_repeated_nonce_gets_the_first_message_back(
    standin: DiscordStandIn, client: discord.Client
) -> None:
    channel = client.get_partial_messageable(CHANNEL)
    first = await channel.send("⏰ Alarm #1", nonce="alarm-1")
    again = await channel.send("⏰ Alarm #1", nonce="alarm-1")
    other = await channel.send("⏰ Alarm #1", nonce="alarm-1b")
    assert again.id == first.id != other.id
    assert len(standin.channel_messages(CHANNEL)) == 2
    assert standin.stats()["nonce_repeats"] == 1
    create = next(r for r in standin.records if r.key == CREATE_MESSAGE)
    assert create.received <= (standin.accepted_at("alarm-1") or 0) <= create.answered


async def test_the_fifth_post_is_held_until_the_bucket_resets_and_no_429_is_met(
    standin: DiscordStandIn, http: HTTPClient
) -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()
    returned = []
    for i in range(6):
        await post(http, f"#{i}")
        returned.append(loop.time() - began)
    # discord.py reads remaining=0 on the fifth answer and sleeps out Reset-After before
    # handing that answer back; the sixth then goes into a fresh window
    assert returned[3] < 0.2 and 0.4 <= returned[4] < 0.8 and returned[5] < 0.8
    creates = [r for r in standin.records if r.key == CREATE_MESSAGE]
    assert creates[5].received - creates[0].received >= 0.5
    assert standin.stats()["http_429"] == 0
    assert standin.max_channel_posts(0.5) == 5 and len(standin.channel_messages(CHANNEL)) == 6


async def test_concurrent_posts_to_one_channel_are_spaced_without_a_429(
    standin: DiscordStandIn, http: HTTPClient
) -> None:
    await asyncio.gather(*(post(http, f"#{i}") for i in range(8)))
    stats = standin.stats()
    assert stats["http_429"] == 0 and stats["accepted"][CREATE_MESSAGE] == 8
    # the waiters are let go the moment the window resets, so a sliding window straddling
    # the reset holds more than five: Discord's fixed windows allow it too
    assert 5 <= standin.max_channel_posts(0.5) <= 8


async def test_many_channels_at_once_meet_the_global_limit_by_429s() -> None:
    async with DiscordStandIn(global_per_s=5) as standin:
        with pointed_at(standin):
            http = HTTPClient(asyncio.get_running_loop())
            try:
                await http.static_login("stand-in")
                posts = (post(http, "tick", channel=100 + i) for i in range(8))
                ids = await asyncio.gather(*posts)
            finally:
                await http.close()
    assert len(set(ids)) == 8  # all sent in the end: discord.py waits out retry_after
    stats = standin.stats()
    assert stats["global_429"] == stats["http_429"] >= 3
    assert stats["invalid_requests"] == stats["http_429"]


async def test_a_global_429_is_shaped_as_discord_shapes_it(standin: DiscordStandIn) -> None:
    standin.global_per_s = 2
    headers = {"Authorization": "Bot raw"}
    async with aiohttp.ClientSession(headers=headers) as session:
        answers = []
        for _ in range(3):
            async with session.get(standin.base + "/users/@me") as response:
                answers.append((response.status, dict(response.headers), await response.json()))
    _, got, body = answers[2]
    assert [a[0] for a in answers] == [200, 200, 429]
    assert body["global"] is True and 0 < body["retry_after"] <= 1
    assert body["message"] == "You are being rate limited." and body["code"] == 0
    assert got["X-RateLimit-Global"] == "true" and got["X-RateLimit-Scope"] == "global"
    assert got["Via"] and got["Retry-After"] == "1"
    assert got["Content-Type"] == "application/json"
    assert standin.stats()["invalid_requests"] == 1


async def test_a_route_429_is_not_global_and_carries_the_bucket(standin: DiscordStandIn) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": "Bot raw"}) as session:
        statuses = []
        for _ in range(6):
            url = f"{standin.base}/channels/{CHANNEL}/messages"
            async with session.post(url, json={"content": "x"}) as response:
                statuses.append(response.status)
                last = (dict(response.headers), await response.json())
    headers, body = last
    assert statuses == [200] * 5 + [429]
    assert body["global"] is False and headers["X-RateLimit-Scope"] == "user"
    assert headers["X-RateLimit-Remaining"] == "0" and headers["X-RateLimit-Limit"] == "5"
    assert float(headers["X-RateLimit-Reset-After"]) == pytest.approx(body["retry_after"], abs=0.01)


async def test_interaction_callbacks_are_outside_the_global_limit(
    standin: DiscordStandIn, http: HTTPClient
) -> None:
    standin.global_per_s = 1
    global_calls = standin.stats()["global_calls"]
    adapter = async_context.get()
    async with aiohttp.ClientSession() as session:
        for i in range(6):
            params = handle_message_parameters(content=f"answer {i}")
            payload = {"type": 4, "data": params.payload}
            params = params._replace(payload=payload)
            answer = await adapter.create_interaction_response(
                900 + i, f"token-{i}", session=session, params=params
            )
            assert answer["resource"]["message"]["content"] == f"answer {i}"
        hook = discord.Webhook.partial(standin.application_id, "token-0", session=session)
        followup = await hook.send("and more", wait=True)
    assert followup.content == "and more"
    stats = standin.stats()
    assert stats["interaction_calls"] == 7 and stats["accepted"][INTERACTION_CALLBACK] == 6
    assert stats["global_calls"] == global_calls and stats["http_429"] == 0


async def test_an_error_after_the_create_then_the_retry_with_its_nonce_make_one_message(
    standin: DiscordStandIn, http: HTTPClient
) -> None:
    standin.script(CREATE_MESSAGE, Fault(status=500, act=True))
    message_id = await post(http, "⏰ Alarm", nonce="alarm-7")  # discord.py retries a 500
    assert [r.status for r in standin.records if r.key == CREATE_MESSAGE] == [500, 200]
    assert [m.id for m in standin.channel_messages(CHANNEL)] == [int(message_id)]


async def test_a_scripted_answer_replaces_the_work(
    standin: DiscordStandIn, http: HTTPClient
) -> None:
    standin.script(
        CREATE_MESSAGE, Fault(status=403, body={"message": "Missing Access", "code": 50001})
    )
    with pytest.raises(discord.Forbidden):
        await post(http, "x")
    assert standin.channel_messages(CHANNEL) == []
    assert standin.stats()["invalid_requests"] == 1


async def test_a_slow_answer_is_slow(standin: DiscordStandIn, http: HTTPClient) -> None:
    standin.script(CREATE_MESSAGE, Fault(delay_s=0.3))
    loop = asyncio.get_running_loop()
    began = loop.time()
    await post(http, "slow")
    assert loop.time() - began >= 0.3
    record = standin.records[-1]
    assert record.answered - record.received >= 0.3 and record.status == 200


async def test_a_message_is_edited_reacted_to_pinned_and_deleted(
    standin: DiscordStandIn, client: discord.Client
) -> None:
    message = await client.get_partial_messageable(CHANNEL).send("draft")
    edited = await message.edit(content="final", embed=discord.Embed(title="t"))
    await message.add_reaction("✅")
    await message.pin()
    stored = standin.channel_messages(CHANNEL)[0]
    assert edited.content == "final" and edited.edited_at is not None
    assert stored.embeds[0]["title"] == "t" and stored.reactions == ["✅"] and stored.pinned
    fetched = await client.get_partial_messageable(CHANNEL).fetch_message(message.id)
    assert fetched.content == "final" and fetched.pinned
    await message.delete()
    assert standin.channel_messages(CHANNEL) == []
    with pytest.raises(discord.NotFound):
        await client.get_partial_messageable(CHANNEL).fetch_message(message.id)


async def test_a_message_with_a_file_is_read_from_its_payload_json(
    standin: DiscordStandIn, client: discord.Client
) -> None:
    file = discord.File(io.BytesIO(b"png"), filename="calendar.png")
    message = await client.get_partial_messageable(CHANNEL).send("📅", file=file)
    assert message.content == "📅" and [a.filename for a in message.attachments] == ["calendar.png"]
    assert standin.channel_messages(CHANNEL)[0].content == "📅"


async def test_channels_are_created_overwritten_and_deleted(
    standin: DiscordStandIn, http: HTTPClient
) -> None:
    made = await http.create_channel(77, 2, name="room", user_limit=4)
    channel_id = int(made["id"])
    assert snowflake_ms(channel_id) <= time.time() * 1000 and made["guild_id"] == "77"
    await http.edit_channel_permissions(channel_id, "5", "1024", "0", 1)
    fetched = await http.get_channel(channel_id)
    assert dict(fetched)["permission_overwrites"] == [
        {"id": "5", "allow": "1024", "deny": "0", "type": 1}
    ]
    await http.delete_channel(channel_id)
    with pytest.raises(discord.NotFound):
        await http.get_channel(channel_id)


async def test_an_unknown_route_is_a_discord_404_and_recorded(
    standin: DiscordStandIn, http: HTTPClient
) -> None:
    with pytest.raises(discord.NotFound) as raised:
        await http.request(Route("GET", "/voice/regions"))
    assert raised.value.text == "404: Not Found" and raised.value.code == 0
    assert standin.stats()["not_found_routes"] == ["/api/v10/voice/regions"]


async def test_an_unknown_token_is_refused_and_counted() -> None:
    async with DiscordStandIn(tokens={"good"}) as standin:
        with pointed_at(standin):
            http = HTTPClient(asyncio.get_running_loop())
            try:
                with pytest.raises(discord.LoginFailure):
                    await http.static_login("bad")
            finally:
                await http.close()
    assert standin.stats()["invalid_requests"] == 1


async def test_run_alone_it_serves_its_figures_over_http() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.standin", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        port = int(await asyncio.wait_for(process.stdout.readline(), 10))
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(headers={"Authorization": "Bot x"}) as session:
            url = f"{base}/api/v10/channels/{CHANNEL}/messages"
            body = {"content": "hi", "nonce": "n-1", "enforce_nonce": True}
            async with session.post(url, json=body) as response:
                assert response.status == 200
            async with session.get(f"{base}/_standin/stats") as response:
                stats = json.loads(await response.text())
            async with session.get(
                f"{base}/_standin/messages", params={"nonce": "n-1"}
            ) as response:
                found = json.loads(await response.text())
        assert stats["accepted"] == {CREATE_MESSAGE: 1} and stats["global_calls"] == 1
        assert [m["content"] for m in found] == ["hi"] and found[0]["created_ms"] > 0
    finally:
        process.terminate()
        await process.wait()

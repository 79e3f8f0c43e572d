"""The REST pacer (``bot.pacing``) in front of discord.py's real ``HTTPClient``, against a
small local stand-in for Discord that notes when each request arrives: calls leave evenly
spaced at the pace, by lane, coalesced by key, shared between processes through Redis, and
an interaction response (discord.py's webhook adapter) never waits behind them."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import discord
import pytest
import time_machine
from aiohttp import web

from bot import pacing
from bot.app import StudyOnBot, create_bot, start_pacing, stop_pacing
from bot.config import Config
from bot.pacing import (
    BURST,
    Lane,
    LocalPace,
    Pacer,
    PacerClosed,
    RedisPace,
    Superseded,
    Withheld,
)
from storage.redis_client import connect
from tests.support.cluster import LocalCluster
from tests.support.servers import require_redis
from tests.support.studio import make_config

CHANNEL = 4242
MESSAGE = 900


def answer(data: object, status: int = 200) -> web.Response:
    headers = {"Content-Type": "application/json", "Via": "1.1 google"}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=headers)


USER = {"id": "1", "username": "studyon", "discriminator": "0", "avatar": None}


def message(content: str, mid: int = MESSAGE) -> dict[str, object]:
    return {
        "id": str(mid),
        "channel_id": str(CHANNEL),
        "author": USER,
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


@dataclass
class Arrival:
    kind: str  # "post", "edit", "react", "interaction"
    what: str
    at: float  # the event loop's clock when the request reached the stand-in


@dataclass
class StandIn:
    """Discord's message, reaction and interaction-callback routes, noting every arrival."""

    arrivals: list[Arrival] = field(default_factory=list)
    edit_delay: float = 0.0
    edits_answered: list[tuple[str, float]] = field(default_factory=list)

    def note(self, kind: str, what: str) -> None:
        self.arrivals.append(Arrival(kind, what, asyncio.get_running_loop().time()))

    def of(self, kind: str) -> list[Arrival]:
        return [a for a in self.arrivals if a.kind == kind]


@pytest.fixture
async def stand_in(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[StandIn]:
    state = StandIn()

    async def post(request: web.Request) -> web.Response:
        content = str((await request.json()).get("content"))
        state.note("post", content)
        return answer(message(content))

    async def edit(request: web.Request) -> web.Response:
        content = str((await request.json()).get("content"))
        state.note("edit", content)
        await asyncio.sleep(state.edit_delay)
        state.edits_answered.append((content, asyncio.get_running_loop().time()))
        return answer(message(content))

    async def react(request: web.Request) -> web.Response:
        state.note("react", request.match_info["emoji"])
        return web.Response(status=204, headers={"Via": "1.1 google"})

    async def callback(request: web.Request) -> web.Response:
        state.note("interaction", request.match_info["iid"])
        return answer({"interaction": {"id": request.match_info["iid"], "type": 2}})

    async def me(request: web.Request) -> web.Response:
        return answer(USER)

    app = web.Application()
    base = "/api/v10"
    app.router.add_post(f"{base}/channels/{CHANNEL}/messages", post)
    app.router.add_patch(f"{base}/channels/{CHANNEL}/messages/{{mid}}", edit)
    app.router.add_put(f"{base}/channels/{CHANNEL}/messages/{{mid}}/reactions/{{emoji}}/@me", react)
    app.router.add_post(f"{base}/interactions/{{iid}}/{{token}}/callback", callback)
    app.router.add_get(f"{base}/users/@me", me)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    # interaction callbacks go through discord.py's webhook adapter, whose routes share BASE
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
async def bot(stand_in: StandIn) -> AsyncIterator[StudyOnBot]:
    bot = StudyOnBot(Config())
    await bot.http.static_login("stand-in")  # what login does, without the gateway
    try:
        yield bot
    finally:
        pacer = getattr(bot.http, "_test_pacer", None)
        if isinstance(pacer, Pacer):
            await pacer.close()
        await bot.http.close()


def paced(bot: StudyOnBot, pace: pacing.Pace) -> Pacer:
    pacer = Pacer(pace)
    pacing.install(bot.http, pacer)
    bot.http._test_pacer = pacer  # type: ignore[attr-defined]
    return pacer


async def send(http: discord.http.HTTPClient, content: str) -> object:
    with discord.http.handle_message_parameters(content=content) as params:
        return await http.send_message(CHANNEL, params=params)


async def edit(http: discord.http.HTTPClient, content: str, mid: int = MESSAGE) -> object:
    with discord.http.handle_message_parameters(content=content) as params:
        return await http.edit_message(CHANNEL, mid, params=params)


async def marked(which: Lane, call: Any, replaces: str | None = None) -> object:
    with pacing.lane(which, replaces=replaces):
        return await call


def spacing(times: Sequence[float], window: float) -> int:
    """The most arrivals in any half-open window of ``window`` seconds."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` (the pacer's counters have no event to wait on) for 2 s at most."""
    async with asyncio.timeout(2.0):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.001)


# --------------------------------------------------------------------------------------------


def test_an_unmarked_call_is_other_and_a_mark_ends_with_its_block() -> None:
    assert pacing.current_lane() is Lane.OTHER
    with pacing.lane(Lane.ALARM):
        assert pacing.current_lane() is Lane.ALARM
        with pacing.lane(Lane.CARD, replaces="card:1"):
            assert pacing.current_lane() is Lane.CARD
        assert pacing.current_lane() is Lane.ALARM
    assert pacing.current_lane() is Lane.OTHER
    assert list(Lane) == [
        Lane.ALARM,
        Lane.ALARM_EDIT,
        Lane.BOARD,
        Lane.OTHER,
        Lane.CARD,
        Lane.REACTION,
    ]


async def test_two_hundred_calls_at_once_leave_evenly_spaced_at_the_pace(
    stand_in: StandIn, bot: StudyOnBot
) -> None:
    rate = 200
    pacer = paced(bot, LocalPace(rate))
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.gather(*(send(bot.http, f"#{n}") for n in range(200)))
    times = [a.at for a in stand_in.of("post")]
    assert len(times) == 200 and pacer.sent == 200
    span = max(times) - min(times)
    most_in_100ms = spacing(times, 0.1)
    print(
        f"200 calls at {rate}/s: span {span:.3f} s, {199 / span:.0f}/s,"
        f" at most {most_in_100ms} in any 100 ms, at most {spacing(times, 1.0)} in any 1 s,"
        f" {pacer.most_waiting} waiting at most, all done in {loop.time() - began:.3f} s"
    )
    assert span >= (200 - BURST) / rate * 0.95  # not faster than the pace
    assert span < 200 / rate * 1.3  # and not much slower
    assert spacing(times, 1.0) <= rate + BURST
    assert most_in_100ms <= rate // 10 + BURST + 2  # evenly spread, not in bursts
    assert pacer.waiting == 0


async def test_a_waiting_alarm_goes_before_every_call_queued_ahead_of_it(
    stand_in: StandIn, bot: StudyOnBot
) -> None:
    pacer = paced(bot, LocalPace(50))
    tasks = [
        asyncio.create_task(marked(Lane.REACTION, bot.http.add_reaction(CHANNEL, MESSAGE, f"r{n}")))
        for n in range(8)
    ]
    tasks += [asyncio.create_task(send(bot.http, f"other {n}")) for n in range(8)]
    await until(lambda: pacer.waiting == 16 - BURST)  # the first reactions went at once
    tasks.append(asyncio.create_task(marked(Lane.ALARM, send(bot.http, "⏰ Alarm"))))
    await asyncio.gather(*tasks)
    order = [a.what for a in stand_in.arrivals]
    print(f"arrival order: {order}")
    went = [f"r{n}" for n in range(BURST)]
    assert sorted(order[:BURST]) == went
    assert order[BURST] == "⏰ Alarm"
    # OTHER before REACTION, each lane in arrival order
    assert order[BURST + 1 :] == [f"other {n}" for n in range(8)] + [
        f"r{n}" for n in range(BURST, 8)
    ]


async def test_a_newer_card_edit_replaces_the_waiting_ones(
    stand_in: StandIn, bot: StudyOnBot
) -> None:
    pacer = paced(bot, LocalPace(20))
    busy = [asyncio.create_task(send(bot.http, f"busy {n}")) for n in range(BURST)]
    await until(lambda: len(stand_in.arrivals) == BURST)  # the pace's turns are taken
    key = f"card:{MESSAGE}"
    edits = []
    for n in (1, 2, 3):
        edits.append(asyncio.create_task(marked(Lane.CARD, edit(bot.http, f"card v{n}"), key)))
        superseded = n - 1
        await until(lambda: pacer.superseded == superseded and pacer.waiting == 1)  # noqa: B023
    await asyncio.gather(*busy)
    results = await asyncio.gather(*edits, return_exceptions=True)
    assert isinstance(results[0], Superseded) and results[0].key == key
    assert isinstance(results[1], Superseded)
    assert isinstance(results[2], dict) and results[2]["content"] == "card v3"
    assert [a.what for a in stand_in.of("edit")] == ["card v3"]  # only the newest is sent
    assert pacer.superseded == 2


async def test_a_newer_edit_waits_for_the_older_one_on_the_wire(
    stand_in: StandIn, bot: StudyOnBot
) -> None:
    stand_in.edit_delay = 0.15  # Discord answers the first edit slowly
    pacer = paced(bot, LocalPace(100))
    key = f"card:{MESSAGE}"
    older = asyncio.create_task(marked(Lane.CARD, edit(bot.http, "card v1"), key))
    await until(lambda: len(stand_in.of("edit")) == 1)
    newer = asyncio.create_task(marked(Lane.CARD, edit(bot.http, "card v2"), key))
    await until(lambda: pacer.waiting == 1)
    await asyncio.sleep(0.02)  # the pacer's task is now waiting for the key to come back
    other = asyncio.create_task(send(bot.http, "unrelated"))  # not held by the key
    await asyncio.gather(older, newer, other)
    (v1_answered,) = [at for what, at in stand_in.edits_answered if what == "card v1"]
    (v2_arrived,) = [a.at for a in stand_in.of("edit") if a.what == "card v2"]
    assert v2_arrived >= v1_answered  # never the older after the newer
    assert stand_in.of("post")[0].at < v1_answered
    assert pacer.waiting == 0


async def test_an_interaction_response_never_waits_behind_the_queue(
    stand_in: StandIn, bot: StudyOnBot
) -> None:
    pacer = paced(bot, LocalPace(10))
    queued = [asyncio.create_task(send(bot.http, f"#{n}")) for n in range(40)]  # 4 s of queue
    await until(lambda: pacer.waiting == 40 - BURST)
    payload = {
        "id": "777",
        "application_id": "1",
        "type": 2,
        "token": "interaction-token",
        "version": 1,
        "attachment_size_limit": 8_000_000,
        "data": {"id": "5", "name": "timer", "type": 1},
        "channel": {"id": "99", "type": 1, "recipients": [USER]},
        "user": USER,
    }
    interaction: discord.Interaction[Any] = discord.Interaction(
        data=cast(Any, payload), state=bot._connection
    )
    loop = asyncio.get_running_loop()
    began = loop.time()
    await interaction.response.defer()
    took = loop.time() - began
    print(f"interaction response took {took * 1000:.1f} ms with {pacer.waiting} calls queued")
    assert stand_in.of("interaction")[0].what == "777"
    assert took < 0.25
    assert pacer.waiting >= 35  # the queue was still there
    # closing the pacer ends its task and refuses the calls still waiting
    await pacer.close()
    results = await asyncio.gather(*queued, return_exceptions=True)
    refused = [r for r in results if isinstance(r, PacerClosed)]
    assert len(refused) >= 35
    assert pacer._pump is None


async def test_the_in_process_pace_moves_under_a_frozen_wall_clock(
    stand_in: StandIn, bot: StudyOnBot
) -> None:
    pacer = paced(bot, LocalPace(200))
    loop = asyncio.get_running_loop()
    with time_machine.travel("2026-01-01T00:00:00+00:00", tick=False):
        began = loop.time()
        await asyncio.wait_for(asyncio.gather(*(send(bot.http, f"#{n}") for n in range(40))), 5)
        took = loop.time() - began
    times = [a.at for a in stand_in.of("post")]
    print(f"40 calls at 200/s under a frozen wall clock: {took:.3f} s")
    assert len(times) == 40 and pacer.sent == 40
    assert (40 - BURST) / 200 * 0.95 <= max(times) - min(times) < 1.0


@pytest.fixture(
    params=[
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis_cluster", marks=pytest.mark.redis_cluster),
    ]
)
async def shared_url(request: pytest.FixtureRequest) -> str:
    """A session URL the pace is shared through: one Redis server, or a Redis Cluster."""
    if request.param == "redis":
        return await require_redis()
    cluster: LocalCluster = request.getfixturevalue("redis_cluster")
    return cluster.url


async def test_two_processes_sharing_the_redis_pace_keep_to_it_together(
    stand_in: StandIn, shared_url: str
) -> None:
    url = shared_url
    key = f"studyon:test-pacing:{uuid.uuid4().hex}"
    rate = 100
    clients = []
    pacers = []
    for _ in range(2):  # two HTTPClients, as two processes of one bot would have
        http = discord.http.HTTPClient(asyncio.get_running_loop())
        await http.static_login("stand-in")
        pace = RedisPace(rate, url, key)
        # connected before the clock starts: a cluster client's first call learns the
        # cluster (its command table too), holding the event loop for tens of milliseconds,
        # which would hold the calls already let through and measure that, not the pace
        await pace.now_ms()
        pacer = Pacer(pace)
        pacing.install(http, pacer)
        clients.append(http)
        pacers.append(pacer)
    try:
        await asyncio.gather(
            *(send(http, f"{i}:{n}") for n in range(50) for i, http in enumerate(clients))
        )
    finally:
        for pacer in pacers:
            await pacer.close()
        for http in clients:
            await http.close()
    times = [a.at for a in stand_in.of("post")]
    assert len(times) == 100
    assert {a.what.split(":")[0] for a in stand_in.arrivals} == {"0", "1"}
    span = max(times) - min(times)
    most_in_250ms = spacing(times, 0.25)
    print(
        f"2 clients x 50 calls, shared {rate}/s in Redis: span {span:.3f} s,"
        f" {99 / span:.0f}/s together, at most {spacing(times, 0.1)} in any 100 ms,"
        f" {most_in_250ms} in any 250 ms"
    )
    assert span >= (100 - BURST) / rate * 0.95  # together, not each, at the pace
    assert most_in_250ms <= rate // 4 + BURST + 3


async def test_an_unreachable_redis_paces_in_process_instead(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pace = RedisPace(100, "redis://127.0.0.1:1/0", "studyon:test-pacing:unreachable")
    try:
        for _ in range(BURST):
            assert await pace.take() == 0.0
        assert await pace.take() > 0  # the in-process pace, at the same rate
    finally:
        await pace.close()
    assert "pacing this process alone" in caplog.text


async def test_a_hanging_redis_costs_one_timeout_not_one_per_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # a server that accepts connections and never answers: each call would wait out a timeout
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pace = RedisPace(1000, f"redis://127.0.0.1:{port}/0", "studyon:test-pacing:hanging")
    loop = asyncio.get_running_loop()
    try:
        first = loop.time()
        await pace.take()
        after_first = loop.time()
        for _ in range(20):
            await pace.take()
        rest = loop.time() - after_first
    finally:
        await pace.close()
        server.close()
    assert after_first - first >= 0.9  # the one timeout
    assert rest < 0.2  # then paced alone, without asking Redis again
    assert "pacing this process alone" in caplog.text


async def test_the_bot_paces_in_process_with_the_embedded_store(tmp_path: Any) -> None:
    bot = create_bot(make_config(tmp_path, discord={"requests_per_second": 30}))
    original = bot.http.request
    await start_pacing(bot)
    try:
        assert bot._pacer is not None
        assert isinstance(bot._pacer.pace, LocalPace) and bot._pacer.pace.per_second == 30
        assert bot.http.request != original
    finally:
        await stop_pacing(bot)
        await bot.http.close()
    assert bot.http.request == original and bot._pacer is None


async def test_the_bot_shares_its_pace_in_redis_by_its_application_id(
    tmp_path: Any, shared_url: str
) -> None:
    bot = create_bot(make_config(tmp_path, session={"redis_url": shared_url}))
    application_id = random.randrange(10**17, 10**18)
    bot._connection.application_id = application_id
    key = f"studyon:pacing:{application_id}"
    server = connect(shared_url)
    await start_pacing(bot)
    try:
        assert bot._pacer is not None and isinstance(bot._pacer.pace, RedisPace)
        assert bot._pacer.pace.key == key
        assert bot._pacer.pace.per_second == 45
        # the pace's state is read from the server: one that says "nothing before ten
        # seconds from now" makes the next call wait about that long. (Checking that the
        # key exists after a call raced its expiry: at 45/s it lives about 90 ms.)
        seconds, micros = await server.time()
        await server.hset(key, "tat1", str((seconds * 1_000_000 + micros) + 10_000_000))
        await server.pexpire(key, 60_000)
        assert 5.0 < await bot._pacer.pace.take() <= 10.0
    finally:
        await stop_pacing(bot)
        await bot.http.close()
        await server.delete(key)
        await server.aclose()


def test_without_an_application_id_the_key_is_a_hash_of_the_token() -> None:
    key = pacing.pace_key(None, "MTIz.secret-token")
    assert key.startswith("studyon:pacing:token-") and "secret" not in key
    assert key == pacing.pace_key(None, "MTIz.secret-token")


async def test_a_call_whose_condition_fails_by_its_turn_is_withheld_and_never_sent(
    stand_in: StandIn, bot: StudyOnBot
) -> None:
    """A call marked ``only_if`` is asked when its turn comes, not when it joined the queue:
    one still waiting after the condition turned false is not sent; one that still holds is."""
    paced(bot, LocalPace(20))
    busy = [asyncio.create_task(send(bot.http, f"busy {n}")) for n in range(BURST + 4)]
    await until(lambda: len(stand_in.arrivals) == BURST)  # the rest wait their turns
    in_time = True
    late = asyncio.create_task(
        marked_if(lambda: in_time, send(bot.http, "only soon enough"), Lane.ALARM)
    )
    kept = asyncio.create_task(marked_if(lambda: True, send(bot.http, "always"), Lane.ALARM))
    await asyncio.sleep(0)
    in_time = False  # it became too late while the call waited
    with pytest.raises(Withheld):
        await late
    assert isinstance(await kept, dict)
    await asyncio.gather(*busy)
    sent = [a.what for a in stand_in.of("post")]
    assert "only soon enough" not in sent and "always" in sent


async def marked_if(only_if: Callable[[], bool], call: Any, which: Lane) -> object:
    with pacing.lane(which, only_if=only_if):
        return await call

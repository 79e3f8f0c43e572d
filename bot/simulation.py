"""Virtual time for the bot running inside SimCord (the offline demo and the e2e tests).

SimCord moves the event loop's clock; APScheduler decides what is due from the wall clock.
``VirtualTime.advance`` moves both together and stops at every scheduled wake-up on the way,
so each alarm is posted at its own instant rather than all at the end of a long jump.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import discord
import time_machine
from simcord import Env

from bot.clock import SystemClock

SIM_EPOCH = "2026-01-01T00:00:00+00:00"  # where SimCord's virtual clock starts
# SimCord gives each settle one window of real time (its ``settle_timeout``). A wake-up that is
# busy, not stuck, can outlast one window on a loaded machine; it gets this many before a
# settle is taken to be stuck.
SETTLE_WINDOWS = 8


# Discord checks a message's nonce "for uniqueness in the past few minutes" when
# ``enforce_nonce`` is set (discord.py sets it with every nonce); SimCord ignores nonces, so
# the simulated Discord remembers them for the shortest span "a few minutes" can mean
NONCE_REMEMBERED_S = 120
_POST_MESSAGE = ["channels", "{channel_id}", "messages"]


# per simulated Discord: the positions in its REST log of the posts answered with an earlier
# message, which created nothing
_REPEATS: weakref.WeakKeyDictionary[Any, set[int]] = weakref.WeakKeyDictionary()


def repeated_posts(env: Env) -> set[int]:
    """The positions in ``env.http_requests`` of the message posts that repeated a nonce and
    were answered with the message it had created: posts that created nothing."""
    return set(_REPEATS.get(env.backend, ()))


def honour_nonces() -> None:
    """Make SimCord's message create answer as Discord's does: a nonce the bot already sent in
    that channel, with ``enforce_nonce``, within ``NONCE_REMEMBERED_S`` by the simulated clock,
    returns the message it created, and creates nothing. Idempotent."""
    from simcord.http import _helpers, router

    handlers = router._ROUTES["POST"]
    index = next(i for i, (template, _) in enumerate(handlers) if template == _POST_MESSAGE)
    create = handlers[index][1]
    if getattr(create, "honours_nonces", False):
        return
    created: weakref.WeakKeyDictionary[Any, dict[tuple[int, str], int]]
    created = weakref.WeakKeyDictionary()

    def create_once(ctx: Any) -> Any:
        body = ctx.body()
        nonce = body.get("nonce")
        if nonce is None or not body.get("enforce_nonce"):
            return create(ctx)
        channel_id = ctx.int_arg("channel_id")
        seen = created.setdefault(ctx.backend, {})
        first = seen.get((channel_id, str(nonce)))
        message = ctx.backend.messages.get(channel_id, {}).get(first) if first else None
        if first is not None and message is not None:
            age_s = (ctx.backend.clock.now() - discord.utils.snowflake_time(first)).total_seconds()
            if age_s < NONCE_REMEMBERED_S:
                # SimCord logs a request before answering it: this one is the last entry
                at = len(ctx.backend.http_requests) - 1
                logged = ctx.backend.http_requests[at].json
                if not isinstance(logged, dict) or str(logged.get("nonce")) != str(nonce):
                    raise AssertionError("the REST log's last entry is not this post")
                _REPEATS.setdefault(ctx.backend, set()).add(at)
                return _helpers.message_response(ctx, message)
        response = create(ctx)
        seen[(channel_id, str(nonce))] = int(response["id"])
        return response

    create_once.honours_nonces = True  # type: ignore[attr-defined]
    handlers[index] = (handlers[index][0], create_once)


honour_nonces()


def patient_member_actions(env: Env) -> None:
    """A member's action in ``env`` (a slash command, a click, a reaction) waits for the
    bot's work up to ``SETTLE_WINDOWS`` settle windows, as ``VirtualTime.settle`` does for
    time, so work that is busy on a loaded machine (a slow disk) is not taken for a stuck
    bot; work still running after the last window fails the action as before."""
    settle_once = env._settle_internal

    async def settle(*, dispatch: str | None = None, **kwargs: Any) -> None:
        if dispatch is None or kwargs.get("_deadline") is not None:
            # a settle of time or of the environment: ``VirtualTime`` gives those its windows
            return await settle_once(dispatch=dispatch, **kwargs)
        for window in range(SETTLE_WINDOWS, 0, -1):
            try:
                return await settle_once(dispatch=dispatch, **kwargs)
            except TimeoutError:
                if window == 1:
                    raise

    env._settle_internal = settle  # type: ignore[method-assign]


@contextmanager
def frozen_wall_clock(at: str = SIM_EPOCH) -> Iterator[time_machine.Traveller]:
    """Stop the wall clock at SimCord's epoch; it moves only when ``VirtualTime`` says."""
    with time_machine.travel(at, tick=False) as traveller:
        yield traveller


class VirtualTime:
    def __init__(self, env: Env, clock: time_machine.Traveller) -> None:
        self.env = env
        self.clock = clock

    @staticmethod
    def now_ms() -> int:
        return SystemClock().now_ms()

    def _next_due_ms(self) -> int | None:
        bot: Any = self.env.bot
        services = getattr(bot, "_services", None)
        return services.scheduler.next_due_ms() if services is not None else None

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass, stopping at each scheduled wake-up on the way."""
        end = self.now_ms() + round(seconds * 1000)
        while (now := self.now_ms()) < end:
            due = self._next_due_ms()
            target = due if due is not None and now < due < end else end
            self.clock.shift(timedelta(milliseconds=target - now))
            try:
                await self.env.advance_time((target - now) / 1000)
            except TimeoutError:
                # the clock has reached the target; only the work it woke is still running
                await self.settle(windows=SETTLE_WINDOWS - 1)
        await self.settle()

    async def settle(self, windows: int = SETTLE_WINDOWS) -> None:
        """Wait until the bot's work is done, giving it up to ``windows`` settle windows."""
        for window in range(windows, 0, -1):
            try:
                await self.env.settle()
                return
            except TimeoutError:
                if window == 1:
                    raise

    async def advance_to(self, at_ms: int) -> None:
        if at_ms > self.now_ms():
            await self.advance((at_ms - self.now_ms()) / 1000)

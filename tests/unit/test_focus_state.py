"""A focus room's voice channel: what it allows is a function of the timer alone."""

from __future__ import annotations

import discord

from bot.domain.run import Run
from bot.domain.timer import Pattern, Timer
from bot.services.timer.common import view_of
from cogs._channels import HIDDEN, voice_everyone
from cogs.focus import quiet
from storage.session.base import RoomKey

KEY = RoomKey(1, 2)
MIN = 60_000


def test_only_a_running_study_phase_is_quiet() -> None:
    timer = Timer(Pattern(25 * MIN, 5 * MIN, 2), 0)
    run = Run(7, timer)
    assert quiet(view_of(KEY, run, MIN)) is True  # study 1
    assert quiet(view_of(KEY, run, 26 * MIN)) is False  # the break
    assert quiet(view_of(KEY, run, 31 * MIN)) is True  # study 2
    assert quiet(view_of(KEY, run, 56 * MIN)) is False  # the run is over
    paused = run.with_timer(timer.pause(MIN))
    assert quiet(view_of(KEY, paused, 2 * MIN)) is False
    assert quiet(None) is False  # no run


def test_the_everyone_overwrite_keeps_the_channel_hidden() -> None:
    for is_quiet in (True, False):
        allow, deny = voice_everyone(is_quiet).pair()
        hidden_deny = HIDDEN.pair()[1]
        assert deny.value & hidden_deny.value == hidden_deny.value
        speak = discord.Permissions(speak=True)
        assert bool(deny.value & speak.value) is is_quiet
        assert bool(allow.value & speak.value) is not is_quiet
    assert voice_everyone(False, speak_held=False).pair()[0].value == 0

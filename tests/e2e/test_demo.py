"""The offline demo plays a real room and prints what a member would read."""

from __future__ import annotations

import io

from bot.demo import run_demo


def test_the_demo_shows_a_whole_run() -> None:
    out = io.StringIO()
    assert run_demo(out=out) == 0
    text = out.getvalue()
    channel = text.split("as a member sees it:", 1)[1]
    assert channel.count("⏰ **Alarm #") == 3
    assert "**bob** joined" in channel and "**carol** joined" in channel
    assert "**bob** dismissed alarm #2" not in channel  # the one Bob missed
    assert "**alice** dismissed alarm #3" in channel
    assert "Today's Study Kings: **alice** (+100 points back), **carol** (+50 points back)" in (
        channel
    )
    assert "[1] [2] [3] [4] [5] [Extend]" in channel
    assert "<@" not in channel and "<t:" not in channel  # shown as a client renders them

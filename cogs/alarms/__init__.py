"""Alarms on Discord: the message at every phase boundary, dismissing it, and the run's end.

The services decide *what* happens (which boundary fell, who is king, what was refunded);
this cog is the ``RoomListener`` that shows it in the room's text channel:

- a boundary is one message ("⏰ Alarm #3 — …") with a Dismiss button: one REST call (the
  card already shows the whole run, so a boundary does not edit it; the end of the run does);
- a dismissal by the button updates that alarm in the click's interaction response (free
  against the global limit) to show who dismissed it, on time or late; members' own ⏰
  reactions fold into one REST edit of the alarm per few seconds (``board``);
- the end of a run announces Today's Study King(s) with their refunds, asks for a 1–5 rating
  of the day and offers Extend.

Buttons are ``DynamicItem``s whose ``custom_id`` carries guild, room, run and boundary, so they
work on messages posted before a restart. Posting is idempotent (the message id is stored, and
the request carries a nonce Discord deduplicates), so a retried delivery never doubles an alarm.
"""

from __future__ import annotations

from discord.ext import commands

from cogs.alarms.listener import Alarms
from cogs.alarms.text import minutes_left, phase_text, unix

__all__ = ["Alarms", "minutes_left", "phase_text", "setup", "unix"]


async def setup(bot: commands.Bot) -> None:
    from bot.app import StudyOnBot

    assert isinstance(bot, StudyOnBot)
    await bot.add_cog(Alarms(bot))

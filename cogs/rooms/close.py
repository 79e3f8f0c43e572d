"""The ``/room close`` confirmation: two buttons that survive a restart.

One ``DynamicItem`` serves both: its ``custom_id`` carries the answer (confirm or cancel), the
room, the member who asked and the prompt's expiry, so a prompt answered after a restart is
still understood, and one answered late says it expired and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import discord

from bot.domain.errors import NotFound, StudyOnError
from bot.domain.rooms import RoomInfo
from bot.i18n import t
from cogs._common import NO_MENTIONS, PersistentButton, error_text, member_locale, studyon
from cogs._delivery import guarded
from cogs.rooms.render import title_text

if TYPE_CHECKING:
    from bot.app import StudyOnBot

log = logging.getLogger(__name__)

CONFIRM_SECONDS = 60  # how long a close confirmation waits for an answer

Answer = Literal["confirm", "cancel"]


class PromptExpired(StudyOnError):
    """A close confirmation answered after its time ran out."""

    code = "error.room.close_expired"

    def __init__(self) -> None:
        super().__init__("close prompt expired")


class NotYourPrompt(StudyOnError):
    """A close confirmation answered by someone other than who asked for it."""

    code = "error.room.not_your_prompt"

    def __init__(self) -> None:
        super().__init__("not your prompt")


@dataclass(frozen=True, slots=True)
class ClosePrompt:
    """A ``/room close`` confirmation: the room, who asked, and until when (unix seconds)."""

    room_id: int
    owner_id: int
    until_s: int

    @property
    def name(self) -> str:
        return f"{self.room_id}:{self.owner_id}:{self.until_s}"

    def expired(self, now_ms: int) -> bool:
        return now_ms >= self.until_s * 1000


class CloseButton(
    PersistentButton,
    template=r"studyon:close:(?P<answer>confirm|cancel):(?P<room>[0-9]+):(?P<owner>[0-9]+):(?P<until>[0-9]+)",
):
    def __init__(self, prompt: ClosePrompt, answer: Answer, label: str) -> None:
        style = discord.ButtonStyle.danger if answer == "confirm" else discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(
                label=label, style=style, custom_id=f"studyon:close:{answer}:{prompt.name}"
            )
        )
        self.prompt = prompt
        self.answer: Answer = answer

    @classmethod
    def from_match(cls, match: re.Match[str], label: str) -> CloseButton:
        prompt = ClosePrompt(int(match["room"]), int(match["owner"]), int(match["until"]))
        answer: Answer = "confirm" if match["answer"] == "confirm" else "cancel"
        return cls(prompt, answer, label or answer.title())

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        answer = _confirm if self.answer == "confirm" else _cancel
        await guarded(interaction, lambda: answer(interaction, self.prompt))


def close_buttons(prompt: ClosePrompt, locale: str) -> discord.ui.View:
    buttons = discord.ui.View(timeout=None)
    buttons.add_item(CloseButton(prompt, "confirm", t("rooms.close.button.confirm", locale)))
    buttons.add_item(CloseButton(prompt, "cancel", t("rooms.close.button.cancel", locale)))
    return buttons


class PendingPrompts:
    """The close prompts of this process still waiting for an answer: each says so on
    itself when its time runs out (after a restart its buttons answer that it expired)."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def expire_later(
        self, interaction: discord.Interaction[Any], prompt: ClosePrompt, text: str
    ) -> None:
        async def expire() -> None:
            await asyncio.sleep(CONFIRM_SECONDS)
            self._tasks.pop(prompt.name, None)
            await edit_prompt(interaction, text)

        self._tasks[prompt.name] = asyncio.create_task(expire())

    def answered(self, prompt: ClosePrompt) -> None:
        task = self._tasks.pop(prompt.name, None)
        if task is not None:
            task.cancel()

    def cancel_all(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()


ROOMS_COG = "Rooms"  # the cog that holds this bot's pending prompts (``prompts``)


async def _prompt_room(
    bot: StudyOnBot, interaction: discord.Interaction[Any], prompt: ClosePrompt
) -> RoomInfo:
    """The prompt's room, once the one answering is the one who asked (else refused)."""
    if interaction.user.id != prompt.owner_id:
        raise NotYourPrompt()
    pending = getattr(bot.get_cog(ROOMS_COG), "prompts", None)
    if isinstance(pending, PendingPrompts):
        pending.answered(prompt)
    view = await bot.services.rooms.get(prompt.room_id)
    if view.room.guild_id != interaction.guild_id:
        raise NotFound("room")
    return view.room


async def _confirm(interaction: discord.Interaction[Any], prompt: ClosePrompt) -> None:
    bot = studyon(interaction)
    services = bot.services
    locale = await member_locale(interaction)
    room = await _prompt_room(bot, interaction, prompt)
    if prompt.expired(services.clock.now_ms()):
        await interaction.response.edit_message(
            content=error_text(PromptExpired(), locale), view=None
        )
        return
    title = title_text(room.title)
    await interaction.response.edit_message(
        content=t("rooms.close.closing", locale, title=title), view=None
    )
    try:
        closed = await services.rooms.close(prompt.room_id, interaction.user.id, "owner")
    except StudyOnError as error:
        await edit_prompt(interaction, error_text(error, locale))
        return
    key = "rooms.close.done_pending" if closed.channels_pending else "rooms.close.done"
    await edit_prompt(interaction, t(key, locale, title=title))


async def _cancel(interaction: discord.Interaction[Any], prompt: ClosePrompt) -> None:
    locale = await member_locale(interaction)
    room = await _prompt_room(studyon(interaction), interaction, prompt)
    await interaction.response.edit_message(
        content=t("rooms.close.cancelled", locale, title=title_text(room.title)), view=None
    )


async def edit_prompt(interaction: discord.Interaction[Any], content: str) -> None:
    try:
        await interaction.edit_original_response(
            content=content, view=None, allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException:
        log.info("could not edit the close confirmation (channel gone?)")

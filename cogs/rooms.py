"""``/room``: open, find, join, leave and run study rooms, each a pair of private channels.

Every refusal happens before anything changes: inputs and points are checked before a
channel exists, the bot's own permissions before a member pays. Channels are made first and
the room row after; if the row cannot be written the channels made are owed deleted, so a
failed create leaves nothing behind. When a room closes, however it closes (the owner, the
last member leaving, nobody extending a finished run), its channels are owed deleted, and a
member who leaves is owed their access removed: the services record that work and do it
through this cog's ``ChannelCleaner``, trying again until Discord has done it. The member is
told when it is still under way.

The close confirmation's buttons are ``DynamicItem``s whose ``custom_id`` carries the room,
the member who asked and the prompt's expiry, so they answer after a restart too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.errors import AlreadyMember, NotFound, NotOwner, RoomClosed, StudyOnError
from bot.i18n import ls, t
from bot.services.cleanups import access_removals, channel_deletes
from bot.services.events import BoundaryFired, RunFinished
from bot.services.events import RoomClosed as RoomClosedEvent
from bot.services.rooms import OPEN, RoomDraft, RoomView, key_of
from cogs import _channels
from cogs._card import digest, render_card
from cogs._common import NO_MENTIONS, error_text, member_locale, reply, studyon
from cogs._delivery import board, guarded, refresh_card_quietly
from storage.models import Room, RoomMember

if TYPE_CHECKING:
    from bot.app import AnyStudyOnBot

log = logging.getLogger(__name__)

T = TypeVar("T")

PAGE_SIZE = 10
CHOICES_MAX = 25
CONFIRM_SECONDS = 60  # how long a close confirmation waits for an answer
ROOM_ID_MAX = 2**63 - 1


class MissingPermission(StudyOnError):
    """The bot lacks a Discord permission it needs; ``permission`` is its shown name."""

    code = "error.missing_permission"

    def __init__(self, permission: str) -> None:
        super().__init__(f"missing permission {permission}", permission=permission)


class JoinNotCompleted(StudyOnError):
    """Discord did not open the room's channels to the member; the join was taken back and
    what they paid returned."""

    code = "error.room.join_failed"

    def __init__(self, cost: int) -> None:
        super().__init__("join not completed", cost=cost)


class CreateNotCompleted(StudyOnError):
    """Making the room failed part way (Discord, or the bot, failed); it was not created and
    nothing was charged."""

    code = "error.room.create_failed"

    def __init__(self) -> None:
        super().__init__("create not completed")


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


class PickRoom(StudyOnError):
    code = "error.room.pick"


class NoRoom(StudyOnError):
    code = "error.room.none"


class NoChannels(StudyOnError):
    code = "error.room.no_channels"


def _title(text: str) -> str:
    """A title or name to show inside bold text: markdown escaped."""
    return discord.utils.escape_markdown(text)


def _member_name(interaction: discord.Interaction) -> str:
    return discord.utils.escape_markdown(interaction.user.display_name)


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def _missing(permission: str, locale: str) -> MissingPermission:
    return MissingPermission(t(f"perm.{permission}", locale))


_ROOM = ls("cmd.room.opt.room")
_ROOM_DESC = ls("cmd.room.opt.room.desc")
_MY_ROOM_DESC = ls("cmd.room.opt.my_room.desc")


def _room_option(choices: Any, description: app_commands.locale_str) -> Callable[[T], T]:
    """The ``room`` option: its name, description and autocomplete."""

    def decorate(func: T) -> T:
        func = app_commands.autocomplete(room=choices)(func)
        func = app_commands.describe(room=description)(func)
        return app_commands.rename(room=_ROOM)(func)

    return decorate


def parse_room_id(value: str | None) -> int:
    """A ``room`` option's value (a room id as text); anything else is an unknown room."""
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit():
        raise NotFound("room")
    room_id = int(text)
    if not 0 < room_id <= ROOM_ID_MAX:
        raise NotFound("room")
    return room_id


def preview(draft: RoomDraft, guild_id: int, owner_id: int, now_ms: int) -> RoomView:
    """The room as it will be stored, to render its card before the row exists."""
    room = Room(
        guild_id=guild_id,
        owner_id=owner_id,
        title=draft.title,
        notice=draft.notice,
        tags=list(draft.tags),
        capacity=draft.capacity,
        study_ms=draft.pattern.study_ms,
        break_ms=draft.pattern.break_ms,
        terms=draft.pattern.terms,
        status=OPEN,
        created_ms=now_ms,
    )
    owner = RoomMember(user_id=owner_id, joined_ms=now_ms, membership_no=1)
    return RoomView(room, (owner,))


class Rooms(commands.Cog):
    room = app_commands.Group(
        name=ls("cmd.room"),
        description=ls("cmd.room.desc"),
        guild_only=True,
    )

    def __init__(self, bot: AnyStudyOnBot) -> None:
        self.bot = bot
        self._category_locks: dict[int, asyncio.Lock] = {}
        # close prompts of this process still waiting for an answer: their timeout edits
        self._prompts: dict[str, asyncio.Task[None]] = {}

    def _category_lock(self, guild_id: int) -> asyncio.Lock:
        return self._category_locks.setdefault(guild_id, asyncio.Lock())

    async def cog_load(self) -> None:
        bot = self.bot
        bot.add_dynamic_items(*CLOSE_ITEMS)
        bot.services.events.add_room_listener(self)
        bot.services.cleanups.attach(_channels.ChannelCleaner(bot.http), bot.owns_guild)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*CLOSE_ITEMS)
        self.bot.services.cleanups.detach()
        for task in self._prompts.values():
            task.cancel()
        self._prompts.clear()

    # -- what the services report -------------------------------------------------------

    async def on_boundary(self, event: BoundaryFired) -> int | None:
        return None  # the alarms cog posts alarms

    async def on_run_finished(self, event: RunFinished) -> None:
        return None  # the timer cog announces kings and the vote

    async def on_room_closed(self, event: RoomClosedEvent) -> None:
        return None  # the room service owes, and has done, the deletion of its channels

    # -- helpers ------------------------------------------------------------------------

    async def _room(self, interaction: discord.Interaction, value: str | None) -> RoomView:
        """The room a ``room`` option names, in this guild."""
        view = await self.bot.services.rooms.get(parse_room_id(value))
        if view.room.guild_id != interaction.guild_id:
            raise NotFound("room")
        return view

    async def _my_room(self, interaction: discord.Interaction, value: str | None) -> RoomView:
        """The room named, else the room whose channel this is, else the member's only room."""
        if value:
            return await self._room(interaction, value)
        services = self.bot.services
        if interaction.channel_id is not None:
            here = await services.rooms.by_channel(interaction.channel_id)
            if here is not None and here.status == OPEN:
                return await services.rooms.get(here.id)
        assert interaction.guild_id is not None
        mine = await services.rooms.rooms_of(interaction.guild_id, interaction.user.id)
        if not mine:
            raise NoRoom()
        if len(mine) > 1:
            raise PickRoom()
        return await services.rooms.get(mine[0].id)

    async def _undo_channels(
        self, guild_id: int, channels: Sequence[discord.abc.GuildChannel | None]
    ) -> bool:
        """Owe the deletion of the channels a failed create made, then try it; whether any
        of it is still owed (Discord failed; it is tried again later)."""
        cleanups = self.bot.services.cleanups
        owed = channel_deletes(c.id for c in channels if c is not None)
        if not owed:
            return False
        try:
            await cleanups.owe(guild_id, owed)
        except Exception:
            # the database failed too: delete them now, the one chance there is
            log.exception("could not owe the deletion of channels %s", owed)
            cleaner = _channels.ChannelCleaner(self.bot.http)
            left = False
            for item in owed:
                try:
                    await cleaner.delete_channel(item.channel_id)
                except discord.HTTPException:
                    log.exception("could not delete channel %s", item.channel_id)
                    left = True
            return left
        try:
            return not await cleanups.perform(owed)
        except Exception:
            log.exception("could not delete channels %s now; they stay owed", owed)
            return True

    @staticmethod
    async def _tell_undone(
        interaction: discord.Interaction, refusal: StudyOnError, leftovers: bool, locale: str
    ) -> None:
        """Why the room was not made; and, while its channels are still being removed, so."""
        text = error_text(refusal, locale)
        if leftovers:
            text = f"{text}\n{t('rooms.create.leftovers', locale)}"
        await _safe_reply(interaction, text)

    def _check_bot_permissions(
        self, interaction: discord.Interaction, needed: Sequence[str], locale: str
    ) -> None:
        me = interaction.guild.me if interaction.guild is not None else None
        # the guild-wide permissions of the bot's roles; without the bot's member cached,
        # what Discord says the bot holds where the command was used
        held = me.guild_permissions if me is not None else interaction.app_permissions
        missing = _channels.missing_guild_permissions(held, needed)
        if missing:
            raise _missing(missing[0], locale)

    async def _choices(
        self, interaction: discord.Interaction, current: str, *, mine: bool
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        services = self.bot.services
        locale = await member_locale(interaction)
        query = current.strip()[:100]
        views: list[RoomView]
        if mine:
            rooms = await services.rooms.rooms_of(interaction.guild_id, interaction.user.id)
            wanted = query.casefold()
            views = [
                await services.rooms.get(r.id)
                for r in rooms
                if not wanted or wanted in r.title.casefold()
            ][:CHOICES_MAX]
        else:
            views = await services.rooms.list_open(
                interaction.guild_id, query=query or None, limit=CHOICES_MAX
            )
        return [
            app_commands.Choice(
                name=t(
                    "rooms.choice",
                    locale,
                    title=v.room.title,
                    members=len(v.members),
                    capacity=v.room.capacity,
                ),
                value=str(v.room.id),
            )
            for v in views
        ]

    async def open_rooms_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._choices(interaction, current, mine=False)

    async def my_rooms_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._choices(interaction, current, mine=True)

    # -- /room create ---------------------------------------------------------------------

    @room.command(
        name=ls("cmd.room.create"),
        description=ls("cmd.room.create.desc"),
    )
    @app_commands.rename(
        title=ls("cmd.room.opt.title"),
        study=ls("cmd.room.opt.study"),
        break_minutes=ls("cmd.room.opt.break"),
        terms=ls("cmd.room.opt.terms"),
        tags=ls("cmd.room.opt.tags"),
        notice=ls("cmd.room.opt.notice"),
        capacity=ls("cmd.room.opt.capacity"),
    )
    @app_commands.describe(
        title=ls("cmd.room.opt.title.desc"),
        study=ls("cmd.room.opt.study.desc"),
        break_minutes=ls("cmd.room.opt.break.desc"),
        terms=ls("cmd.room.opt.terms.desc"),
        tags=ls("cmd.room.opt.tags.desc"),
        notice=ls("cmd.room.opt.notice.desc"),
        capacity=ls("cmd.room.opt.capacity.desc"),
    )
    async def create(
        self,
        interaction: discord.Interaction,
        title: str,
        study: app_commands.Range[int, 1, 180],
        break_minutes: app_commands.Range[int, 1, 60],
        terms: app_commands.Range[int, 1, 12],
        tags: str | None = None,
        notice: str | None = None,
        capacity: app_commands.Range[int, 2, 25] | None = None,
    ) -> None:
        guild = interaction.guild
        assert guild is not None
        bot, services = self.bot, self.bot.services
        user = interaction.user
        locale = await member_locale(interaction)
        # every refusal before anything exists: input, points, the bot's permissions
        draft = services.rooms.validate_create(
            title, study, break_minutes, terms, tags, notice, capacity
        )
        await services.rooms.check_can_create(guild.id, user.id)
        self._check_bot_permissions(interaction, _channels.REQUIRED_GUILD_PERMISSIONS, locale)
        await interaction.response.defer(ephemeral=True, thinking=True)

        step = "manage_channels"
        text: discord.TextChannel | None = None
        voice: discord.VoiceChannel | None = None
        try:
            async with self._category_lock(guild.id):  # two creates make one category
                category = await _channels.ensure_category(guild, bot.config.rooms.category_name)
            text = await _channels.create_room_text(
                guild, category, draft.title, user, interaction.id
            )
            voice = await _channels.create_room_voice(
                guild, category, draft.title, user, interaction.id
            )
            step = "send_messages"
            embed = render_card(
                preview(draft, guild.id, user.id, services.clock.now_ms()), None, bot.default_locale
            )
            card = await text.send(embed=embed, allowed_mentions=NO_MENTIONS)
            try:
                await card.pin(reason="StudyOn: room card")
            except discord.HTTPException:
                log.warning("could not pin the card in channel %s", text.id, exc_info=True)
            room = await services.rooms.create(
                guild.id,
                user.id,
                draft.title,
                study,
                break_minutes,
                terms,
                draft.tags,
                draft.notice,
                draft.capacity,
            )
        except BaseException as error:
            leftovers = await self._undo_channels(guild.id, [text, voice])
            if not isinstance(error, Exception):
                raise
            if isinstance(error, discord.Forbidden):
                refusal: StudyOnError = _missing(step, locale)
            elif isinstance(error, StudyOnError):
                refusal = error
            else:
                log.error("room create failed", exc_info=error)
                refusal = CreateNotCompleted()
            await self._tell_undone(interaction, refusal, leftovers, locale)
            return
        try:
            await services.rooms.attach_channels(room.id, text.id, voice.id, card.id)
        except BaseException as error:
            # the room closed before its channels were recorded: nobody else deletes them
            leftovers = await self._undo_channels(guild.id, [text, voice])
            if isinstance(error, StudyOnError):
                await self._tell_undone(interaction, error, leftovers, locale)
                return
            raise
        # the card already shows this room: the first refresh need not edit it
        await services.posted.record_card_digest(key_of(room), digest(embed))
        await board(
            bot,
            text.id,
            "rooms.board.created",
            name=_member_name(interaction),
            title=_title(room.title),
        )
        await reply(
            interaction,
            t(
                "rooms.created",
                locale,
                title=_title(room.title),
                channel=text.mention,
                cost=services.settings.room_create_cost,
            ),
        )

    # -- /room list -----------------------------------------------------------------------

    @room.command(
        name=ls("cmd.room.list"),
        description=ls("cmd.room.list.desc"),
    )
    @app_commands.rename(
        tag=ls("cmd.room.opt.tag"),
        query=ls("cmd.room.opt.query"),
        page=ls("cmd.room.opt.page"),
    )
    @app_commands.describe(
        tag=ls("cmd.room.opt.tag.desc"),
        query=ls("cmd.room.opt.query.desc"),
        page=ls("cmd.room.opt.page.desc"),
    )
    async def list_rooms(
        self,
        interaction: discord.Interaction,
        tag: str | None = None,
        query: str | None = None,
        page: app_commands.Range[int, 1, 1000] = 1,
    ) -> None:
        assert interaction.guild_id is not None
        rooms = self.bot.services.rooms
        locale = await member_locale(interaction)
        tag, query = rooms.validate_filters(tag, query)
        filters = []
        if tag:
            filters.append(t("rooms.list.filter.tag", locale, tag=tag))
        if query:
            filters.append(
                t("rooms.list.filter.query", locale, query=discord.utils.escape_markdown(query))
            )
        filter_text = ", ".join(filters)
        total = await rooms.count_open(interaction.guild_id, tag, query)
        if total == 0:
            key = "rooms.list.empty" if filters else "rooms.list.none"
            await reply(interaction, t(key, locale, filters=filter_text))
            return
        pages = -(-total // PAGE_SIZE)
        if page > pages:
            await reply(interaction, t("rooms.list.no_page", locale, page=page, pages=pages))
            return
        views = await rooms.list_open(
            interaction.guild_id, tag, query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        embed = discord.Embed(
            title=t("rooms.list.title", locale),
            description=t("rooms.list.filters", locale, filters=filter_text) if filters else None,
            colour=discord.Colour.blurple(),
        )
        for view in views:
            r = view.room
            embed.add_field(
                name=r.title,
                value="\n".join(
                    part
                    for part in (
                        t(
                            "rooms.list.line",
                            locale,
                            title=_title(r.title),
                            members=len(view.members),
                            capacity=r.capacity,
                            study=r.study_ms // 60_000,
                            brk=r.break_ms // 60_000,
                            terms=r.terms,
                        ),
                        " ".join(f"`#{tag_}`" for tag_ in r.tags),
                    )
                    if part
                ),
                inline=False,
            )
        embed.set_footer(text=t("rooms.list.footer", locale, page=page, pages=pages, total=total))
        await reply(interaction, embed=embed)

    # -- /room info -----------------------------------------------------------------------

    @room.command(
        name=ls("cmd.room.info"),
        description=ls("cmd.room.info.desc"),
    )
    @_room_option(open_rooms_autocomplete, _ROOM_DESC)
    async def info(self, interaction: discord.Interaction, room: str) -> None:
        locale = await member_locale(interaction)
        view = await self._room(interaction, room)
        if view.room.status != OPEN:
            raise RoomClosed()
        timer = await self.bot.services.timers.status_of(view.key)
        embed = render_card(view, timer, locale)
        is_member = any(m.user_id == interaction.user.id for m in view.members)
        if is_member and view.room.text_channel_id is not None:
            embed.add_field(
                name=t("rooms.info.channel", locale),
                value=f"<#{view.room.text_channel_id}>",
                inline=False,
            )
        await reply(interaction, embed=embed)

    # -- /room join -----------------------------------------------------------------------

    @room.command(
        name=ls("cmd.room.join"),
        description=ls("cmd.room.join.desc"),
    )
    @_room_option(open_rooms_autocomplete, _ROOM_DESC)
    async def join(self, interaction: discord.Interaction, room: str) -> None:
        bot, services = self.bot, self.bot.services
        locale = await member_locale(interaction)
        view = await self._room(interaction, room)
        r = view.room
        if r.status != OPEN:
            raise RoomClosed()
        if r.text_channel_id is None or r.voice_channel_id is None:
            raise NoChannels()
        self._check_bot_permissions(interaction, ("manage_roles",), locale)
        channels = [r.text_channel_id, r.voice_channel_id]
        # acknowledge before anything is charged: if Discord refuses the acknowledgement (the
        # 3-second deadline passed, or it keeps failing), the member has paid nothing
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            await services.rooms.join(r.id, interaction.user.id)
        except AlreadyMember:
            # a member whose access went missing (a crash between paying and the grant)
            # gets it back by asking again; granting is safe to repeat
            with contextlib.suppress(discord.HTTPException):
                await _channels.grant_access(bot.http, channels, interaction.user.id)
            raise
        try:
            await _channels.grant_access(bot.http, channels, interaction.user.id)
        except BaseException as error:
            # the member paid for access the bot could not give: take the join back, so a
            # join is all or nothing whatever Discord answers
            await services.rooms.undo_join(r.id, interaction.user.id)
            if isinstance(error, discord.Forbidden):
                raise _missing("manage_roles", locale) from error
            if isinstance(error, discord.NotFound):
                raise NoChannels() from error
            if isinstance(error, Exception):
                raise JoinNotCompleted(services.settings.room_join_cost) from error
            raise
        await board(bot, r.text_channel_id, "rooms.board.joined", name=_member_name(interaction))
        await refresh_card_quietly(bot, r.id)
        await reply(
            interaction,
            t(
                "rooms.joined",
                locale,
                title=_title(r.title),
                channel=f"<#{r.text_channel_id}>",
                cost=services.settings.room_join_cost,
            ),
        )

    # -- /room leave ----------------------------------------------------------------------

    @room.command(
        name=ls("cmd.room.leave"),
        description=ls("cmd.room.leave.desc"),
    )
    @_room_option(my_rooms_autocomplete, _MY_ROOM_DESC)
    async def leave(self, interaction: discord.Interaction, room: str | None = None) -> None:
        bot, services = self.bot, self.bot.services
        locale = await member_locale(interaction)
        view = await self._my_room(interaction, room)
        r = view.room
        # answer first: leaving the last seat deletes the channel this may be used in
        await interaction.response.defer(ephemeral=True, thinking=True)
        # the service removed the member's access (or, for the last member, the channels),
        # or owes it still and keeps trying
        outcome = await services.rooms.leave(r.id, interaction.user.id)
        channels = (r.text_channel_id, r.voice_channel_id)
        title = _title(r.title)
        if outcome.closed:
            text = t("rooms.left.closed", locale, title=title)
            if await services.cleanups.still_owed(channel_deletes(channels)):
                text = f"{text} {t('rooms.channels.pending', locale)}"
            await _safe_reply(interaction, text)
            return
        await board(bot, r.text_channel_id, "rooms.board.left", name=_member_name(interaction))
        if outcome.new_owner_id is not None:
            new_owner = bot.display_name(r.guild_id, outcome.new_owner_id)
            await board(bot, r.text_channel_id, "rooms.board.owner", name=new_owner)
            text = t("rooms.left.owner", locale, title=title, name=new_owner)
        else:
            text = t("rooms.left", locale, title=title)
        if await services.cleanups.still_owed(access_removals(channels, interaction.user.id)):
            text = f"{text} {t('rooms.left.access_pending', locale)}"
        await refresh_card_quietly(bot, r.id)
        await _safe_reply(interaction, text)

    # -- /room notice ---------------------------------------------------------------------

    @room.command(
        name=ls("cmd.room.notice"),
        description=ls("cmd.room.notice.desc"),
    )
    @_room_option(my_rooms_autocomplete, _MY_ROOM_DESC)
    @app_commands.rename(text=ls("cmd.room.opt.text"))
    @app_commands.describe(text=ls("cmd.room.opt.text.desc"))
    async def notice(
        self, interaction: discord.Interaction, text: str, room: str | None = None
    ) -> None:
        bot, services = self.bot, self.bot.services
        locale = await member_locale(interaction)
        view = await self._my_room(interaction, room)
        updated = await services.rooms.set_notice(view.room.id, interaction.user.id, text)
        # the notice is saved: answer in time whatever Discord does next
        await interaction.response.defer(ephemeral=True, thinking=True)
        await refresh_card_quietly(bot, updated.id)
        name = _member_name(interaction)
        if updated.notice:
            notice = _quote(updated.notice)
            await board(
                bot, updated.text_channel_id, "rooms.board.notice", name=name, notice=notice
            )
        else:
            await board(bot, updated.text_channel_id, "rooms.board.notice_cleared", name=name)
        await reply(interaction, t("rooms.notice.set", locale, title=_title(updated.title)))

    # -- /room close ----------------------------------------------------------------------

    @room.command(
        name=ls("cmd.room.close"),
        description=ls("cmd.room.close.desc"),
    )
    @_room_option(my_rooms_autocomplete, _MY_ROOM_DESC)
    async def close(self, interaction: discord.Interaction, room: str | None = None) -> None:
        locale = await member_locale(interaction)
        view = await self._my_room(interaction, room)
        r = view.room
        if r.status != OPEN:
            raise RoomClosed()
        if r.owner_id != interaction.user.id:
            raise NotOwner()
        until_s = self.bot.services.clock.now_ms() // 1000 + CONFIRM_SECONDS
        prompt = ClosePrompt(r.id, interaction.user.id, until_s)
        buttons = discord.ui.View(timeout=None)
        buttons.add_item(CloseConfirmButton(prompt, t("rooms.close.button.confirm", locale)))
        buttons.add_item(CloseCancelButton(prompt, t("rooms.close.button.cancel", locale)))
        title = _title(r.title)
        await reply(interaction, t("rooms.close.confirm", locale, title=title), view=buttons)
        self._expire_later(interaction, prompt, t("rooms.close.timeout", locale, title=title))

    def _expire_later(
        self, interaction: discord.Interaction, prompt: ClosePrompt, text: str
    ) -> None:
        """Say so on the prompt when its time runs out unanswered (while this process runs;
        after a restart its buttons answer that it expired)."""

        async def expire() -> None:
            await asyncio.sleep(CONFIRM_SECONDS)
            self._prompts.pop(prompt.name, None)
            await _edit_prompt(interaction, text)

        self._prompts[prompt.name] = asyncio.create_task(expire())

    def prompt_answered(self, prompt: ClosePrompt) -> None:
        task = self._prompts.pop(prompt.name, None)
        if task is not None:
            task.cancel()


async def _safe_reply(interaction: discord.Interaction, content: str) -> None:
    """Reply, tolerating a channel that is gone (the room it belonged to closed)."""
    try:
        await reply(interaction, content)
    except discord.HTTPException:
        log.info("could not answer in channel %s (gone?)", interaction.channel_id)


@dataclass(frozen=True, slots=True)
class ClosePrompt:
    """A ``/room close`` confirmation: the room, who asked, and until when (unix seconds)."""

    room_id: int
    owner_id: int
    until_s: int

    @property
    def name(self) -> str:
        return f"{self.room_id}:{self.owner_id}:{self.until_s}"

    @classmethod
    def of(cls, match: re.Match[str]) -> ClosePrompt:
        return cls(int(match["room"]), int(match["owner"]), int(match["until"]))

    def expired(self, now_ms: int) -> bool:
        return now_ms >= self.until_s * 1000


_PROMPT = r"(?P<room>[0-9]+):(?P<owner>[0-9]+):(?P<until>[0-9]+)"


class CloseConfirmButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"studyon:close:confirm:{_PROMPT}"
):
    def __init__(self, prompt: ClosePrompt, label: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.danger,
                custom_id=f"studyon:close:confirm:{prompt.name}",
            )
        )
        self.prompt = prompt

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> CloseConfirmButton:
        return cls(ClosePrompt.of(match), getattr(item, "label", None) or "Confirm")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await guarded(interaction, lambda: _confirm_close(interaction, self.prompt))


class CloseCancelButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"studyon:close:cancel:{_PROMPT}"
):
    def __init__(self, prompt: ClosePrompt, label: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"studyon:close:cancel:{prompt.name}",
            )
        )
        self.prompt = prompt

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> CloseCancelButton:
        return cls(ClosePrompt.of(match), getattr(item, "label", None) or "Cancel")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await guarded(interaction, lambda: _cancel_close(interaction, self.prompt))


CLOSE_ITEMS = (CloseConfirmButton, CloseCancelButton)


async def _prompt_room(interaction: discord.Interaction[Any], prompt: ClosePrompt) -> Room:
    """The prompt's room, once the one answering is the one who asked (else refused)."""
    if interaction.user.id != prompt.owner_id:
        raise NotYourPrompt()
    bot = studyon(interaction)
    cog = bot.get_cog(Rooms.__cog_name__)
    if isinstance(cog, Rooms):
        cog.prompt_answered(prompt)
    view = await bot.services.rooms.get(prompt.room_id)
    if view.room.guild_id != interaction.guild_id:
        raise NotFound("room")
    return view.room


async def _confirm_close(interaction: discord.Interaction[Any], prompt: ClosePrompt) -> None:
    bot = studyon(interaction)
    services = bot.services
    locale = await member_locale(interaction)
    room = await _prompt_room(interaction, prompt)
    if prompt.expired(services.clock.now_ms()):
        await interaction.response.edit_message(
            content=error_text(PromptExpired(), locale), view=None
        )
        return
    title = _title(room.title)
    await interaction.response.edit_message(
        content=t("rooms.close.closing", locale, title=title), view=None
    )
    try:
        closed = await services.rooms.close(prompt.room_id, interaction.user.id, "owner")
    except StudyOnError as error:
        await _edit_prompt(interaction, error_text(error, locale))
        return
    channels = channel_deletes((closed.text_channel_id, closed.voice_channel_id))
    if await services.cleanups.still_owed(channels):
        text = t("rooms.close.done_pending", locale, title=title)
    else:
        text = t("rooms.close.done", locale, title=title)
    await _edit_prompt(interaction, text)


async def _cancel_close(interaction: discord.Interaction[Any], prompt: ClosePrompt) -> None:
    locale = await member_locale(interaction)
    room = await _prompt_room(interaction, prompt)
    await interaction.response.edit_message(
        content=t("rooms.close.cancelled", locale, title=_title(room.title)), view=None
    )


async def _edit_prompt(interaction: discord.Interaction[Any], content: str) -> None:
    try:
        await interaction.edit_original_response(
            content=content, view=None, allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException:
        log.info("could not edit the close confirmation (channel gone?)")


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Rooms(cast("AnyStudyOnBot", bot)))

"""``/room``: open, find, join and leave study rooms, each a pair of private channels.

Each command parses, calls the room service once, and renders. Every refusal comes before
anything changes (inputs and points before deferring, the bot's permissions before a member
pays); making and joining a room are sagas the service runs through ``DiscordRoomChannels``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.errors import NotOwner, RoomClosed, RoomNotCreated
from bot.domain.timer import Mode
from bot.i18n import ls, t
from cogs import _channels
from cogs._board import DiscordBoardPoster
from cogs._card import render_card
from cogs._common import error_text, member_locale, reply
from cogs._delivery import board, member_name, refresh_card_quietly
from cogs.rooms.channels import (
    CategoryLocks,
    DiscordRoomChannels,
    RoomChannelFinder,
    check_bot_permissions,
)
from cogs.rooms.close import (
    CONFIRM_SECONDS,
    ROOMS_COG,
    CloseButton,
    ClosePrompt,
    PendingPrompts,
    close_buttons,
)
from cogs.rooms.lookup import (
    MY_ROOM_DESC,
    ROOM_DESC,
    my_room,
    named_room,
    room_choices,
    room_option,
)
from cogs.rooms.render import filters_text, quote, room_list_page, safe_reply, title_text

Choices = list[app_commands.Choice[str]]
Interaction = discord.Interaction[Any]

if TYPE_CHECKING:
    from bot.app import StudyOnBot

PAGE_SIZE = 10
MODE_CHOICES = [app_commands.Choice(name=ls(f"mode.{m.value}"), value=m.value) for m in Mode]


class Rooms(commands.Cog, name=ROOMS_COG):
    room = app_commands.Group(name=ls("cmd.room"), description=ls("cmd.room.desc"), guild_only=True)

    def __init__(self, bot: StudyOnBot) -> None:
        self.bot = bot
        self.prompts = PendingPrompts()
        self.category_locks = CategoryLocks()

    async def cog_load(self) -> None:
        bot = self.bot
        bot.add_dynamic_items(CloseButton)
        bot.services.cleanups.attach(_channels.ChannelCleaner(bot.http), bot.owns_guild)
        bot.services.board.attach(DiscordBoardPoster(bot), bot.owns_guild)
        bot.services.rooms.attach_finder(RoomChannelFinder(bot))

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(CloseButton)
        self.bot.services.cleanups.detach()
        self.bot.services.board.detach()
        self.bot.services.rooms.attach_finder(None)
        self.prompts.cancel_all()

    def _discord(self, interaction: discord.Interaction[Any]) -> DiscordRoomChannels:
        assert interaction.guild is not None
        return DiscordRoomChannels(
            self.bot, self.category_locks, interaction.guild, interaction.user, interaction.id
        )

    async def open_rooms_autocomplete(self, interaction: Interaction, current: str) -> Choices:
        return await room_choices(self.bot, interaction, current, mine=False)

    async def my_rooms_autocomplete(self, interaction: Interaction, current: str) -> Choices:
        return await room_choices(self.bot, interaction, current, mine=True)

    # -- /room create ---------------------------------------------------------------------

    @room.command(name=ls("cmd.room.create"), description=ls("cmd.room.create.desc"))
    @app_commands.rename(
        title=ls("cmd.room.opt.title"),
        study=ls("cmd.room.opt.study"),
        break_minutes=ls("cmd.room.opt.break"),
        terms=ls("cmd.room.opt.terms"),
        tags=ls("cmd.room.opt.tags"),
        notice=ls("cmd.room.opt.notice"),
        capacity=ls("cmd.room.opt.capacity"),
        long_break=ls("cmd.room.opt.long_break"),
        long_every=ls("cmd.room.opt.long_every"),
        focus=ls("cmd.room.opt.focus"),
        mode=ls("cmd.room.opt.mode"),
        break_share=ls("cmd.room.opt.break_share"),
        check_every=ls("cmd.room.opt.check_every"),
    )
    @app_commands.describe(
        title=ls("cmd.room.opt.title.desc"),
        study=ls("cmd.room.opt.study.desc"),
        break_minutes=ls("cmd.room.opt.break.desc"),
        terms=ls("cmd.room.opt.terms.desc"),
        tags=ls("cmd.room.opt.tags.desc"),
        notice=ls("cmd.room.opt.notice.desc"),
        capacity=ls("cmd.room.opt.capacity.desc"),
        long_break=ls("cmd.room.opt.long_break.desc"),
        long_every=ls("cmd.room.opt.long_every.desc"),
        focus=ls("cmd.room.opt.focus.desc"),
        mode=ls("cmd.room.opt.mode.desc"),
        break_share=ls("cmd.room.opt.break_share.desc"),
        check_every=ls("cmd.room.opt.check_every.desc"),
    )
    @app_commands.choices(mode=MODE_CHOICES)
    async def create(
        self,
        interaction: discord.Interaction,
        title: str,
        mode: app_commands.Choice[str] | None = None,
        study: app_commands.Range[int, 1, 180] | None = None,
        break_minutes: app_commands.Range[int, 1, 60] | None = None,
        terms: app_commands.Range[int, 1, 12] | None = None,
        tags: str | None = None,
        notice: str | None = None,
        capacity: app_commands.Range[int, 2, 25] | None = None,
        long_break: app_commands.Range[int, 1, 60] | None = None,
        long_every: app_commands.Range[int, 2, 12] | None = None,
        focus: bool | None = None,
        break_share: app_commands.Range[int, 2, 10] | None = None,
        check_every: app_commands.Range[int, 10, 120] | None = None,
    ) -> None:
        guild = interaction.guild
        assert guild is not None
        bot, rooms = self.bot, self.bot.services.rooms
        user = interaction.user
        locale = await member_locale(interaction)
        # every refusal before anything exists: input, points, the bot's permissions
        draft = rooms.validate_create(
            title,
            study,
            break_minutes,
            terms,
            tags,
            notice,
            capacity,
            long_break,
            long_every,
            guild_id=guild.id,
            # left out, the server's default (``/config set rooms.focus``)
            focus=bot.guild_settings(guild.id).focus if focus is None else focus,
            mode=Mode(mode.value) if mode is not None else Mode.POMODORO,
            break_share=break_share,
            check_every_minutes=check_every,
        )
        await rooms.check_can_create(guild.id, user.id)
        check_bot_permissions(interaction, _channels.REQUIRED_GUILD_PERMISSIONS)
        if draft.focus:
            check_bot_permissions(interaction, _channels.FOCUS_PERMISSIONS)
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            # the board's "opened this room" line is owed with the room, and posted by it
            made = await rooms.create_with_channels(
                guild.id, user.id, draft, self._discord(interaction), name=user.display_name
            )
        except RoomNotCreated as undone:
            text = error_text(undone.refusal, locale)
            if undone.channels_pending:
                text = f"{text}\n{t('rooms.create.leftovers', locale)}"
            await safe_reply(interaction, text)
            return
        room = made.room
        channel = f"<#{room.text_channel_id}>"
        cost = bot.guild_settings(room.guild_id).room_create_cost
        await reply(
            interaction,
            t("rooms.created", locale, title=title_text(room.title), channel=channel, cost=cost),
        )

    # -- /room list -----------------------------------------------------------------------

    @room.command(name=ls("cmd.room.list"), description=ls("cmd.room.list.desc"))
    @app_commands.rename(
        tag=ls("cmd.room.opt.tag"), query=ls("cmd.room.opt.query"), page=ls("cmd.room.opt.page")
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
        filter_text = filters_text(tag, query, locale)
        total = await rooms.count_open(interaction.guild_id, tag, query)
        if total == 0:
            key = "rooms.list.empty" if filter_text else "rooms.list.none"
            await reply(interaction, t(key, locale, filters=filter_text))
            return
        pages = -(-total // PAGE_SIZE)
        if page > pages:
            await reply(interaction, t("rooms.list.no_page", locale, page=page, pages=pages))
            return
        offset = (page - 1) * PAGE_SIZE
        views = await rooms.list_open(interaction.guild_id, tag, query, PAGE_SIZE, offset)
        embed = room_list_page(views, filter_text, page, pages, total, locale)
        await reply(interaction, embed=embed)

    # -- /room info -----------------------------------------------------------------------

    @room.command(name=ls("cmd.room.info"), description=ls("cmd.room.info.desc"))
    @room_option(open_rooms_autocomplete, ROOM_DESC)
    async def info(self, interaction: discord.Interaction, room: str) -> None:
        locale = await member_locale(interaction)
        view = await named_room(self.bot, interaction, room)
        if not view.room.is_open:
            raise RoomClosed()
        timer = await self.bot.services.timers.status_of(view.key)
        embed = render_card(view, timer, locale)
        if view.has_member(interaction.user.id) and view.room.text_channel_id is not None:
            channel = f"<#{view.room.text_channel_id}>"
            embed.add_field(name=t("rooms.info.channel", locale), value=channel, inline=False)
        await reply(interaction, embed=embed)

    # -- /room join -----------------------------------------------------------------------

    @room.command(name=ls("cmd.room.join"), description=ls("cmd.room.join.desc"))
    @room_option(open_rooms_autocomplete, ROOM_DESC)
    async def join(self, interaction: discord.Interaction, room: str) -> None:
        bot, services = self.bot, self.bot.services
        locale = await member_locale(interaction)
        view = await named_room(bot, interaction, room)
        if not view.room.is_open:
            raise RoomClosed()
        check_bot_permissions(interaction, ("manage_roles",))
        # acknowledge before anything is charged: if Discord refuses the acknowledgement (the
        # 3-second deadline passed, or it keeps failing), the member has paid nothing
        await interaction.response.defer(ephemeral=True, thinking=True)
        # the board's "joined" line is owed with the join, and posted once the member is in
        r = await services.rooms.join_with_access(
            view.room.id,
            interaction.user.id,
            self._discord(interaction),
            name=interaction.user.display_name,
        )
        await refresh_card_quietly(bot, r.id)
        channel = f"<#{r.text_channel_id}>"
        cost = bot.guild_settings(r.guild_id).room_join_cost
        text = t("rooms.joined", locale, title=title_text(r.title), channel=channel, cost=cost)
        await reply(interaction, text)

    # -- /room leave ----------------------------------------------------------------------

    @room.command(name=ls("cmd.room.leave"), description=ls("cmd.room.leave.desc"))
    @room_option(my_rooms_autocomplete, MY_ROOM_DESC)
    async def leave(self, interaction: discord.Interaction, room: str | None = None) -> None:
        bot = self.bot
        locale = await member_locale(interaction)
        view = await my_room(bot, interaction, room)
        # answer first: leaving the last seat deletes the channel this may be used in
        await interaction.response.defer(ephemeral=True, thinking=True)
        # the service removed the member's access (or, for the last member, the channels),
        # or owes it still and keeps trying
        # the board's lines ("left", the new owner) are owed with the leave, and posted by it
        outcome = await bot.services.rooms.leave(
            view.room.id, interaction.user.id, name=interaction.user.display_name
        )
        r, title = outcome.room, title_text(outcome.room.title)
        if outcome.closed:
            text = t("rooms.left.closed", locale, title=title)
            if outcome.cleanup_pending:
                text = f"{text} {t('rooms.channels.pending', locale)}"
            await safe_reply(interaction, text)
            return
        if outcome.new_owner_id is not None:
            new_owner = bot.display_name(r.guild_id, outcome.new_owner_id)
            text = t("rooms.left.owner", locale, title=title, name=new_owner)
        else:
            text = t("rooms.left", locale, title=title)
        if outcome.cleanup_pending:
            text = f"{text} {t('rooms.left.access_pending', locale)}"
        await refresh_card_quietly(bot, r.id)
        await safe_reply(interaction, text)

    # -- /room notice ---------------------------------------------------------------------

    @room.command(name=ls("cmd.room.notice"), description=ls("cmd.room.notice.desc"))
    @room_option(my_rooms_autocomplete, MY_ROOM_DESC)
    @app_commands.rename(text=ls("cmd.room.opt.text"))
    @app_commands.describe(text=ls("cmd.room.opt.text.desc"))
    async def notice(
        self, interaction: discord.Interaction, text: str, room: str | None = None
    ) -> None:
        bot = self.bot
        locale = await member_locale(interaction)
        view = await my_room(bot, interaction, room)
        updated = await bot.services.rooms.set_notice(view.room.id, interaction.user.id, text)
        # the notice is saved: answer in time whatever Discord does next
        await interaction.response.defer(ephemeral=True, thinking=True)
        await refresh_card_quietly(bot, updated.id)
        name, channel = member_name(interaction), updated.text_channel_id
        if updated.notice:
            notice = quote(updated.notice)
            await board(bot, channel, "rooms.board.notice", name=name, notice=notice)
        else:
            await board(bot, channel, "rooms.board.notice_cleared", name=name)
        await reply(interaction, t("rooms.notice.set", locale, title=title_text(updated.title)))

    # -- /room close ----------------------------------------------------------------------

    @room.command(name=ls("cmd.room.close"), description=ls("cmd.room.close.desc"))
    @room_option(my_rooms_autocomplete, MY_ROOM_DESC)
    async def close(self, interaction: discord.Interaction, room: str | None = None) -> None:
        locale = await member_locale(interaction)
        view = await my_room(self.bot, interaction, room)
        r = view.room
        if not r.is_open:
            raise RoomClosed()
        if r.owner_id != interaction.user.id:
            raise NotOwner()
        until_s = self.bot.services.clock.now_ms() // 1000 + CONFIRM_SECONDS
        prompt = ClosePrompt(r.id, interaction.user.id, until_s)
        title = title_text(r.title)
        buttons = close_buttons(prompt, locale)
        await reply(interaction, t("rooms.close.confirm", locale, title=title), view=buttons)
        self.prompts.expire_later(
            interaction, prompt, t("rooms.close.timeout", locale, title=title)
        )

"""SQL models: the durable records of StudyOn.

Conventions: Discord ids are BigInteger (snowflakes exceed 32 bits); instants are BigInteger
epoch milliseconds named ``*_ms``; calendar days are ``Date``. The schema is created by the
Alembic migrations in ``storage/migrations`` only; keep them in step with these classes.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from bot.domain.points import LedgerLine
from bot.domain.rooms import RoomInfo, RoomStatus, Stay
from bot.domain.run import RunStatus
from bot.domain.timer import Mode

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A 64-bit surrogate key that still autoincrements on SQLite (only INTEGER PRIMARY KEY does).
BigIntPK = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Member(Base):
    """A user as seen in one guild: their settings. Created on first use."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint(
            "weekly_goal_minutes IS NULL OR weekly_goal_minutes BETWEEN 60 AND 10080",
            name="weekly_goal",
        ),
    )

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    timezone: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    # this week's study-time goal in minutes (``bot.domain.goals``); None: no goal
    weekly_goal_minutes: Mapped[int | None] = mapped_column(Integer)


class LedgerEntry(Base):
    """One line of the append-only points ledger; a balance is the sum of ``amount``."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_member", "guild_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(128))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)

    def line(self) -> LedgerLine:
        return LedgerLine(
            self.id,
            self.guild_id,
            self.user_id,
            self.amount,
            self.reason,
            self.reference,
            self.idempotency_key,
            self.created_ms,
        )


class Room(Base):
    __tablename__ = "rooms"
    __table_args__ = (
        Index("ix_rooms_guild_status", "guild_id", "status"),
        CheckConstraint("capacity BETWEEN 2 AND 25", name="capacity"),
        CheckConstraint("terms BETWEEN 1 AND 12", name="terms"),
        CheckConstraint("study_ms > 0 AND break_ms > 0", name="pattern"),
        CheckConstraint("status IN ('creating', 'open', 'closed')", name="status"),
        CheckConstraint(
            "(long_break_ms IS NULL AND long_every IS NULL)"
            " OR (long_break_ms > 0 AND long_every BETWEEN 2 AND 12)",
            name="long_break",
        ),
        CheckConstraint(
            "(mode = 'flowtime' AND break_share BETWEEN 2 AND 10)"
            " OR (mode IN ('pomodoro', 'countup') AND break_share IS NULL)",
            name="mode",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    owner_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(Text)
    # the title casefolded in Python, for case-insensitive search in every script (SQLite's
    # lower() only lowers ASCII); set with the title (``storage.repos.rooms.title_key``)
    title_key: Mapped[str] = mapped_column(Text, server_default="")
    notice: Mapped[str] = mapped_column(Text, default="")
    # Reassign the list to change it (in-place mutation is not tracked).
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer)
    study_ms: Mapped[int] = mapped_column(BigInteger)
    break_ms: Mapped[int] = mapped_column(BigInteger)
    terms: Mapped[int] = mapped_column(Integer)
    # a long break after every ``long_every``-th study period: both set, or neither
    long_break_ms: Mapped[int | None] = mapped_column(BigInteger)
    long_every: Mapped[int | None] = mapped_column(Integer)
    # a focus room: nobody speaks in its voice channel during study phases
    focus: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # how the timer runs (``bot.domain.timer.Mode``); a count-up room checks in every
    # ``study_ms``, ``terms`` times at most; a flowtime room's break is one ``break_share``-th
    # of the study period before it, which lasts ``study_ms`` at most
    mode: Mapped[str] = mapped_column(
        String(16), default=Mode.POMODORO.value, server_default=Mode.POMODORO.value
    )
    break_share: Mapped[int | None] = mapped_column(Integer)
    text_channel_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    voice_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=RoomStatus.OPEN.value)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    closed_ms: Mapped[int | None] = mapped_column(BigInteger)
    # when the owner scheduled the next run to start (``/timer start at``); None: not scheduled
    scheduled_start_ms: Mapped[int | None] = mapped_column(BigInteger)

    def info(self) -> RoomInfo:
        return RoomInfo(
            id=self.id,
            guild_id=self.guild_id,
            owner_id=self.owner_id,
            title=self.title,
            notice=self.notice,
            tags=tuple(self.tags),
            capacity=self.capacity,
            study_ms=self.study_ms,
            break_ms=self.break_ms,
            terms=self.terms,
            long_break_ms=self.long_break_ms,
            long_every=self.long_every,
            focus=self.focus,
            mode=Mode(self.mode),
            break_share=self.break_share,
            status=RoomStatus(self.status),
            text_channel_id=self.text_channel_id,
            voice_channel_id=self.voice_channel_id,
            card_message_id=self.card_message_id,
            created_ms=self.created_ms,
            closed_ms=self.closed_ms,
            starts_at_ms=self.scheduled_start_ms,
        )


class RoomMember(Base):
    """One stay of a user in a room, from joining to leaving (``left_ms`` None while in it)."""

    __tablename__ = "room_members"
    __table_args__ = (
        Index("ix_room_members_room_left", "room_id", "left_ms"),
        Index("ix_room_members_user", "user_id", "left_ms"),
        # At most one active stay per (room, user), enforced by the database too.
        Index(
            "uq_room_members_active",
            "room_id",
            "user_id",
            unique=True,
            postgresql_where=text("left_ms IS NULL"),
            sqlite_where=text("left_ms IS NULL"),
        ),
        UniqueConstraint("room_id", "user_id", "membership_no"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("rooms.id"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    joined_ms: Mapped[int] = mapped_column(BigInteger)
    left_ms: Mapped[int | None] = mapped_column(BigInteger)
    membership_no: Mapped[int] = mapped_column(Integer)
    payment_entry_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("ledger_entries.id")
    )

    def stay(self) -> Stay:
        return Stay(self.user_id, self.joined_ms, self.membership_no)


class Run(Base):
    """One start-to-finish execution of a room's pattern."""

    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("room_id", "run_no"),
        # At most one running run per room.
        Index(
            "uq_runs_running",
            "room_id",
            unique=True,
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
        CheckConstraint("terms BETWEEN 1 AND 12", name="terms"),
        CheckConstraint("study_ms > 0 AND break_ms > 0", name="pattern"),
        CheckConstraint("status IN ('running', 'finished', 'stopped')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("rooms.id"))
    run_no: Mapped[int] = mapped_column(Integer)
    study_ms: Mapped[int] = mapped_column(BigInteger)
    break_ms: Mapped[int] = mapped_column(BigInteger)
    terms: Mapped[int] = mapped_column(Integer)
    started_ms: Mapped[int] = mapped_column(BigInteger)
    ended_ms: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING.value)


class RunResult(Base):
    """A member's outcome of a run: alarms that fell while a member, dismissed, on time."""

    __tablename__ = "run_results"
    __table_args__ = (Index("ix_run_results_user_king", "user_id", "is_king"),)

    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("runs.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    alarms: Mapped[int] = mapped_column(Integer)
    dismissed: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)
    is_king: Mapped[bool] = mapped_column(Boolean, default=False)
    refund_entry_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("ledger_entries.id"))


class AlarmDismissal(Base):
    __tablename__ = "alarm_dismissals"

    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("runs.id"), primary_key=True)
    boundary: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    dismissed_ms: Mapped[int] = mapped_column(BigInteger)
    on_time: Mapped[bool] = mapped_column(Boolean)


class Todo(Base):
    __tablename__ = "todos"
    __table_args__ = (Index("ix_todos_member_day", "guild_id", "user_id", "day"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)  # 1-200 chars, checked by the application
    # the text casefolded in Python, for case-insensitive search in every script; kept in
    # step with ``text`` by ``_key_text``
    text_key: Mapped[str] = mapped_column(Text, server_default="")
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_ms: Mapped[int | None] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(Integer)
    created_ms: Mapped[int] = mapped_column(BigInteger)

    @validates("text")
    def _key_text(self, _field: str, value: str) -> str:
        self.text_key = value.casefold()
        return value


class Rating(Base):
    """A member's satisfaction with one day, 1-5."""

    __tablename__ = "ratings"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score"),)

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class StudySession(Base):
    """A span of time a member studied, for study-time totals and leaderboards."""

    __tablename__ = "study_sessions"
    __table_args__ = (
        Index("ix_study_sessions_member_start", "guild_id", "user_id", "start_ms"),
        Index("ix_study_sessions_guild_start", "guild_id", "start_ms"),
        CheckConstraint("end_ms >= start_ms", name="span"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    room_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("rooms.id"))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)


class Installation(Base):
    """This database's identity, issued once when it was created (a single row). The session
    store records it, so live state can never be attached to another database's rooms."""

    __tablename__ = "installation"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    identity: Mapped[str] = mapped_column(String(32))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class CleanupKind(StrEnum):
    DELETE_CHANNEL = "delete_channel"
    REVOKE_ACCESS = "revoke_access"


class DiscordCleanup(Base):
    """Discord work owed after a room closed or a member left, kept until Discord did it:
    delete a channel, or remove a member's overwrite from a channel (``user_id`` 0 for a
    channel delete). Recorded in the transaction that made it owed."""

    __tablename__ = "discord_cleanups"
    __table_args__ = (
        UniqueConstraint("kind", "channel_id", "user_id"),
        Index("ix_discord_cleanups_next_try_ms", "next_try_ms"),
        CheckConstraint("kind IN ('delete_channel', 'revoke_access')", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    channel_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_ms: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_try_ms: Mapped[int] = mapped_column(BigInteger)


class GuildSetting(Base):
    """A value a server set with ``/config`` (the text form of ``bot.domain.guild_settings``);
    a key with no row takes the configuration file's value."""

    __tablename__ = "guild_settings"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[int] = mapped_column(BigInteger)


class GuildSettingAudit(Base):
    """One change of a server's setting: who, when, from what to what (``new_value`` None: a
    reset to the default; ``old_value`` None: it was the default). Written in the change's
    own transaction, never updated."""

    __tablename__ = "guild_settings_audit"
    __table_args__ = (Index("ix_guild_settings_audit_guild_id_id", "guild_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(BigInteger)
    at_ms: Mapped[int] = mapped_column(BigInteger)


__all__ = [
    "AlarmDismissal",
    "Base",
    "CleanupKind",
    "DiscordCleanup",
    "GuildSetting",
    "GuildSettingAudit",
    "Installation",
    "LedgerEntry",
    "Member",
    "Rating",
    "Room",
    "RoomMember",
    "RoomStatus",
    "Run",
    "RunResult",
    "RunStatus",
    "StudySession",
    "Todo",
]


class BoardLine(Base):
    """A line owed on a room's board ("**bob** joined"), recorded in the transaction of
    what it tells, and kept until Discord has it: ``message_id`` is set once posted (the
    posted rows are kept a while, so a retry that finds its post made does not take
    another line's). ``params`` are the member-typed words of the line, unescaped."""

    __tablename__ = "board_lines"
    __table_args__ = (
        Index("ix_board_lines_next_try_ms", "next_try_ms"),
        Index("ix_board_lines_room_id", "room_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    room_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, str]] = mapped_column(JSON)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_try_ms: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

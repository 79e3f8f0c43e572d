"""Initial schema: members, ledger, rooms and memberships, runs and results, todos, ratings,
study sessions.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A 64-bit surrogate key that still autoincrements on SQLite (only INTEGER PRIMARY KEY does).
ID = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_entries_idempotency_key")),
    )
    op.create_index(
        "ix_ledger_entries_member", "ledger_entries", ["guild_id", "user_id", "id"], unique=False
    )
    op.create_table(
        "members",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "user_id", name=op.f("pk_members")),
    )
    op.create_table(
        "ratings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_ratings_score")),
        sa.PrimaryKeyConstraint("guild_id", "user_id", "day", name=op.f("pk_ratings")),
    )
    op.create_table(
        "rooms",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("study_ms", sa.BigInteger(), nullable=False),
        sa.Column("break_ms", sa.BigInteger(), nullable=False),
        sa.Column("terms", sa.Integer(), nullable=False),
        sa.Column("text_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("voice_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("card_message_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("closed_ms", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_rooms_status")),
        sa.CheckConstraint("capacity BETWEEN 2 AND 25", name=op.f("ck_rooms_capacity")),
        sa.CheckConstraint("study_ms > 0 AND break_ms > 0", name=op.f("ck_rooms_pattern")),
        sa.CheckConstraint("terms BETWEEN 1 AND 12", name=op.f("ck_rooms_terms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
        sa.UniqueConstraint("text_channel_id", name=op.f("uq_rooms_text_channel_id")),
    )
    op.create_index("ix_rooms_guild_status", "rooms", ["guild_id", "status"], unique=False)
    op.create_table(
        "todos",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("done_ms", sa.BigInteger(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_todos")),
    )
    op.create_index("ix_todos_member_day", "todos", ["guild_id", "user_id", "day"], unique=False)
    op.create_table(
        "room_members",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("room_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("joined_ms", sa.BigInteger(), nullable=False),
        sa.Column("left_ms", sa.BigInteger(), nullable=True),
        sa.Column("membership_no", sa.Integer(), nullable=False),
        sa.Column("payment_entry_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["payment_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_room_members_payment_entry_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_room_members_room_id_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_members")),
        sa.UniqueConstraint(
            "room_id",
            "user_id",
            "membership_no",
            name=op.f("uq_room_members_room_id_user_id_membership_no"),
        ),
    )
    op.create_index(
        "ix_room_members_room_left", "room_members", ["room_id", "left_ms"], unique=False
    )
    op.create_index("ix_room_members_user", "room_members", ["user_id", "left_ms"], unique=False)
    op.create_index(
        "uq_room_members_active",
        "room_members",
        ["room_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("left_ms IS NULL"),
        sqlite_where=sa.text("left_ms IS NULL"),
    )
    op.create_table(
        "runs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("room_id", sa.BigInteger(), nullable=False),
        sa.Column("run_no", sa.Integer(), nullable=False),
        sa.Column("study_ms", sa.BigInteger(), nullable=False),
        sa.Column("break_ms", sa.BigInteger(), nullable=False),
        sa.Column("terms", sa.Integer(), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("ended_ms", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "status IN ('running', 'finished', 'stopped')", name=op.f("ck_runs_status")
        ),
        sa.CheckConstraint("study_ms > 0 AND break_ms > 0", name=op.f("ck_runs_pattern")),
        sa.CheckConstraint("terms BETWEEN 1 AND 12", name=op.f("ck_runs_terms")),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_runs_room_id_rooms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("room_id", "run_no", name=op.f("uq_runs_room_id_run_no")),
    )
    op.create_index(
        "uq_runs_running",
        "runs",
        ["room_id"],
        unique=True,
        postgresql_where=sa.text("status = 'running'"),
        sqlite_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "study_sessions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("room_id", sa.BigInteger(), nullable=True),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("end_ms >= start_ms", name=op.f("ck_study_sessions_span")),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_study_sessions_room_id_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_sessions")),
    )
    op.create_index(
        "ix_study_sessions_guild_start", "study_sessions", ["guild_id", "start_ms"], unique=False
    )
    op.create_index(
        "ix_study_sessions_member_start",
        "study_sessions",
        ["guild_id", "user_id", "start_ms"],
        unique=False,
    )
    op.create_table(
        "alarm_dismissals",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("boundary", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("dismissed_ms", sa.BigInteger(), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_alarm_dismissals_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "boundary", "user_id", name=op.f("pk_alarm_dismissals")),
    )
    op.create_table(
        "run_results",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("alarms", sa.Integer(), nullable=False),
        sa.Column("dismissed", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("is_king", sa.Boolean(), nullable=False),
        sa.Column("refund_entry_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["refund_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_run_results_refund_entry_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_run_results_run_id_runs")),
        sa.PrimaryKeyConstraint("run_id", "user_id", name=op.f("pk_run_results")),
    )
    op.create_index("ix_run_results_user_king", "run_results", ["user_id", "is_king"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_run_results_user_king", table_name="run_results")
    op.drop_table("run_results")
    op.drop_table("alarm_dismissals")
    op.drop_index("ix_study_sessions_member_start", table_name="study_sessions")
    op.drop_index("ix_study_sessions_guild_start", table_name="study_sessions")
    op.drop_table("study_sessions")
    op.drop_index(
        "uq_runs_running",
        table_name="runs",
        postgresql_where=sa.text("status = 'running'"),
        sqlite_where=sa.text("status = 'running'"),
    )
    op.drop_table("runs")
    op.drop_index(
        "uq_room_members_active",
        table_name="room_members",
        postgresql_where=sa.text("left_ms IS NULL"),
        sqlite_where=sa.text("left_ms IS NULL"),
    )
    op.drop_index("ix_room_members_user", table_name="room_members")
    op.drop_index("ix_room_members_room_left", table_name="room_members")
    op.drop_table("room_members")
    op.drop_index("ix_todos_member_day", table_name="todos")
    op.drop_table("todos")
    op.drop_index("ix_rooms_guild_status", table_name="rooms")
    op.drop_table("rooms")
    op.drop_table("ratings")
    op.drop_table("members")
    op.drop_index("ix_ledger_entries_member", table_name="ledger_entries")
    op.drop_table("ledger_entries")

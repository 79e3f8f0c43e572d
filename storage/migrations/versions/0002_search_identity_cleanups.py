"""Case-insensitive title and todo search for every script, the database's identity, owed
Discord cleanups.

- ``rooms.title_key``, ``todos.text_key``: the text casefolded by Python (SQLite's
  ``lower()`` only lowers ASCII), so search ignores case in every script on both dialects.
- ``installation``: one row with an identity issued once, when this database was created;
  the session store records it, so live state is never attached to another database's rooms.
- ``discord_cleanups``: Discord work owed after a room closed or a member left (delete a
  channel, remove a member's access), kept until Discord has done it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("title_key", sa.Text(), nullable=False, server_default=""))
    conn = op.get_bind()
    rooms = sa.table("rooms", sa.column("id", sa.BigInteger()), sa.column("title", sa.Text()))
    rows = conn.execute(sa.select(rooms.c.id, rooms.c.title)).all()
    keyed = sa.table("rooms", sa.column("id", sa.BigInteger()), sa.column("title_key", sa.Text()))
    for room_id, title in rows:
        conn.execute(
            sa.update(keyed).where(keyed.c.id == room_id).values(title_key=title.casefold())
        )

    with op.batch_alter_table("todos") as batch:
        batch.add_column(sa.Column("text_key", sa.Text(), nullable=False, server_default=""))
    todos = sa.table("todos", sa.column("id", sa.BigInteger()), sa.column("text", sa.Text()))
    todo_keys = sa.table(
        "todos", sa.column("id", sa.BigInteger()), sa.column("text_key", sa.Text())
    )
    for todo_id, todo_text in conn.execute(sa.select(todos.c.id, todos.c.text)).all():
        conn.execute(
            sa.update(todo_keys)
            .where(todo_keys.c.id == todo_id)
            .values(text_key=todo_text.casefold())
        )

    op.create_table(
        "installation",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("identity", sa.String(length=32), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_installation_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    installation = sa.table(
        "installation",
        sa.column("id", sa.SmallInteger()),
        sa.column("identity", sa.String()),
        sa.column("created_ms", sa.BigInteger()),
    )
    conn.execute(
        sa.insert(installation).values(
            id=1,
            identity=uuid.uuid4().hex,
            created_ms=int(time.time() * 1000),
        )
    )

    op.create_table(
        "discord_cleanups",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_try_ms", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('delete_channel', 'revoke_access')", name=op.f("ck_discord_cleanups_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discord_cleanups")),
        sa.UniqueConstraint(
            "kind",
            "channel_id",
            "user_id",
            name=op.f("uq_discord_cleanups_kind_channel_id_user_id"),
        ),
    )
    op.create_index(
        "ix_discord_cleanups_next_try_ms", "discord_cleanups", ["next_try_ms"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_discord_cleanups_next_try_ms", table_name="discord_cleanups")
    op.drop_table("discord_cleanups")
    op.drop_table("installation")
    op.drop_column("todos", "text_key")
    # ALTER TABLE ... DROP COLUMN, on SQLite too (3.35+): a batch copy would drop and
    # recreate ``rooms``, which foreign keys refuse while room_members has rows
    op.drop_column("rooms", "title_key")

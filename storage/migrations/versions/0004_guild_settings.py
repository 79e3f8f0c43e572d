"""A server's own settings (``/config``) and the record of every change to them.

- ``guild_settings``: the value (as text) a server set for a key, who set it and when; a key
  with no row takes the configuration file's value.
- ``guild_settings_audit``: one row per change, set or reset (``new_value`` NULL), written in
  the change's transaction.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "guild_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "key", name=op.f("pk_guild_settings")),
    )
    op.create_table(
        "guild_settings_audit",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guild_settings_audit")),
    )
    op.create_index(
        "ix_guild_settings_audit_guild_id_id",
        "guild_settings_audit",
        ["guild_id", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_guild_settings_audit_guild_id_id", table_name="guild_settings_audit")
    op.drop_table("guild_settings_audit")
    op.drop_table("guild_settings")

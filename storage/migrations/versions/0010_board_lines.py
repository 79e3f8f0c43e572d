"""Board lines as owed work: ``board_lines``, each line a room's board owes ("**bob**
joined"), written in the transaction of what it tells and kept until Discord has it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "board_lines",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("room_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_try_ms", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_lines")),
    )
    op.create_index("ix_board_lines_next_try_ms", "board_lines", ["next_try_ms"], unique=False)
    op.create_index("ix_board_lines_room_id", "board_lines", ["room_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_board_lines_room_id", table_name="board_lines")
    op.drop_index("ix_board_lines_next_try_ms", table_name="board_lines")
    op.drop_table("board_lines")

"""Long breaks: a room may have a long break after every k-th study period.

Both columns are empty for a room without long breaks (every room made before this), and set
together otherwise: ``long_break_ms`` the long break's length, ``long_every`` k (2–12).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LONG_BREAK_CHECK = (
    "(long_break_ms IS NULL AND long_every IS NULL)"
    " OR (long_break_ms > 0 AND long_every BETWEEN 2 AND 12)"
)


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("long_break_ms", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("long_every", sa.Integer(), nullable=True))
        batch.create_check_constraint("long_break", LONG_BREAK_CHECK)


def downgrade() -> None:
    # rooms keep their study and break lengths; their long breaks are forgotten
    with op.batch_alter_table("rooms") as batch:
        batch.drop_constraint(op.f("ck_rooms_long_break"), type_="check")
        batch.drop_column("long_every")
        batch.drop_column("long_break_ms")

"""A room's scheduled start: ``rooms.scheduled_start_ms``.

The instant (ms since the epoch) the owner scheduled the room's next run to start with
``/timer start at:… [date:…]``; NULL when no start is scheduled. It is set only while the room
has no run, cleared when the run starts, the owner cancels it or the room closes. At start-up
every open room with one is rescheduled, so a start survives restarts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("scheduled_start_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("scheduled_start_ms")

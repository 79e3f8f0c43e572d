"""Study modes: ``rooms.mode`` (pomodoro, flowtime or countup) and, for flowtime rooms,
``rooms.break_share`` (the break is one ``break_share``-th of the study period before it).

Every room made before this is a pomodoro room. A count-up room keeps its check-in interval in
``study_ms`` and its most check-ins in ``terms``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MODE_CHECK = (
    "(mode = 'flowtime' AND break_share BETWEEN 2 AND 10)"
    " OR (mode IN ('pomodoro', 'countup') AND break_share IS NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(
            sa.Column("mode", sa.String(16), nullable=False, server_default="pomodoro")
        )
        batch.add_column(sa.Column("break_share", sa.Integer(), nullable=True))
        batch.create_check_constraint("mode", MODE_CHECK)


def downgrade() -> None:
    # flowtime and count-up rooms become pomodoro rooms of their longest phases
    with op.batch_alter_table("rooms") as batch:
        batch.drop_constraint(op.f("ck_rooms_mode"), type_="check")
        batch.drop_column("break_share")
        batch.drop_column("mode")

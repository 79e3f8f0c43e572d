"""A member's weekly study-time goal: ``members.weekly_goal_minutes``.

Set with ``/goal`` in whole or half hours, 1 to 168 (``bot.domain.goals``), kept as
minutes; NULL is no goal, which every member has until they set one. ``/profile`` shows this
week's study time against it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("weekly_goal_minutes", sa.Integer(), nullable=True))
        batch.create_check_constraint(
            "weekly_goal",
            "weekly_goal_minutes IS NULL OR weekly_goal_minutes BETWEEN 60 AND 10080",
        )


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_constraint(op.f("ck_members_weekly_goal"), type_="check")
        batch.drop_column("weekly_goal_minutes")

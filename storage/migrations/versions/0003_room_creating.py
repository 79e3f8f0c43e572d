"""A room being made: ``rooms.status`` may be ``creating``.

A room is paid for and recorded first, then its channels and card are made; until they are it
is ``creating`` (not listed, not joinable), so a failure or a crash part way leaves a row the
room service undoes (refund, owed channel deletions) instead of channels nobody knows of.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _status_check(allowed: str) -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_constraint(op.f("ck_rooms_status"), type_="check")
        batch.create_check_constraint("status", f"status IN ({allowed})")


def upgrade() -> None:
    _status_check("'creating', 'open', 'closed'")


def downgrade() -> None:
    # a room still being made when the schema goes back is one that was never made
    op.execute("UPDATE rooms SET status = 'closed' WHERE status = 'creating'")
    _status_check("'open', 'closed'")

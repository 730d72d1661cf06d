"""statistics: air time per broadcast window (khung giờ phát) by commune and device kind, daily and monthly

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 13:05:00
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _table(name: str, period: str, length: int) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(period, sa.String(length=length), nullable=False),
        sa.Column("area_path", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=6), nullable=False),
        sa.Column("window_label", sa.String(length=11), nullable=False),
        sa.Column("air_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(f"ix_{name}_{period}_area", name, [period, "area_path"])


# days stored before this revision have no window rows: those whose raw events are still kept (the raw
# retention is 400 days, hub/services/rollups.RAW_RETENTION_DAYS) are marked not stored, so the hub's
# background catch-up rolls them up again (their other figures stay readable meanwhile)
REDO_DAYS = 390


def upgrade() -> None:
    _table("stat_window_days", "day", 10)
    _table("stat_window_months", "month", 7)
    since = (date.today() - timedelta(days=REDO_DAYS)).isoformat()
    op.execute(sa.text("DELETE FROM stat_rollup_days WHERE day >= :since").bindparams(since=since))


def downgrade() -> None:
    for name, period in (("stat_window_months", "month"), ("stat_window_days", "day")):
        op.drop_index(f"ix_{name}_{period}_area", table_name=name)
        op.drop_table(name)

"""statistics: monthly roll-ups the Thống kê queries read for whole months; a bulletin's subject

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_DEVICE_SUMS = ("observed_s", "online_s", "outages", "recovered", "recover_s", "shown_s")


def upgrade() -> None:
    op.create_table(
        "stat_play_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("area_path", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=6), nullable=False),
        sa.Column("part", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("plays", sa.Integer(), nullable=False),
        sa.Column("air_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stat_play_months_month_area", "stat_play_months", ["month", "area_path"])
    op.create_table(
        "stat_device_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("area_path", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=6), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in _DEVICE_SUMS),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stat_device_months_month_area", "stat_device_months", ["month", "area_path"])
    # the months of the days already rolled up (the same sums hub/services/rollups.store_months keeps)
    op.execute(
        "INSERT INTO stat_play_months (month, area_path, kind, part, outcome, plays, air_ms) "
        "SELECT substr(day, 1, 7), area_path, kind, part, outcome, sum(plays), sum(air_ms) "
        "FROM stat_play_days GROUP BY substr(day, 1, 7), area_path, kind, part, outcome"
    )
    sums = ", ".join(f"sum({c})" for c in _DEVICE_SUMS)
    cols = ", ".join(_DEVICE_SUMS)
    op.execute(
        f"INSERT INTO stat_device_months (month, device_id, area_path, kind, {cols}) "  # noqa: S608 - constants
        f"SELECT substr(day, 1, 7), device_id, area_path, kind, {sums} "
        "FROM stat_device_days GROUP BY substr(day, 1, 7), device_id, area_path, kind"
    )
    with op.batch_alter_table("bulletins") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=20), nullable=False, server_default="other"))


def downgrade() -> None:
    with op.batch_alter_table("bulletins") as batch:
        batch.drop_column("subject")
    op.drop_index("ix_stat_device_months_month_area", table_name="stat_device_months")
    op.drop_table("stat_device_months")
    op.drop_index("ix_stat_play_months_month_area", table_name="stat_play_months")
    op.drop_table("stat_play_months")

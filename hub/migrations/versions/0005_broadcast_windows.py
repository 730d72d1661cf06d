"""window_rules and occasion_windows: broadcast windows as the area tree's data (Art. 10)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "window_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_path", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=6), nullable=False),
        sa.Column("effective_from", sa.String(length=10), nullable=False),
        sa.Column("windows", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["area_path"], ["areas.path"]),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("area_path", "kind", "effective_from"),
    )
    op.create_index("ix_window_rules_area_path", "window_rules", ["area_path"], unique=False)
    op.create_table(
        "occasion_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_path", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("date_from", sa.String(length=10), nullable=False),
        sa.Column("date_to", sa.String(length=10), nullable=False),
        sa.Column("windows", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["area_path"], ["areas.path"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_occasion_windows_area_path", "occasion_windows", ["area_path"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_occasion_windows_area_path", table_name="occasion_windows")
    op.drop_table("occasion_windows")
    op.drop_index("ix_window_rules_area_path", table_name="window_rules")
    op.drop_table("window_rules")

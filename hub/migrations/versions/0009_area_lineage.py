"""the real map: areas' unit types, the lineage of reorganised areas, and the commune of each play

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("areas") as batch:
        batch.add_column(sa.Column("unit_type", sa.String(length=20), nullable=False, server_default=""))
    with op.batch_alter_table("plays") as batch:
        batch.add_column(sa.Column("area_path", sa.String(length=200), nullable=False, server_default=""))
        batch.create_index("ix_plays_area_path", ["area_path"], unique=False)
    # plays recorded before this migration happened in the commune their device is in now
    op.execute(
        "UPDATE plays SET area_path = COALESCE("
        "(SELECT devices.area_path FROM devices WHERE devices.id = plays.device_id), '')"
    )
    op.create_table(
        "area_lineage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("change", sa.String(length=10), nullable=False),
        sa.Column("old_path", sa.String(length=200), nullable=False),
        sa.Column("old_name", sa.String(length=200), nullable=False),
        sa.Column("new_path", sa.String(length=200), nullable=True),
        sa.Column("new_name", sa.String(length=200), nullable=False),
        sa.Column("effective", sa.String(length=10), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_area_lineage_old_path", "area_lineage", ["old_path"], unique=False)
    op.create_index("ix_area_lineage_new_path", "area_lineage", ["new_path"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_area_lineage_new_path", table_name="area_lineage")
    op.drop_index("ix_area_lineage_old_path", table_name="area_lineage")
    op.drop_table("area_lineage")
    with op.batch_alter_table("plays") as batch:
        batch.drop_index("ix_plays_area_path")
        batch.drop_column("area_path")
    with op.batch_alter_table("areas") as batch:
        batch.drop_column("unit_type")

"""statistics: device online/offline changes, daily roll-ups, archived reports, device coordinates

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 09:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _day_area(table: str) -> None:
    op.create_index(f"ix_{table}_day_area", table, ["day", "area_path"], unique=False)


def upgrade() -> None:
    op.create_table(
        "device_state_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_device_state_changes_device_at", "device_state_changes", ["device_id", "at"], unique=False
    )
    op.create_table(
        "stat_device_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("area_path", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=6), nullable=False),
        sa.Column("observed_s", sa.Integer(), nullable=False),
        sa.Column("online_s", sa.Integer(), nullable=False),
        sa.Column("outages", sa.Integer(), nullable=False),
        sa.Column("recovered", sa.Integer(), nullable=False),
        sa.Column("recover_s", sa.Integer(), nullable=False),
        sa.Column("shown_s", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "device_id"),
    )
    _day_area("stat_device_days")
    op.create_table(
        "stat_emergency_delays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("bulletin_id", sa.String(length=40), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("area_path", sa.String(length=200), nullable=False),
        sa.Column("exercise", sa.Boolean(), nullable=False),
        sa.Column("delay_ms", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bulletin_id", "device_id"),
    )
    _day_area("stat_emergency_delays")
    op.create_table(
        "stat_play_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("area_path", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=6), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("exercise", sa.Boolean(), nullable=False),
        sa.Column("part", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("plays", sa.Integer(), nullable=False),
        sa.Column("air_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _day_area("stat_play_days")
    op.create_table(
        "stat_problem_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("area_path", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _day_area("stat_problem_days")
    op.create_table(
        "stat_rollup_days",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "stat_reports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("area_path", sa.String(length=200), nullable=False),
        sa.Column("period_from", sa.String(length=10), nullable=False),
        sa.Column("period_to", sa.String(length=10), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("docx", sa.LargeBinary(), nullable=False),
        sa.Column("xlsx", sa.LargeBinary(), nullable=False),
        sa.Column("generated_by", sa.Integer(), nullable=True),
        sa.Column("generated_username", sa.String(length=64), nullable=False),
        sa.Column("generated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["generated_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stat_reports_area_path", "stat_reports", ["area_path"], unique=False)
    op.add_column("devices", sa.Column("lat", sa.Float(), nullable=True))
    op.add_column("devices", sa.Column("lon", sa.Float(), nullable=True))
    op.create_index("ix_plays_started_scheduled", "plays", ["started_at", "scheduled_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_plays_started_scheduled", table_name="plays")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("lon")
        batch.drop_column("lat")
    op.drop_index("ix_stat_reports_area_path", table_name="stat_reports")
    op.drop_table("stat_reports")
    op.drop_table("stat_rollup_days")
    for table in ("stat_problem_days", "stat_play_days", "stat_emergency_delays", "stat_device_days"):
        op.drop_index(f"ix_{table}_day_area", table_name=table)
        op.drop_table(table)
    op.drop_index("ix_device_state_changes_device_at", table_name="device_state_changes")
    op.drop_table("device_state_changes")

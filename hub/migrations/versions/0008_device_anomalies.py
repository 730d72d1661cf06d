"""device_anomalies: device reports the hub did not believe, one bounded row each

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_anomalies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=120), nullable=True),
        sa.Column("event_type", sa.String(length=20), nullable=False),
        sa.Column("bulletin_id", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id", "event_id"),
    )
    op.create_index(
        "ix_device_anomalies_device_received_at",
        "device_anomalies",
        ["device_id", "received_at"],
        unique=False,
    )
    op.create_index("ix_device_anomalies_received_at", "device_anomalies", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_device_anomalies_received_at", table_name="device_anomalies")
    op.drop_index("ix_device_anomalies_device_received_at", table_name="device_anomalies")
    op.drop_table("device_anomalies")

"""device_events: an index on (type, received_at), for a device's refused messages of the last day

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 23:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_device_events_type_received_at", "device_events", ["type", "received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_device_events_type_received_at", table_name="device_events")

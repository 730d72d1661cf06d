"""first_seen_playing: when each device was first seen (by its status) playing each emergency

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "first_seen_playing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bulletin_id", sa.String(length=40), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bulletin_id", "device_id"),
    )
    op.create_index("ix_first_seen_playing_bulletin_id", "first_seen_playing", ["bulletin_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_first_seen_playing_bulletin_id", table_name="first_seen_playing")
    op.drop_table("first_seen_playing")

"""devices: the hash of the broker password the hub issued (managed broker files, hub/broker_files.py)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 13:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("broker_secret", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("broker_secret")

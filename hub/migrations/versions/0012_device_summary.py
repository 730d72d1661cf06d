"""device summary: the columns the device lists count, filter and sort on in SQL (issue 19)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 12:40:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from hub.services.device_views import summary_columns

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("flags", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("devices", sa.Column("programme_version", sa.Integer(), nullable=True))
    op.add_column("devices", sa.Column("search", sa.String(length=300), nullable=False, server_default=""))
    op.create_index("ix_devices_last_seen", "devices", ["last_seen"])
    op.create_index("ix_devices_state", "devices", ["state"])
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, name, last_status FROM devices")).all()
    for dev_id, name, status in rows:
        st = json.loads(status) if isinstance(status, str) else status
        flags, version, search = summary_columns(dev_id, name or "", st if isinstance(st, dict) else {})
        conn.execute(
            sa.text("UPDATE devices SET flags = :f, programme_version = :v, search = :s WHERE id = :i"),
            {"f": flags, "v": version, "s": search, "i": dev_id},
        )


def downgrade() -> None:
    op.drop_index("ix_devices_state", table_name="devices")
    op.drop_index("ix_devices_last_seen", table_name="devices")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("search")
        batch.drop_column("programme_version")
        batch.drop_column("flags")

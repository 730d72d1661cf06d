"""e-mail notifications: each user's address and opt-in (issue 19)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 12:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("email", sa.String(length=254), nullable=False, server_default=""))
    op.add_column(
        "users", sa.Column("email_notices", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_notices")
        batch.drop_column("email")

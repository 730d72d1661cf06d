"""publish intents: the transactional outbox of what a committed change must publish (hub roles)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publish_intents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("wire", sa.LargeBinary(), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_publish_intents_done_at", "publish_intents", ["done_at"])


def downgrade() -> None:
    op.drop_index("ix_publish_intents_done_at", table_name="publish_intents")
    op.drop_table("publish_intents")

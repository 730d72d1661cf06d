"""central link: CAP requests from the central system, seen nonces, the reports outbox

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "central_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=False),
        sa.Column("sent", sa.String(length=40), nullable=False),
        sa.Column("msg_type", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("bulletin_id", sa.String(length=40), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("air_at", sa.DateTime(), nullable=True),
        sa.Column("cap_xml", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender", "identifier", "sent"),
    )
    op.create_index("ix_central_requests_bulletin_id", "central_requests", ["bulletin_id"])
    op.create_table(
        "central_nonces",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_index("ix_central_nonces_seen_at", "central_nonces", ["seen_at"])
    op.create_table(
        "central_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_central_outbox_next_try_at", "central_outbox", ["next_try_at"])
    op.create_index("ix_central_outbox_sent_at", "central_outbox", ["sent_at"])


def downgrade() -> None:
    op.drop_table("central_outbox")
    op.drop_table("central_nonces")
    op.drop_table("central_requests")

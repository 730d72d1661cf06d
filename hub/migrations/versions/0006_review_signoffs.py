"""review before air (Art. 14.5): reviewers' groups on accounts, sign-offs per bulletin version

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("review_group", sa.String(length=40), nullable=True))
    op.create_table(
        "bulletin_signoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bulletin_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("review_group", sa.String(length=40), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["bulletin_id"], ["bulletins.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bulletin_id", "version", "user_id"),
    )
    op.create_index("ix_bulletin_signoffs_bulletin_id", "bulletin_signoffs", ["bulletin_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bulletin_signoffs_bulletin_id", table_name="bulletin_signoffs")
    op.drop_table("bulletin_signoffs")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("review_group")

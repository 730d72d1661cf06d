"""languages: the local languages an area uses (inherited downwards when NULL) and a bulletin's versions in
them (Decree 49/2024: commune stations also broadcast in local ethnic-minority languages)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("languages", sa.JSON(), nullable=True))
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language_versions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.drop_column("language_versions")
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.drop_column("languages")

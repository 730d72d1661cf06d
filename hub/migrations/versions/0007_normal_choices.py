"""normal_choices and standing_choices: a chair's choice of normal bulletins per bulletin, kind, and day or
whole validity, and the commune's standing rules (Art. 8.3); programme_choices keeps only the order

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "normal_choices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_path", sa.String(length=200), nullable=False),
        sa.Column("bulletin_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=6), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("chosen", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["area_path"], ["areas.path"]),
        sa.ForeignKeyConstraint(["bulletin_id"], ["bulletins.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("area_path", "bulletin_id", "kind", "date"),
    )
    op.create_index("ix_normal_choices_area_path", "normal_choices", ["area_path"])
    op.create_index("ix_normal_choices_bulletin_id", "normal_choices", ["bulletin_id"])
    op.create_table(
        "standing_choices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_path", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=6), nullable=False),
        sa.Column("set_by", sa.Integer(), nullable=True),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["area_path"], ["areas.path"]),
        sa.ForeignKeyConstraint(["set_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("area_path", "origin", "kind"),
    )
    op.create_index("ix_standing_choices_area_path", "standing_choices", ["area_path"])
    # A day's selection becomes one chosen row per bulletin and kind ('*' was both kinds).
    conn = op.get_bind()
    choices = sa.table(
        "programme_choices",
        sa.column("area_path", sa.String()),
        sa.column("date", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("selection", sa.JSON()),
        sa.column("updated_by", sa.Integer()),
        sa.column("updated_at", sa.DateTime()),
    )
    bulletins = {r[0] for r in conn.execute(sa.text("SELECT id FROM bulletins"))}
    rows = []
    for area, day, kind, selection, by, at in conn.execute(
        sa.select(
            choices.c.area_path,
            choices.c.date,
            choices.c.kind,
            choices.c.selection,
            choices.c.updated_by,
            choices.c.updated_at,
        )
    ):
        for bid in dict.fromkeys(selection or []):
            if bid in bulletins:
                for k in ("radio", "led") if kind == "*" else (kind,):
                    rows.append(
                        {
                            "area_path": area,
                            "bulletin_id": bid,
                            "kind": k,
                            "date": day,
                            "chosen": True,
                            "decided_by": by,
                            "decided_at": at,
                        }
                    )
    seen: set[tuple[str, str, str, str]] = set()
    unique = []
    for r in rows:  # a day's '*' row and its 'radio' row may both name a bulletin
        key = (r["area_path"], r["bulletin_id"], r["kind"], r["date"])
        if key not in seen:
            seen.add(key)
            unique.append(r)
    if unique:
        op.bulk_insert(sa.table("normal_choices", *(sa.column(c) for c in unique[0])), unique)
    with op.batch_alter_table("programme_choices") as batch:
        batch.drop_column("selection")


def downgrade() -> None:
    with op.batch_alter_table("programme_choices") as batch:
        batch.add_column(sa.Column("selection", sa.JSON(), nullable=True))
    op.drop_index("ix_standing_choices_area_path", table_name="standing_choices")
    op.drop_table("standing_choices")
    op.drop_index("ix_normal_choices_bulletin_id", table_name="normal_choices")
    op.drop_index("ix_normal_choices_area_path", table_name="normal_choices")
    op.drop_table("normal_choices")

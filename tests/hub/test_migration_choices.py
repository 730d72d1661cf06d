"""Migration 0007: a chair's day selections made before the upgrade become per-bulletin choices (both kinds
for a '*' day), nothing else is chosen, and the old column goes (and comes back on downgrade)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import JSON, Boolean, DateTime, Integer, MetaData, Table, inspect, select, text

from hub.db import alembic_config, make_engine, migrate


def _row(table: Table, **given: Any) -> dict[str, Any]:
    """The given values plus a plain one for every other required column (the schema of that revision)."""
    now = datetime(2026, 11, 20, 1, 0)
    row = dict(given)
    for col in table.columns:
        if col.name in row or col.nullable or col.server_default is not None or col.primary_key:
            continue
        t = col.type
        row[col.name] = (
            False
            if isinstance(t, Boolean)
            else 0
            if isinstance(t, Integer)
            else now
            if isinstance(t, DateTime)
            else []
            if isinstance(t, JSON)
            else "x"
        )
    return row


def test_day_selections_become_choices(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    migrate(engine, "0006")
    meta = MetaData()
    areas = Table("areas", meta, autoload_with=engine)
    bulletins = Table("bulletins", meta, autoload_with=engine)
    choices = Table("programme_choices", meta, autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(
            areas.insert(),
            [
                _row(areas, path="67", code="67", name="Tỉnh", level="province", depth=0),
                _row(areas, path="67/1", code="1", name="Xã", level="commune", depth=1, parent_path="67"),
            ],
        )
        for bid in ("b-chosen", "b-other"):
            conn.execute(
                bulletins.insert(),
                _row(
                    bulletins,
                    id=bid,
                    priority="normal",
                    status="approved",
                    kinds=["radio", "led"],
                    target_paths=["67"],
                ),
            )
        at = datetime(2026, 11, 20, 1, 0)
        conn.execute(
            choices.insert(),
            [
                _row(
                    choices,
                    area_path="67/1",
                    date="2026-11-23",
                    kind="*",
                    order=["p-1"],
                    selection=["b-chosen", "b-gone"],
                    updated_at=at,
                ),
                _row(
                    choices,
                    area_path="67/1",
                    date="2026-11-24",
                    kind="led",
                    order=None,
                    selection=["b-other"],
                    updated_at=at,
                ),
                _row(
                    choices,
                    area_path="67/1",
                    date="2026-11-25",
                    kind="radio",
                    order=None,
                    selection=None,
                    updated_at=at,
                ),
            ],
        )
    migrate(engine, "0007")
    with engine.connect() as conn:
        got = conn.execute(
            text("SELECT area_path, bulletin_id, kind, date, chosen FROM normal_choices ORDER BY date, kind")
        ).all()
        order = conn.execute(
            text("SELECT \"order\" FROM programme_choices WHERE date = '2026-11-23'")
        ).scalar()
    assert [tuple(r) for r in got] == [
        ("67/1", "b-chosen", "led", "2026-11-23", True),
        ("67/1", "b-chosen", "radio", "2026-11-23", True),
        ("67/1", "b-other", "led", "2026-11-24", True),
    ]
    assert json.loads(order) == ["p-1"]  # the chair's order stays
    assert "selection" not in {c["name"] for c in inspect(engine).get_columns("programme_choices")}
    command.downgrade(alembic_config(engine), "0006")
    assert "selection" in {c["name"] for c in inspect(engine).get_columns("programme_choices")}
    assert "normal_choices" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(select(text("count(*)")).select_from(text("programme_choices"))).scalar() == 3
    engine.dispose()

"""Migrations run on SQLite and on PostgreSQL (a throwaway database per run) and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from hub.db import Database, alembic_config, current_revision
from hub.models import Base
from hub.roles import SYSTEM
from hub.services import Context
from hub.services.accounts import AccountService
from hub.services.areas import AreaService
from hub.stat_models import StatReport  # noqa: F401 - the statistics tables join Base.metadata
from protocol.clock import SystemClock
from tests.hub.conftest import PASSWORD, make_config


def _check(db: Database, tmp_path: Path) -> None:
    db.migrate()
    db.migrate()  # idempotent
    heads = ScriptDirectory.from_config(alembic_config(db.engine)).get_heads()
    assert len(heads) == 1, f"migrations have {len(heads)} heads: {heads}; renumber yours after main's"
    assert current_revision(db.engine) == heads[0] == max(
        p.name[:4] for p in (Path(__file__).parents[2] / "hub/migrations/versions").glob("0*.py")
    )
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if d[0] not in ("modify_type",)] == []
    ctx = Context(db=db, config=make_config(tmp_path), clock=SystemClock())
    areas = AreaService(ctx)
    areas.import_tree(
        {
            "code": "01",
            "name": "Tỉnh",
            "level": "province",
            "children": [{"code": "001", "name": "Xã", "level": "commune"}],
        },
        SYSTEM,
    )
    assert areas.leaves() == ["01/001"]  # a two-tier map works as well as a three-tier one
    AccountService(ctx, areas).create_user(SYSTEM, username="u1", password=PASSWORD, role="viewer", area="01")


def test_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    _check(db, tmp_path)
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    db.dispose()


@pytest.mark.postgres
def test_postgresql(tmp_path: Path, pg_url: str) -> None:
    db = Database(pg_url)
    _check(db, tmp_path)
    db.dispose()

"""Migrations run on SQLite and on PostgreSQL (a throwaway database per run) and match the models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from hub.db import Database, current_revision
from hub.models import Base
from hub.roles import SYSTEM
from hub.services import Context
from hub.services.accounts import AccountService
from hub.services.areas import AreaService
from protocol.clock import SystemClock
from tests.hub.conftest import PASSWORD, make_config

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _check(db: Database, tmp_path: Path) -> None:
    db.migrate()
    db.migrate()  # idempotent
    assert current_revision(db.engine) == "0001"
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if d[0] not in ("modify_type",)] == []
    ctx = Context(db=db, config=make_config(tmp_path), clock=SystemClock())
    areas = AreaService(ctx)
    areas.import_tree({"code": "01", "name": "Tỉnh", "level": "province",
                       "children": [{"code": "001", "name": "Xã", "level": "commune"}]}, SYSTEM)
    assert areas.leaves() == ["01/001"]  # a two-tier map works as well as a three-tier one
    AccountService(ctx, areas).create_user(SYSTEM, username="u1", password=PASSWORD, role="viewer", area="01")


def test_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    _check(db, tmp_path)
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    db.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = f"nguon_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 (user postgres) is not reachable: {exc.__class__.__name__}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_postgresql(tmp_path: Path, pg_url: str) -> None:
    db = Database(pg_url)
    _check(db, tmp_path)
    db.dispose()

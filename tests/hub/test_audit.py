"""The audit log: GET /api/v1/audit for administrators with filters; append-only, enforced by the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hub.db import Database
from hub.models import AuditEntry
from tests.hub.conftest import Hub

TEXT = {
    "title": "Thông báo",
    "priority": "normal",
    "text": "Nội dung.",
    "targets": ["67/660"],
    "kinds": ["radio"],
}


async def test_audit_api_admin_only_with_filters(hub: Hub) -> None:
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json=TEXT)
    assert status == 201
    status, _ = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "viewer")
    assert status == 403
    hub.clock.advance(3600)
    status, _ = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
    assert status == 200
    status, err = await hub.call("GET", "/api/v1/audit", "editor67")
    assert status == 403

    async def audit(query: str) -> list[dict]:  # type: ignore[type-arg]
        status, body = await hub.call("GET", f"/api/v1/audit{query}", "admin1")
        assert status == 200, body
        return body["entries"]  # type: ignore[no-any-return]

    everything = await audit("")
    assert [e["id"] for e in everything] == sorted(
        (e["id"] for e in everything), reverse=True
    )  # newest first
    assert {(e["action"], e["username"], e["outcome"]) for e in await audit(f"?target={b['id']}")} == {
        ("bulletin.create", "editor67", "ok"),
        ("bulletin.approve", "viewer", "denied"),
        ("bulletin.approve", "editor67", "ok"),
    }
    denied = await audit("?outcome=denied")
    assert {(e["username"], e["action"]) for e in denied} == {
        ("viewer", "bulletin.approve"),
        ("editor67", "audit.read"),
    }
    assert all(e["ip"] for e in denied)  # from where
    assert [e["action"] for e in await audit("?action=bulletin.&username=editor67")] == [
        "bulletin.approve",
        "bulletin.create",
    ]
    later = (hub.clock.now() - timedelta(minutes=1)).isoformat()
    assert [e["action"] for e in await audit(f"?action=bulletin.&since={later.replace('+', '%2B')}")] == [
        "bulletin.approve"
    ]
    assert len(await audit("?limit=2")) == 2
    status, err = await hub.call("GET", "/api/v1/audit?since=yesterday", "admin1")
    assert status == 422 and err["error"]["field"] == "since"
    status, err = await hub.call("GET", "/api/v1/audit?outcome=maybe", "admin1")
    assert status == 422 and err["error"]["field"] == "outcome"


def _guarded(db: Database) -> None:
    """UPDATE is refused, DELETE of a recent entry is refused, DELETE after 30 days is allowed."""
    db.migrate()
    now = datetime.now(UTC)
    with db.session() as sess:
        sess.add_all(
            [
                AuditEntry(at=now, username="a", action="x.recent", detail={}),
                AuditEntry(at=now - timedelta(days=31), username="a", action="x.old", detail={}),
            ]
        )
    for sql in (
        "UPDATE audit_log SET action = 'x.changed'",
        "DELETE FROM audit_log WHERE action = 'x.recent'",
    ):
        with pytest.raises(DBAPIError, match="audit_log"), db.engine.begin() as conn:
            conn.execute(text(sql))
    with db.engine.begin() as conn:
        assert conn.execute(text("DELETE FROM audit_log WHERE action = 'x.old'")).rowcount == 1
        assert conn.execute(text("SELECT action FROM audit_log")).scalars().all() == ["x.recent"]
    if db.is_postgres:
        with pytest.raises(DBAPIError, match="audit_log"), db.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))


def test_append_only_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    try:
        _guarded(db)
    finally:
        db.dispose()


@pytest.mark.postgres
def test_append_only_postgresql(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        _guarded(db)
    finally:
        db.dispose()


def test_no_code_path_changes_the_audit_log() -> None:
    """Services only insert: no ORM or SQL update/delete of AuditEntry anywhere in hub/."""
    root = Path(__file__).resolve().parents[2] / "hub"
    for path in root.rglob("*.py"):
        src = path.read_text(encoding="utf-8")
        for bad in ("delete(AuditEntry", "update(AuditEntry", "UPDATE audit_log", "DELETE FROM audit_log"):
            assert bad not in src, f"{path}: {bad}"

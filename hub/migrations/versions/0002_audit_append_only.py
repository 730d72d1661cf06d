"""audit log append-only: triggers refuse UPDATE always, DELETE (and TRUNCATE) of entries under 30 days

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 18:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# `at` is naive UTC on both databases (hub.models.UTCDateTime).
SQLITE = [
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be changed'); END""",
    """CREATE TRIGGER audit_log_keep_30_days BEFORE DELETE ON audit_log
       WHEN OLD.at > datetime('now', '-30 days')
       BEGIN SELECT RAISE(ABORT, 'audit_log entries are kept at least 30 days'); END""",
]
POSTGRES = [
    """CREATE FUNCTION nguon_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'UPDATE' THEN
           RAISE EXCEPTION 'audit_log is append-only: entries cannot be changed';
         END IF;
         IF TG_OP = 'TRUNCATE' OR OLD.at > (now() AT TIME ZONE 'UTC') - interval '30 days' THEN
           RAISE EXCEPTION 'audit_log entries are kept at least 30 days';
         END IF;
         RETURN OLD;
       END $$""",
    """CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION nguon_audit_guard()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
       FOR EACH STATEMENT EXECUTE FUNCTION nguon_audit_guard()""",
]


def upgrade() -> None:
    for sql in POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_guard ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS nguon_audit_guard()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_keep_30_days")

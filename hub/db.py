"""Engine, sessions and migrations. Only hub/app.py and hub/__main__.py construct a Database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK_ID = 0x6E67756F6E02  # "nguon" + 2 (the publisher's is + 1, hub/singleton.py)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers (API, pages) run while the publisher writes; busy_timeout rides out short locks.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def alembic_config(engine: Engine) -> AlembicConfig:
    """Programmatic Alembic config (no alembic.ini): env.py takes the engine from attributes."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:
            return None


class Database:
    """An engine plus a session factory; `session()` is one transaction (commit or roll back)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        self.is_postgres = self.engine.dialect.name == "postgresql"

    def migrate(self) -> None:
        """Bring the schema up to date; on PostgreSQL one process at a time (hub roles: several `hub serve`
        processes may start together on a fresh database)."""
        if not self.is_postgres:
            migrate(self.engine)
            return
        with self.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_ID})
            try:
                migrate(self.engine)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_ID})
                conn.commit()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._factory() as sess, sess.begin():
            yield sess

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The session factory (for session events: hub/broker_sync.py)."""
        return self._factory

    def dispose(self) -> None:
        self.engine.dispose()


# The server ends a session whose client stopped answering (its machine died, its network cut) after about
# idle + interval x count seconds, and a session lock goes with it: a standby can then take over (hub roles).
# A client killed on a living machine closes its TCP connection at once (the kernel does it).
LOCK_KEEPALIVES = {"tcp_keepalives_idle": 1, "tcp_keepalives_interval": 1, "tcp_keepalives_count": 2,
                   "tcp_user_timeout": 3000}


def try_advisory_lock(db: Database, key: int) -> Connection | None:
    """PostgreSQL: a session advisory lock on a connection of its own, held while that connection lives
    (the caller keeps it); None when another session holds it. The session's TCP keepalives are short
    (LOCK_KEEPALIVES): a dead holder loses the lock within seconds."""
    conn = db.engine.connect()
    for name, value in LOCK_KEEPALIVES.items():
        conn.execute(text(f"SET {name} = {int(value)}"))
    got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
    conn.commit()
    if not got:
        conn.close()
        return None
    return conn


def release_advisory_lock(conn: Connection, key: int) -> None:
    """Give it back explicitly (a pooled connection would keep a session lock) and close the connection."""
    try:
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        conn.commit()
        conn.close()
    except (DBAPIError, PendingRollbackError):  # the connection is gone (with its lock) or broken
        conn.invalidate()  # the server ends the session, and the lock with it

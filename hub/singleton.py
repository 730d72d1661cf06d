"""Who publishes for a database.

Every envelope carries a seq from SeqAllocator, which reserves blocks of SEQ_BLOCK in the database. Two hub
processes publishing for the same database would sign with two blocks at once (say 1,001… and 2,001…), and
an agent that accepted 2,005 refuses 1,006 as a replay: whole communes would drop programmes and alerts.
So a hub that publishes holds this lock: PostgreSQL, a session advisory lock on a connection of its own;
SQLite, an flock next to the database file. The lock goes with the process (connection closed, file
descriptor closed), also on kill -9.

On PostgreSQL a second `hub serve` is not refused: it serves the web UI and the API as a standby and takes
the lock when the leader lets it go (hub/election.py). On SQLite (one process) a second one stops with
HubAlreadyRunning; `hub backup`/`restore`/`check` use the lock to see whether a hub publishes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hub.db import Database, release_advisory_lock, try_advisory_lock

PUBLISHER_LOCK_ID = 0x6E67756F6E01  # "nguon" + 1 (the midnight job's lock is 0x6E67756F6E)
WHY = (
    "each hub process signs with its own block of sequence numbers, and devices refuse the other "
    "block's messages as replays. With SQLite run one hub process per province; several hub processes "
    "(one publishing, the others standing by) need PostgreSQL (docs/OPERATIONS.md, Scaling)."
)


class HubAlreadyRunning(RuntimeError):
    """Another hub process publishes for this database; the message says which and what to do, `holder`
    is its pid when known (SQLite's lock file holds it; PostgreSQL's advisory lock does not)."""

    def __init__(self, message: str, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class PublisherLock:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: Any = None
        self._fd: int | None = None

    def acquire(self) -> None:
        if self.db.is_postgres:
            self._acquire_pg()
        else:
            self._acquire_file()

    def _acquire_pg(self) -> None:
        conn = try_advisory_lock(self.db, PUBLISHER_LOCK_ID)
        if conn is None:
            raise HubAlreadyRunning(
                "another hub process already publishes for this PostgreSQL database "
                f"(advisory lock {PUBLISHER_LOCK_ID} is held); " + WHY
            )
        self._conn = conn

    @property
    def held(self) -> bool:
        return self._conn is not None or self._fd is not None

    def alive(self) -> bool:
        """PostgreSQL: whether the lock's connection still answers (a lost connection lost the lock)."""
        if self._conn is None:
            return self._fd is not None
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
        except DBAPIError:
            return False
        return True

    def lock_path(self) -> Path | None:
        """The SQLite file's lock, or None for an in-memory database (nothing to share)."""
        name = self.db.engine.url.database
        if not name or name == ":memory:":
            return None
        return Path(name).with_name(Path(name).name + ".publisher.lock")

    def _acquire_file(self) -> None:
        path = self.lock_path()
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise HubAlreadyRunning(
                f"another hub process (pid {holder}) already publishes for the database "
                f"{self.db.engine.url.database} (lock file {path}); " + WHY,
                holder=None if holder == "?" else holder,
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            release_advisory_lock(conn, PUBLISHER_LOCK_ID)
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

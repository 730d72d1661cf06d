"""The agent's local store: stdlib sqlite3, WAL, synchronous=FULL: state survives kill -9 and power loss."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 3
# (seq, message id) remembered per stream: a copy of one of these (the other broker's, a retained one, what a
# broker queued in this agent's persistent session while it was on the other broker) is a duplicate, dropped
# silently. Mosquitto queues at most 1000 messages per session (max_queued_messages), hence the size.
SEEN_PER_STREAM = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS programme (kind TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL,
                                      received_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seq (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL, msg_id TEXT NOT NULL);
-- v3: the last SEEN_PER_STREAM accepted (seq, id) per stream, for the duplicate rule (docs/PROTOCOL.md)
CREATE TABLE IF NOT EXISTS seen (stream TEXT NOT NULL, seq INTEGER NOT NULL, msg_id TEXT NOT NULL,
                                 PRIMARY KEY (stream, seq));
CREATE TABLE IF NOT EXISTS recalled (bulletin_id TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS media (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, last_used REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
                                   payload TEXT NOT NULL, created TEXT NOT NULL);
-- one row per scheduled item instance: pending -> playing -> done (completed/skipped/failed/dropped)
CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, state TEXT NOT NULL,
                                  offset_ms INTEGER NOT NULL DEFAULT 0,
                                  started_at TEXT, updated_at TEXT NOT NULL);
-- emergencies seen (active or finished): a reconnect or a retained programme must not replay them
CREATE TABLE IF NOT EXISTS emergencies (id TEXT PRIMARY KEY, alert TEXT NOT NULL, state TEXT NOT NULL,
                                        plays_done INTEGER NOT NULL, next_due TEXT, playing_since TEXT,
                                        updated_at TEXT NOT NULL);
"""


def _instant(text: str) -> float:
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return float("inf")  # unreadable: never old enough to forget


class Store:
    """All agent state. One connection, autocommit; each write is durable when the call returns (inside
    `transaction()`: when the outermost block ends). Seqs and recalls are read often: kept in memory too."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: an acked event or an accepted seq must not vanish on power loss.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._seq: dict[str, tuple[int, str]] | None = None  # caches, dropped on rollback
        self._recalled: set[str] | None = None

    def _migrate(self) -> None:
        """Bring a store written by an older agent up to date (an upgraded agent keeps its state)."""
        cols = {row[1] for row in self._db.execute("PRAGMA table_info(emergencies)")}
        if "offset_ms" not in cols:  # v2: where an interrupted emergency resumes
            self._db.execute("ALTER TABLE emergencies ADD COLUMN offset_ms INTEGER NOT NULL DEFAULT 0")
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None or int(row[0]) < 3:  # v3: the last accepted message of each stream starts its window
            self._db.execute("INSERT OR IGNORE INTO seen SELECT stream, seq, msg_id FROM seq")
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing, one commit (one fsync); a nested block joins the outer one."""
        if self._db.in_transaction:
            yield self._db
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            self._seq = self._recalled = None  # they may hold what was just rolled back
            raise
        self._db.execute("COMMIT")

    # --- the commune the hub moved this device to (command set_area), over the config file's ---
    def save_area(self, area: str, config_area: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('area', ?)", (area,))
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('area_config', ?)", (config_area,))

    def area_for(self, config_area: str) -> str | None:
        """The area the hub moved this device to, while the config file still names the area it had then
        (a config edited by a technician since wins)."""
        rows = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('area', 'area_config')"))
        return rows.get("area") if rows.get("area_config") == config_area else None

    # --- programme ---
    def save_programme(self, kind: str, version: int, body: dict[str, Any], at: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO programme VALUES (?, ?, ?, ?)",
            (kind, version, json.dumps(body, ensure_ascii=False), at),
        )

    def programme(self, kind: str) -> tuple[int, dict[str, Any]] | None:
        row = self._db.execute("SELECT version, body FROM programme WHERE kind = ?", (kind,)).fetchone()
        return (int(row[0]), json.loads(row[1])) if row else None

    # --- seq per stream ---
    def seq_state(self) -> dict[str, tuple[int, str]]:
        if self._seq is None:
            self._seq = {s: (n, m) for s, n, m in self._db.execute("SELECT stream, seq, msg_id FROM seq")}
        return dict(self._seq)

    def last_seq(self, stream: str) -> tuple[int, str] | None:
        """(seq, message id) last accepted on `stream`, or None."""
        if self._seq is None:
            self.seq_state()
        assert self._seq is not None
        return self._seq.get(stream)

    def save_seq(self, stream: str, seq: int, msg_id: str) -> None:
        """`seq`/`msg_id` accepted on `stream`: the last one, and one of the recent ones (the window)."""
        self._db.execute("INSERT OR REPLACE INTO seq VALUES (?, ?, ?)", (stream, seq, msg_id))
        self._db.execute("INSERT OR REPLACE INTO seen VALUES (?, ?, ?)", (stream, seq, msg_id))
        self._db.execute(
            "DELETE FROM seen WHERE stream = ? AND seq <= (SELECT seq FROM seen WHERE stream = ?"
            " ORDER BY seq DESC LIMIT 1 OFFSET ?)",
            (stream, stream, SEEN_PER_STREAM),
        )
        if self._seq is not None:
            self._seq[stream] = (seq, msg_id)

    def seen(self, stream: str, seq: int, msg_id: str) -> bool:
        """Whether this very message (seq and id) is one of the last SEEN_PER_STREAM accepted on `stream`."""
        row = self._db.execute(
            "SELECT 1 FROM seen WHERE stream = ? AND seq = ? AND msg_id = ?", (stream, seq, msg_id)
        ).fetchone()
        return row is not None

    # --- recall ---
    def recalled(self) -> set[str]:
        if self._recalled is None:
            self._recalled = {r[0] for r in self._db.execute("SELECT bulletin_id FROM recalled")}
        return set(self._recalled)

    def is_recalled(self, bulletin_id: str) -> bool:
        if self._recalled is None:
            self.recalled()
        assert self._recalled is not None
        return bulletin_id in self._recalled

    def add_recalled(self, bulletin_id: str, at: str) -> bool:
        """Record a recall; True if it is new."""
        cur = self._db.execute("INSERT OR IGNORE INTO recalled VALUES (?, ?)", (bulletin_id, at))
        if self._recalled is not None:
            self._recalled.add(bulletin_id)
        return cur.rowcount > 0

    # --- media index ---
    def touch_media(self, sha256: str, size: int, when: float) -> None:
        self._db.execute("INSERT OR REPLACE INTO media VALUES (?, ?, ?)", (sha256, size, when))

    def media_index(self) -> list[tuple[str, int, float]]:
        return list(self._db.execute("SELECT sha256, size, last_used FROM media ORDER BY last_used"))

    def forget_media(self, sha256: str) -> None:
        self._db.execute("DELETE FROM media WHERE sha256 = ?", (sha256,))

    # --- outbox ---
    def add_event(self, event_id: str, payload: dict[str, Any], at: str) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO outbox (id, payload, created) VALUES (?, ?, ?)",
            (event_id, json.dumps(payload, ensure_ascii=False), at),
        )

    def pending_events(self, limit: int, *, ids: list[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
        if ids is not None:
            marks = ",".join("?" * len(ids))
            rows = self._db.execute(
                f"SELECT id, payload FROM outbox WHERE id IN ({marks}) ORDER BY n",  # noqa: S608
                ids,
            )
        else:
            rows = self._db.execute("SELECT id, payload FROM outbox ORDER BY n LIMIT ?", (limit,))
        return [(i, json.loads(p)) for i, p in rows]

    def delete_events(self, ids: list[str]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    def outbox_size(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    # --- scheduled item instances ---
    def item_states(self) -> dict[str, tuple[str, int]]:
        return {k: (s, o) for k, s, o in self._db.execute("SELECT key, state, offset_ms FROM items")}

    def set_item(
        self, key: str, state: str, at: str, *, offset_ms: int = 0, started_at: str | None = None
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?)", (key, state, offset_ms, started_at, at)
        )

    def items_in_state(self, state: str) -> list[tuple[str, int, str | None, str]]:
        return list(
            self._db.execute(
                "SELECT key, offset_ms, started_at, updated_at FROM items WHERE state = ?", (state,)
            )
        )

    # --- emergencies ---
    def emergencies(self) -> dict[str, dict[str, Any]]:
        out = {}
        for eid, alert, state, plays, due, since, offset in self._db.execute(
            "SELECT id, alert, state, plays_done, next_due, playing_since, offset_ms FROM emergencies"
        ):
            out[eid] = {
                "alert": json.loads(alert),
                "state": state,
                "plays_done": plays,
                "next_due": due,
                "playing_since": since,
                "offset_ms": offset,
            }
        return out

    def save_emergency(
        self,
        eid: str,
        alert: dict[str, Any],
        *,
        state: str,
        plays_done: int,
        next_due: str | None,
        at: str,
        playing_since: str | None = None,
        offset_ms: int = 0,
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO emergencies (id, alert, state, plays_done, next_due, playing_since,"
            " updated_at, offset_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                eid,
                json.dumps(alert, ensure_ascii=False),
                state,
                plays_done,
                next_due,
                playing_since,
                at,
                offset_ms,
            ),
        )

    def update_emergency(
        self,
        eid: str,
        *,
        state: str,
        plays_done: int,
        next_due: str | None,
        at: str,
        playing_since: str | None = None,
        offset_ms: int = 0,
    ) -> None:
        """Like save_emergency for one already saved, without writing its alert again."""
        cur = self._db.execute(
            "UPDATE emergencies SET state = ?, plays_done = ?, next_due = ?, playing_since = ?,"
            " updated_at = ?, offset_ms = ? WHERE id = ?",
            (state, plays_done, next_due, playing_since, at, offset_ms, eid),
        )
        if cur.rowcount != 1:
            raise KeyError(f"emergency {eid!r} is not in the store")

    # --- housekeeping ---
    def prune(self, *, before: str, before_date: str) -> dict[str, int]:
        """Forget finished emergencies last touched before `before` (ISO) whose alert has expired, and item
        states of days before `before_date`. Never touches the outbox, the recall list or seqs."""
        gone = {"emergencies": 0, "items": 0}
        with self.transaction() as db:
            for eid, alert, updated in db.execute(
                "SELECT id, alert, updated_at FROM emergencies WHERE state != 'active'"
            ).fetchall():
                expires = json.loads(alert).get("expires") or ""
                # ISO strings from different offsets do not compare as text: compare as instants
                if _instant(updated) < _instant(before) and expires and _instant(expires) < _instant(before):
                    db.execute("DELETE FROM emergencies WHERE id = ?", (eid,))
                    gone["emergencies"] += 1
            gone["items"] = db.execute(
                "DELETE FROM items WHERE substr(key, 1, 10) < ?", (before_date,)
            ).rowcount
        return gone

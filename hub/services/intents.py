"""Publish intents: the transactional outbox (hub roles, docs/ARCHITECTURE.md).

A change that must reach devices (an approval, a cancel, a recall, a chair's order or choice, windows, a
device command, a reorganisation) records what it must publish with `record()`, in the SAME transaction as
the change: both are committed or neither. Any hub process may record (a standby's web and API do); only the
leader publishes (hub/services/intent_runner.py). On PostgreSQL the transaction also sends a NOTIFY on
CHANNEL, delivered at commit only, which wakes the leader at once; the leader polls as well (a NOTIFY lost
while its listening connection was down).

The leader signs an intent's message once and stores it in the row (`store_wire`) before sending it; a new
leader after a failover sends the stored bytes again, which an agent that already has them drops as a
duplicate (same seq and id) instead of refusing a replay, and one that missed them accepts (the new leader's
seq block is above every block ever reserved, and it sends stored messages before anything new).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from hub.db import Database
from hub.models import PublishIntent

CHANNEL = "nguon_intents"
KINDS = ("alert", "recall", "command", "republish", "areas")
KEEP_DONE = timedelta(days=7)  # done intents (their signed messages) are kept this long, then deleted
MAX_ATTEMPTS = 5  # an intent that failed this often is given up (marked done with its error)


@dataclass(frozen=True)
class Recorded:
    """An intent committed with its change: what the leader must publish."""

    id: int
    kind: str
    params: dict[str, Any]
    wire: bytes | None = None
    topics: tuple[str, ...] = ()


# The intents recorded by the request being served (set by `collect()`; asyncio.to_thread copies the
# context, so the worker thread appends to the caller's list).
_COLLECTED: contextvars.ContextVar[list[Recorded] | None] = contextvars.ContextVar(
    "nguon_intents", default=None
)


@contextmanager
def collect() -> Iterator[list[Recorded]]:
    """Gather the intents recorded inside (the leader then publishes them itself, without waiting for a
    NOTIFY or a poll: an emergency pays only the insert)."""
    got: list[Recorded] = []
    token = _COLLECTED.set(got)
    try:
        yield got
    finally:
        _COLLECTED.reset(token)


def record(sess: Session, kind: str, params: dict[str, Any], now: datetime) -> None:
    """Record an intent in the caller's transaction (and, on PostgreSQL, a NOTIFY sent at its commit)."""
    assert kind in KINDS, kind
    row = PublishIntent(kind=kind, params=params, created_at=now, attempts=0, last_error="")
    sess.add(row)
    sess.flush()  # its id, for the leader that runs it from collect()
    if sess.get_bind().dialect.name == "postgresql":
        sess.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": str(row.id)})
    got = _COLLECTED.get()
    if got is not None:
        got.append(Recorded(row.id, kind, dict(params)))


def pending(db: Database, skip: set[int], limit: int = 100) -> list[Recorded]:
    """Intents not done yet, oldest first (the stored message, if any), leaving out `skip`."""
    with db.session() as sess:
        rows = sess.scalars(
            select(PublishIntent).where(PublishIntent.done_at.is_(None)).order_by(PublishIntent.id).limit(limit)
        ).all()
        return [
            Recorded(r.id, r.kind, dict(r.params), r.wire, tuple(r.topics or ()))
            for r in rows
            if r.id not in skip
        ]


def store_wire(sess: Session, intent_id: int, wire: bytes, topics: list[str]) -> None:
    """Keep the signed message of an intent before it is sent (in the signing thread's transaction)."""
    sess.execute(update(PublishIntent).where(PublishIntent.id == intent_id).values(wire=wire, topics=topics))


def mark_done(db: Database, ids: list[int], now: datetime) -> None:
    if ids:
        with db.session() as sess:
            sess.execute(
                update(PublishIntent)
                .where(PublishIntent.id.in_(ids), PublishIntent.done_at.is_(None))
                .values(done_at=now)
            )


def mark_failed(db: Database, intent_id: int, error: str, now: datetime) -> bool:
    """Count a failed attempt; True when it was the last (the intent is then given up, error kept)."""
    with db.session() as sess:
        row = sess.get(PublishIntent, intent_id)
        if row is None or row.done_at is not None:
            return True
        row.attempts += 1
        row.last_error = error[:300]
        if row.attempts >= MAX_ATTEMPTS:
            row.done_at = now
            return True
        return False


def prune(db: Database, now: datetime) -> int:
    """Delete done intents older than KEEP_DONE (their signed messages are no use any more)."""
    with db.session() as sess:
        res = sess.execute(delete(PublishIntent).where(PublishIntent.done_at < now - KEEP_DONE))
        return int(getattr(res, "rowcount", 0) or 0)

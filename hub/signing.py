"""The hub's signing key, the persisted monotonic seq, and signed envelopes ready to publish."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.db import Database
from hub.models import HubSeq
from protocol.clock import Clock
from protocol.envelope import Signer
from protocol.keys import KeyPair

SEQ_BLOCK = 1000


def load_or_create_key(path: Path) -> KeyPair:
    """The hub's Ed25519 key, generated (0600) on first start."""
    pair = KeyPair.load_or_create(path)
    path.chmod(0o600)
    return pair


class SeqAllocator:
    """Strictly increasing across restarts: blocks are reserved in the database before use."""

    def __init__(self, db: Database, name: str = "envelope") -> None:
        self.db, self.name = db, name
        self._next = 0
        self._limit = 0
        self._lock = threading.Lock()

    def _reserve(self) -> None:
        with self.db.session() as sess:
            row = sess.scalar(select(HubSeq).where(HubSeq.name == self.name).with_for_update())
            if row is None:
                row = HubSeq(name=self.name, value=0)
                sess.add(row)
            start = row.value + 1
            row.value = row.value + SEQ_BLOCK
            self._next, self._limit = start, row.value

    def next(self) -> int:
        with self._lock:
            if self._next == 0 or self._next > self._limit:
                self._reserve()
            value = self._next
            self._next += 1
            return value


PROBE_SEQ = 10**15  # more digits than any real seq: a probe's size is never below the real message's


class Envelopes:
    """Builds signed wire messages, each naming the topics it is published on (its audience)."""

    def __init__(self, key: KeyPair, seq: SeqAllocator, clock: Clock) -> None:
        self.key = key
        self.signer = Signer(key.private)
        self.seq = seq
        self.clock = clock

    def make(
        self,
        type_: str,
        body: dict[str, Any],
        *,
        audience: Iterable[str],
        expires_at: datetime | None = None,
        id_: str | None = None,
        attachments: Iterable[bytes] = (),
    ) -> bytes:
        return self.signer.sign(
            type=type_,
            id=id_ or uuid.uuid4().hex,
            seq=self.seq.next(),
            issued_at=self.clock.now(),
            expires_at=expires_at,
            body=body,
            audience=audience,
            attachments=attachments,
        )

    def size_of(
        self,
        type_: str,
        body: dict[str, Any],
        *,
        audience: Iterable[str],
        expires_at: datetime | None = None,
        attachments: Iterable[bytes] = (),
    ) -> int:
        """Bytes of the wire message `make` would build (at most: a probe seq), without using a seq."""
        wire = self.signer.sign(
            type=type_,
            id=uuid.uuid4().hex,
            seq=PROBE_SEQ,
            issued_at=self.clock.now(),
            expires_at=expires_at,
            body=body,
            audience=audience,
            attachments=attachments,
        )
        return len(wire)

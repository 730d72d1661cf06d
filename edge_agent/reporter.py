"""Every report goes to the store's outbox first (durable), then the publisher sends it; play events are also
appended to <data_dir>/plays.jsonl for the technician on site."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from edge_agent.store import Store
from protocol.messages import DeviceEvent

log = logging.getLogger("edge_agent.report")

# A flood of bad messages must not flood the outbox: past this many per minute they are only counted.
MAX_REJECT_REPORTS_PER_MIN = 20


class Reporter:
    def __init__(self, *, store: Store, device_id: str, data_dir: Path, now: Callable[[], datetime]) -> None:
        self._store = store
        self._device = device_id
        self._plays = data_dir / "plays.jsonl"
        self._now = now
        self.live: deque[str] = deque()
        self.wake = asyncio.Event()
        self.rejected = 0
        self._reject_window: deque[float] = deque()

    def event(self, type_: str, data: dict[str, Any], *, event_id: str | None = None) -> str:
        eid = event_id or f"{self._device}:{uuid.uuid4()}"
        ev = DeviceEvent(eid, self._device, type_, self._now().isoformat(), data)
        self._store.add_event(eid, ev.to_dict(), ev.at)
        self.live.append(eid)
        self.wake.set()
        return eid

    def play(self, data: dict[str, Any], *, event_id: str | None = None) -> str:
        with self._plays.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(data, ensure_ascii=False) + "\n")
        log.info(
            "phát %s: %s (%s)%s",
            data.get("bulletin_id"),
            data.get("outcome"),
            "khẩn cấp" if data.get("emergency") else data.get("scheduled_at"),
            f" — {data['detail']}" if data.get("detail") else "",
        )
        return self.event("play", data, event_id=event_id)

    def rejected_message(self, reason: str, detail: str, topic: str) -> None:
        self.rejected += 1
        log.warning("từ chối tin trên %s: %s (%s)", topic, reason, detail)
        t = time.monotonic()
        while self._reject_window and t - self._reject_window[0] > 60:
            self._reject_window.popleft()
        if len(self._reject_window) < MAX_REJECT_REPORTS_PER_MIN:
            self._reject_window.append(t)
            self.event("rejected", {"reason": reason, "detail": detail[:500], "topic": topic})

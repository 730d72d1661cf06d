"""Reports and CAP alerts up to the central system through a durable outbox (docs/CENTRAL.md).

Nothing is lost while the central system is down: each report is a row of `central_outbox` until the peer
answered 2xx, retried with a doubling wait (`central.retry_s` up to `central.retry_max_s`) on the hub's
clock. Nothing is sent twice as a new report: each row has a key (`bulletins:2026-11-23`, `cap:<identifier>`)
that is unique in the outbox and sent as `Idempotency-Key`, so a report re-sent after a lost answer is the
same report to the peer. Every request is signed by the hub's key (hub/central/signature.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hub.central import capwrite
from hub.central.reports import KINDS, Reports
from hub.central.signature import sign_headers
from hub.models import CentralOutbox
from hub.services.areas import AreaService
from hub.services.base import Context
from hub.signing import Envelopes

if TYPE_CHECKING:
    from hub.central.capout import CapOut

log = logging.getLogger(__name__)
REPORTS_PATH = "/api/v1/reports"
CAP_PATH = "/api/v1/cap"
BATCH = 50
TIMEOUT_S = 15.0


class Outbox:
    def __init__(self, ctx: Context, areas: AreaService, envelopes: Envelopes, cap_out: CapOut) -> None:
        self.ctx, self.envelopes, self.cap_out = ctx, envelopes, cap_out
        self.reports = Reports(ctx, areas)
        self.cfg = ctx.config.central
        self._next_schedule: datetime | None = None
        self._wake = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return bool(self.cfg.peer_url)

    # --- queueing
    def enqueue(self, key: str, kind: str, payload: dict[str, Any]) -> bool:
        """Queue once per key (False when that key is already queued or sent)."""
        now = self.ctx.now()
        try:
            with self.ctx.db.session() as sess:
                if sess.scalar(select(CentralOutbox.id).where(CentralOutbox.key == key)) is not None:
                    return False
                sess.add(
                    CentralOutbox(
                        key=key, kind=kind, payload=payload, created_at=now, attempts=0, next_try_at=now
                    )
                )
        except IntegrityError:
            return False
        self._wake.set()
        return True

    def enqueue_reports(self, day: Any = None) -> list[str]:
        """The reports of a local day (default: yesterday, complete); the same day again queues nothing."""
        day = day or (self.ctx.local_now().date() - timedelta(days=1))
        out = []
        for kind in KINDS:
            payload = self.reports.build(kind, day)
            if self.enqueue(payload["key"], kind, payload):
                out.append(payload["key"])
        return out

    def enqueue_cap(self, bulletin_id: str) -> None:
        """An emergency the province sent (or its cancel), as CAP 1.2, for the central peer."""
        if not self.enabled:
            return
        with self.ctx.db.session() as sess:
            b = self.cap_out.emergency(sess, bulletin_id)
            alert = self.cap_out.alert(sess, b, "")
        self.enqueue(f"cap:{alert.identifier}", "cap", {"xml": capwrite.write(alert).decode("utf-8")})

    # --- sending
    def _due(self) -> list[tuple[int, str, str, dict[str, Any]]]:
        now = self.ctx.now()
        with self.ctx.db.session() as sess:
            rows = sess.scalars(
                select(CentralOutbox)
                .where(CentralOutbox.sent_at.is_(None), CentralOutbox.next_try_at <= now)
                .order_by(CentralOutbox.id)
                .limit(BATCH)
            ).all()
            return [(r.id, r.key, r.kind, dict(r.payload)) for r in rows]

    def _done(self, row_id: int, error: str | None) -> None:
        now = self.ctx.now()
        with self.ctx.db.session() as sess:
            row = sess.get(CentralOutbox, row_id)
            assert row is not None
            row.attempts += 1
            if error is None:
                row.sent_at, row.last_error = now, ""
                return
            wait = min(self.cfg.retry_s * 2 ** (row.attempts - 1), self.cfg.retry_max_s)
            row.next_try_at, row.last_error = now + timedelta(seconds=wait), error[:300]

    def pending(self) -> int:
        with self.ctx.db.session() as sess:
            return int(sess.scalar(select(func.count()).where(CentralOutbox.sent_at.is_(None))) or 0)

    async def send_due(self, session: aiohttp.ClientSession | None = None) -> int:
        """Send what is due now; returns how many the peer took."""
        if not self.enabled:
            return 0
        rows = await asyncio.to_thread(self._due)
        if not rows:
            return 0
        own = session is None
        http = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))
        sent = 0
        try:
            for row_id, key, kind, payload in rows:
                error = await self._post(http, key, kind, payload)
                await asyncio.to_thread(self._done, row_id, error)
                if error is not None:
                    log.info("central peer did not take %s: %s", key, error)
                    break  # the peer is down: the rest waits for the next try, in order
                sent += 1
        finally:
            if own:
                await http.close()
        return sent

    async def _post(
        self, http: aiohttp.ClientSession, key: str, kind: str, payload: dict[str, Any]
    ) -> str | None:
        if kind == "cap":
            path, body, ctype = CAP_PATH, payload["xml"].encode("utf-8"), "application/cap+xml"
        else:
            path, ctype = REPORTS_PATH, "application/json"
            body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        headers = {
            **sign_headers(self.envelopes.key.private, "POST", path, body, self.ctx.now()),
            "Idempotency-Key": key,
            "Content-Type": ctype,
        }
        try:
            async with http.post(self.cfg.peer_url.rstrip("/") + path, data=body, headers=headers) as r:
                if 200 <= r.status < 300:
                    return None
                return f"HTTP {r.status}: {(await r.text())[:200]}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"[:300]

    async def run(self) -> None:
        """Owned task of the hub: queue the day's reports every `report_interval_s`, send what is due."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http:
            while True:
                now = self.ctx.now()
                if self._next_schedule is None or now >= self._next_schedule:
                    await asyncio.to_thread(self.enqueue_reports)
                    self._next_schedule = now + timedelta(seconds=self.cfg.report_interval_s)
                try:
                    await self.send_due(http)
                except Exception:
                    log.exception("central outbox")
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)

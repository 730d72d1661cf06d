"""The midnight job: recompile and republish every programme, at the hub clock's local midnight.

`MidnightScheduler.run()` is one of HubRuntime's owned tasks (hub/tasks.py, named "midnight"): it sleeps
until the next local midnight of the hub's own clock, so a demo whose clock is shifted (--start-at) still
rolls over at the hub's midnight, not the machine's; it wakes at least every few minutes to look at that clock
again (a clock moved meanwhile, a machine that slept). A job that fails is logged and tried again the
next night; only the loop itself dying shows in /healthz.
With PostgreSQL only the process holding a pg advisory lock runs it (one leader among several hubs).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from hub.db import release_advisory_lock, try_advisory_lock

if TYPE_CHECKING:
    from hub.services import Services

log = logging.getLogger(__name__)
ADVISORY_LOCK_ID = 0x6E67756F6E  # "nguon"
AFTER_MIDNIGHT = timedelta(seconds=5)  # a little past, so "today" is surely the new day everywhere
LOOK_AGAIN_S = 300.0  # the longest sleep before the hub's clock is read again


def next_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    """The next local midnight (plus a few seconds) after `now`, as an aware datetime."""
    local = now.astimezone(tz)
    target = datetime.combine(local.date() + timedelta(days=1), time(0), tz) + AFTER_MIDNIGHT
    if local.time() < time(0, 0, 5):  # already just past midnight: this one
        target -= timedelta(days=1)
    return target


class MidnightScheduler:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.tz = ZoneInfo(services.ctx.config.timezone)
        self._lock_conn: Connection | None = None
        self._next: datetime | None = None  # the hub clock's time of the next run, once run() planned it
        self.runs = 0

    def is_leader(self) -> bool:
        """SQLite: always (one process). PostgreSQL: hold the advisory lock on a connection of our own."""
        db = self.services.ctx.db
        if not db.is_postgres:
            return True
        if self._lock_conn is not None:
            try:  # the lock lives as long as this connection; a dropped connection lost it
                self._lock_conn.execute(text("SELECT 1"))
                self._lock_conn.commit()
                return True
            except DBAPIError:
                self.release()
        conn = try_advisory_lock(db, ADVISORY_LOCK_ID)
        if conn is None:
            return False
        self._lock_conn = conn
        return True

    async def run_now(self) -> bool:
        """The job: returns False when another hub process is the leader and did it."""
        if not await asyncio.to_thread(self.is_leader):
            log.info("another hub process holds the scheduler lock; skipping")
            return False
        await self.services.midnight()
        self.runs += 1
        return True

    async def run(self) -> None:
        """Owned task: run the job at every local midnight of the hub's clock, until cancelled."""
        try:
            while True:
                self._next = target = next_midnight(self.services.ctx.now(), self.tz)
                while True:  # the hub's clock is read again at least every LOOK_AGAIN_S
                    left = (target - self.services.ctx.now()).total_seconds()
                    if left <= 0:
                        break
                    await asyncio.sleep(min(left, LOOK_AGAIN_S))
                try:
                    await self.run_now()
                except Exception:  # a failed night is logged; the next midnight tries again
                    log.exception("the midnight job failed")
        finally:
            self._next = None
            await asyncio.to_thread(self.release)

    def next_run_time(self) -> datetime | None:
        """When the next run is due, on the machine's clock (None while run() is not running)."""
        if self._next is None:
            return None
        return datetime.now(UTC) + (self._next - self.services.ctx.now())

    def release(self) -> None:
        """Stop being the leader: give the lock back (a pooled connection keeps session locks: unlock)."""
        conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            release_advisory_lock(conn, ADVISORY_LOCK_ID)

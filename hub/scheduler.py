"""The midnight job: recompile and republish every programme (APScheduler 3, local time zone).

With PostgreSQL only the process holding a pg advisory lock runs it (one leader among several hubs).
The next run is computed from the hub's own clock, so a demo whose clock is shifted (--start-at)
still rolls over at the hub's midnight, not the machine's.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]  # APScheduler 3 ships no hints
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hub.db import release_advisory_lock, try_advisory_lock

if TYPE_CHECKING:
    from hub.services import Services

log = logging.getLogger(__name__)
ADVISORY_LOCK_ID = 0x6E67756F6E  # "nguon"
JOB_ID = "nguon-midnight"
AFTER_MIDNIGHT = timedelta(seconds=5)  # a little past, so "today" is surely the new day everywhere


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
        self.scheduler = AsyncIOScheduler(timezone=self.tz)
        self._lock_conn: Any = None
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
                self._release()
        conn = try_advisory_lock(db, ADVISORY_LOCK_ID)
        if conn is None:
            return False
        self._lock_conn = conn
        return True

    async def run_now(self) -> bool:
        """The job: returns False when another hub process is the leader and did it."""
        try:
            if not self.is_leader():
                log.info("another hub process holds the scheduler lock; skipping")
                return False
            await self.services.midnight()
            self.runs += 1
            return True
        finally:
            if self.scheduler.running:
                self._schedule_next()

    def _schedule_next(self) -> None:
        now = self.services.ctx.now()
        delay = next_midnight(now, self.tz) - now
        run_at = datetime.now(self.tz) + delay  # APScheduler runs on the machine's clock
        self.scheduler.add_job(
            self.run_now,
            "date",
            run_date=run_at,
            id=JOB_ID,
            replace_existing=True,
            misfire_grace_time=3600,
            coalesce=True,
        )

    def start(self) -> None:
        self.scheduler.start()
        self._schedule_next()

    def next_run_time(self) -> datetime | None:
        job = self.scheduler.get_job(JOB_ID)
        return job.next_run_time if job else None

    def _release(self) -> None:
        """Give the lock back (a pooled connection keeps session locks, so unlock explicitly)."""
        conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            release_advisory_lock(conn, ADVISORY_LOCK_ID)

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self._release()

"""The midnight job: recompile and republish every programme (APScheduler 3, local time zone).

With PostgreSQL only the process holding a pg advisory lock runs it (one leader among several hubs).
"""

from __future__ import annotations

import logging
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text

log = logging.getLogger(__name__)
ADVISORY_LOCK_ID = 0x6E67756F6E  # "nguon"


class MidnightScheduler:
    def __init__(self, services: Any) -> None:
        self.services = services
        self.scheduler = AsyncIOScheduler(timezone=services.ctx.config.timezone)
        self._lock_conn: Any = None

    def _is_leader(self) -> bool:
        db = self.services.ctx.db
        if not db.is_postgres:
            return True
        if self._lock_conn is None:
            conn = db.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_ID}).scalar()
            if not got:
                conn.close()
                return False
            self._lock_conn = conn  # the lock lives as long as this connection
        return True

    async def run_now(self) -> None:
        if not self._is_leader():
            log.info("another hub process holds the scheduler lock; skipping")
            return
        await self.services.midnight()

    def start(self) -> None:
        self.scheduler.add_job(self.run_now, "cron", hour=0, minute=0, second=5, id="nguon-midnight",
                               misfire_grace_time=3600, coalesce=True)
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._lock_conn is not None:
            self._lock_conn.close()
            self._lock_conn = None

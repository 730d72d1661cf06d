"""Hub roles: which `hub serve` process publishes (the leader) and which stand by (PostgreSQL).

Any number of hub processes on one PostgreSQL database serve the web UI and the API; one of them at a time
publishes (MQTT publisher, device ingest, republisher, publish intents, midnight job, central link). The
leader is whoever holds the publisher's session advisory lock (hub/singleton.py) on a connection of its own.
Why a lock and not a lease row: PostgreSQL ends the lock with the session, at once when the process dies
(its kernel closes the socket, also on kill -9) and within about 3 s when its machine or network dies (the
session's short TCP keepalives, hub/db.py LOCK_KEEPALIVES); a lease would need a heartbeat write every
second and a clock-based expiry, and could not be faster than its timeout.

A standby tries to take the lock every RETRY_S. A leader checks its lock's connection every CHECK_S; when
the connection is lost (database restarted, network cut) it may no longer hold the lock, so it stops
publishing at once and the process ends (exit status 3; systemd starts it again, as a standby if another
process leads by then).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from hub.db import Database
from hub.singleton import HubAlreadyRunning, PublisherLock

log = logging.getLogger(__name__)
RETRY_S = 0.25
CHECK_S = 1.0
CHECK_TIMEOUT_S = 2.0


class LeadershipLost(RuntimeError):
    """The leader's lock connection failed: it may not hold the lock any more."""


class Leadership:
    """The role of this process: `role` is "leader" or "standby", `since` when it took it."""

    def __init__(self, db: Database) -> None:
        self.lock = PublisherLock(db)
        self.role = "standby"
        self.since = datetime.now(UTC)

    def try_lead(self) -> bool:
        """Take the lock if free (worker thread); SQLite raises HubAlreadyRunning (one process)."""
        try:
            self.lock.acquire()
        except HubAlreadyRunning:
            if not self.lock.db.is_postgres:
                raise
            return False
        self.role, self.since = "leader", datetime.now(UTC)
        return True

    async def wait_to_lead(self) -> None:
        """A standby's wait: try every RETRY_S until this process leads."""
        while True:
            if await asyncio.to_thread(self.try_lead):
                break
            await asyncio.sleep(RETRY_S)
        log.warning("this hub process now leads (publishes) for the database")

    async def watch(self) -> None:
        """The leader's task: raise LeadershipLost when the lock's connection stops answering."""
        while True:
            await asyncio.sleep(CHECK_S)
            try:
                ok = await asyncio.wait_for(asyncio.to_thread(self.lock.alive), CHECK_TIMEOUT_S)
            except TimeoutError:
                ok = False
            if not ok:
                log.critical("the publisher lock's database connection is lost: stopping publishing")
                raise LeadershipLost("the publisher lock's database connection is lost")

    def release(self) -> None:
        self.lock.release()

    def describe(self) -> dict[str, str]:
        return {"role": self.role, "since": self.since.isoformat(timespec="seconds")}

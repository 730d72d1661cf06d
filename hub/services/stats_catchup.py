"""The statistics' catch-up: past days whose roll-up is not stored yet (a new install, a hub that was down
over midnight, a database restored from before the roll-ups) are rolled up in the background, newest month
first, never inside a request. A query that meets such days answers at once without them and says which
they are (Stats.pending: "số liệu đang được tổng hợp đến ngày ..."), and wakes the catch-up.

`StatsCatchUp.run()` is one of HubRuntime's owned tasks (hub/tasks.py, named "stats-catchup"), started with
the midnight job: it catches up at start, then whenever woken (a query found missing days; the midnight
job's own days are stored by Services.rollup_recent).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import date, timedelta

from hub.services.base import Context
from hub.services.rollups import pending_days, rollup_days

log = logging.getLogger(__name__)

BATCH_DAYS = 8  # days of one month stored per transaction (the month's roll-up is rebuilt once per batch)
RETRY_S = 300.0  # after a failed catch-up (logged), try again this much later


class StatsCatchUp:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self.done = 0  # days stored since start (for tests and the log)

    def todo(self) -> list[date]:
        """Every past day not rolled up yet, from the first device's registration to yesterday."""
        tz, now = self.ctx.tz, self.ctx.now()
        yesterday = now.astimezone(tz).date() - timedelta(days=1)
        with self.ctx.db.session() as sess:
            return pending_days(sess, date.min, yesterday, tz)

    def catch_up(self) -> int:
        """Store every pending day, newest month first (the months a director asks for first); returns how
        many. Blocking: run it off the event loop."""
        by_month: dict[str, list[date]] = defaultdict(list)
        for day in self.todo():
            by_month[day.isoformat()[:7]].append(day)
        n = 0
        for month in sorted(by_month, reverse=True):
            n += rollup_days(self.ctx.db, by_month[month], self.ctx.tz, self.ctx.now(), batch=BATCH_DAYS)
            log.info("statistics caught up %s (%d days)", month, len(by_month[month]))
        self.done += n
        return n

    def wake(self) -> None:
        """Ask the running task to catch up (callable from any thread; nothing when it is not running)."""
        loop, event = self._loop, self._event
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    async def run(self) -> None:
        """Owned task: catch up now, then each time woken, until cancelled. A failure is logged and retried
        later (it must not take the hub's other tasks down with it)."""
        self._loop, self._event = asyncio.get_running_loop(), asyncio.Event()
        self._event.set()
        try:
            while True:
                await self._event.wait()
                self._event.clear()
                try:
                    await asyncio.to_thread(self.catch_up)
                except Exception:
                    log.exception("statistics catch-up failed; retrying in %.0f s", RETRY_S)
                    self._loop.call_later(RETRY_S, self._event.set)
        finally:
            self._loop = self._event = None

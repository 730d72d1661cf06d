"""The leader's side of the publish intents (hub/services/intents.py): it publishes each intent once,
sending the stored message again when a previous leader signed it, and marks it done after the broker's
PUBACK (QoS 1).

Its own requests it runs at once from `dispatch()` (the intents its request recorded: no NOTIFY, no poll, an
emergency pays only the insert); others' (a standby's web and API) arrive by NOTIFY on PostgreSQL and by a
poll every POLL_S everywhere (a NOTIFY lost while the listening connection was down, an intent left by a
leader that died). A standby's `dispatch()` does nothing: the leader publishes.

A republish intent (programmes) is done once the republisher has it: a new leader republishes every
programme at takeover anyway (with versions above the last ones stored), so none is lost to a failover.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

import psycopg

from hub.services import intents
from hub.services.areas import AreaService
from hub.services.base import Context
from hub.services.intents import Recorded
from hub.services.publishing import PublishingService

log = logging.getLogger(__name__)
POLL_S = 1.0
PRUNE_EVERY_S = 3600.0
REMEMBER = 10_000  # ids handled by this process, kept so that a poll's stale row is not published twice

SendAreas = Callable[[list[str]], Awaitable[int]]


class IntentRunner:
    def __init__(
        self, ctx: Context, publishing: PublishingService, areas: AreaService, send_areas: SendAreas
    ) -> None:
        self.ctx, self.publishing, self.areas, self.send_areas = ctx, publishing, areas, send_areas
        self.leading = True  # HubRuntime: False while this process stands by
        self._handled: dict[int, None] = {}  # insertion-ordered set
        self._acked: list[int] = []
        self._failed: list[tuple[int, str]] = []
        self._wake = asyncio.Event()
        self.ran = 0  # intents this process published (tests, /healthz)

    async def dispatch(self, got: Iterable[Recorded]) -> None:
        """After the request's transaction committed: the leader publishes what it recorded, now."""
        if self.leading:
            for r in got:
                await self._start(r)

    async def _foreign(self, r: Recorded) -> None:
        """An intent another process recorded: its change may have moved the area tree (a reorganisation,
        languages), which this process's copy does not know yet."""
        self.areas.invalidate()
        await self._start(r)

    async def catch_up(self) -> int:
        """A new leader: every pending intent, oldest first, handed to the publisher (stored messages again,
        byte for byte) before anything new; returns how many."""
        rows = await asyncio.to_thread(intents.pending, self.ctx.db, set(self._handled), 10_000)
        for r in rows:
            await self._foreign(r)
        return len(rows)

    async def _start(self, r: Recorded) -> None:
        if r.id in self._handled:  # (its request's dispatch and a poll, or a NOTIFY, race: once)
            return
        self._handled[r.id] = None
        while len(self._handled) > REMEMBER:
            del self._handled[next(iter(self._handled))]
        try:
            futs = await self._publish(r)
        except Exception as exc:  # the next poll tries again, MAX_ATTEMPTS times
            log.exception("publish intent %d (%s) failed", r.id, r.kind)
            self._failed.append((r.id, f"{exc.__class__.__name__}: {exc}"))
            self._wake.set()
            return
        self.ran += 1
        self._when_acked(r.id, futs)

    async def _publish(self, r: Recorded) -> list[asyncio.Future[None]]:
        p, pub = r.params, self.publishing
        if r.wire is not None:
            return pub.send_stored(r.kind, r.wire, r.topics)
        if r.kind == "alert":
            return await pub.publish_alert(p["bulletin"], p.get("msg_type", "Alert"), intent_id=r.id)
        if r.kind == "recall":
            return await pub.publish_recall(p["bulletin"], p["reason"], intent_id=r.id)
        if r.kind == "command":
            expires = datetime.fromisoformat(p["expires_at"])
            fut = await pub.publish_command(
                p["device"], p["command"], p["args"], p["id"], expires, intent_id=r.id
            )
            return [fut]
        if r.kind == "republish":
            leaves = None if p.get("areas") is None else self.areas.leaves_under(list(p["areas"]))
            pub.republish_soon(leaves, tuple(p["kinds"]))
            return []
        if r.kind == "areas":
            await self.send_areas(list(p["devices"]))
            return []
        raise ValueError(f"unknown intent kind {r.kind!r}")

    def _when_acked(self, intent_id: int, futs: list[asyncio.Future[None]]) -> None:
        """Done after every PUBACK; a message refused (too large) counts as a failed attempt; one cancelled
        (this process stops) stays pending for the next leader."""
        left = [len(futs)]

        def one(fut: asyncio.Future[None]) -> None:
            left[0] -= 1
            if fut.cancelled():
                return
            if fut.exception() is not None:
                self._failed.append((intent_id, str(fut.exception())))
                left[0] = -1
                self._wake.set()
            elif left[0] == 0:
                self._acked.append(intent_id)
                self._wake.set()

        if not futs:
            self._acked.append(intent_id)
            self._wake.set()
        for fut in futs:
            fut.add_done_callback(one)

    async def run(self) -> None:
        """The leader's task: mark what was acknowledged, publish what others recorded; until cancelled."""
        async with asyncio.TaskGroup() as tg:
            if self.ctx.db.is_postgres:
                tg.create_task(self._listen(), name="nguon-hub-intents-listen")
            tg.create_task(self._loop(), name="nguon-hub-intents-loop")

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        pruned = loop.time()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_S)
            self._wake.clear()
            await self.settle()
            for r in await asyncio.to_thread(intents.pending, self.ctx.db, set(self._handled)):
                await self._foreign(r)
            if loop.time() - pruned > PRUNE_EVERY_S:
                pruned = loop.time()
                await asyncio.to_thread(intents.prune, self.ctx.db, self.ctx.now())

    async def settle(self) -> None:
        """Write down what was acknowledged (done) and what failed (tried again by the next poll)."""
        acked, self._acked = self._acked, []
        failed, self._failed = self._failed, []
        now = self.ctx.now()
        if acked:
            await asyncio.to_thread(intents.mark_done, self.ctx.db, acked, now)
        for intent_id, why in failed:
            await asyncio.to_thread(intents.mark_failed, self.ctx.db, intent_id, why, now)
            self._handled.pop(intent_id, None)

    async def _listen(self) -> None:
        """PostgreSQL: LISTEN on the intents' channel, waking the loop at each NOTIFY (reconnects)."""
        dsn = self.ctx.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {intents.CHANNEL}")
                    self._wake.set()  # what was recorded while not listening
                    async for _ in conn.notifies():
                        self._wake.set()
            except (psycopg.Error, OSError) as exc:
                log.warning("intents: LISTEN lost (%s); polling every %.0f s meanwhile", exc, POLL_S)
                await asyncio.sleep(1.0)

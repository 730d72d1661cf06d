"""Publishes the outbox: live events first, one by one; the backlog in batches (JSON arrays) between them.
A row is deleted only after the broker acknowledged it (QoS 1 PUBACK)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from edge_agent.reporter import Reporter
from edge_agent.store import Store

log = logging.getLogger("edge_agent.outbox")

BATCH = 50


def raise_if_cancelling() -> None:
    """aiomqtt waits for the broker with asyncio.wait_for, which on Python 3.11 can swallow a cancel that
    arrives just as the broker answers; a loop that then goes back to waiting would never stop (an agent
    that cannot shut down). Call after each publish: it re-raises the lost cancel."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def drain(client: Any, topic: str, store: Store, reporter: Reporter, *, batch: int = BATCH) -> None:
    """Run while connected; raises the client's error when the connection drops (rows stay for next time)."""
    while True:
        reporter.wake.clear()
        live = []
        while reporter.live:
            live.append(reporter.live.popleft())
        if live:
            for eid, payload in store.pending_events(0, ids=live):
                await client.publish(topic, json.dumps(payload, ensure_ascii=False), qos=1, timeout=15)
                store.delete_events([eid])
                raise_if_cancelling()
            continue
        rows = store.pending_events(batch)
        if not rows:
            await reporter.wake.wait()
            continue
        if len(rows) == 1:
            body: Any = rows[0][1]
        else:
            body = [p for _, p in rows]
        await client.publish(topic, json.dumps(body, ensure_ascii=False), qos=1, timeout=30)
        store.delete_events([eid for eid, _ in rows])
        raise_if_cancelling()
        if len(rows) > 1:
            log.info("đã gửi lô %d sự kiện tồn đọng", len(rows))

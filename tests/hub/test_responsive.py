"""Submits (speech, database writes) never stall the event loop; programme reads stay fast meanwhile."""

from __future__ import annotations

import asyncio
import threading
import time

from tests.hub.conftest import Hub

TEXT = {"title": "Thông báo", "priority": "normal", "targets": ["67/660"], "kinds": ["radio"]}
PROGRAMME = "/api/v1/programme?area=67/660/24613&kind=radio&date=2026-11-23"


async def test_loop_stays_free_while_the_database_is_locked_and_speech_is_made(hub: Hub) -> None:
    await hub.login("editor67")
    await hub.login("chair24613")
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    locked, release = threading.Event(), threading.Event()

    def hold_write_lock() -> None:
        """Another writer (say, a big republish) holds SQLite's write lock for a while."""
        conn = hub.s.ctx.db.engine.raw_connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            locked.set()
            release.wait(5)
            conn.rollback()
        finally:
            conn.close()

    tick = asyncio.create_task(ticker(), name="loop-ticker")
    holder = asyncio.create_task(asyncio.to_thread(hold_write_lock), name="lock-holder")
    try:
        assert await asyncio.to_thread(locked.wait, 5)
        submits = [
            asyncio.create_task(
                hub.call(
                    "POST",
                    "/api/v1/bulletins",
                    "editor67",
                    json={**TEXT, "text": f"Thông báo số {i} của xã."},
                )
            )
            for i in range(4)
        ]
        await asyncio.sleep(0.8)  # speech made; the submits now wait for the lock, in worker threads
        t = time.perf_counter()
        status, prog = await asyncio.wait_for(hub.call("GET", PROGRAMME, "chair24613"), 5)
        read_s = time.perf_counter() - t
        assert status == 200, prog
        assert not any(s.done() for s in submits)  # still waiting for the lock: the read did not wait
        release.set()
        results = await asyncio.wait_for(asyncio.gather(*submits), 30)
    finally:
        release.set()
        await holder
        stop.set()
        await tick
    assert [st for st, _ in results] == [201] * 4, results
    assert read_s < 1.0, read_s
    assert max(gaps) < 0.4, f"event loop stalled {max(gaps):.2f} s"

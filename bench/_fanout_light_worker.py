"""Light subscribers for bench/fanout_light.py: many plain MQTT sessions (aiomqtt) in one asyncio loop.

`python bench/_fanout_light_worker.py SPEC.json`; SPEC: {"port", "topic", "count", "prefix", "out"}. Each
session subscribes to `topic` at QoS 1 (as an agent subscribes to its province's alert topic) and records
time.time() when a whole message arrived (paho hands it over once its last byte is read) and its length.
Prints "READY <n>" once every session is subscribed, then "COUNT <n>" (messages received, all sessions)
whenever it changes, at most every 0.1 s. On SIGTERM it writes {"arrivals": [[[t, bytes], ...] per
session]} to `out` and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiomqtt

GROUP = 50  # sessions connecting at once: a connection storm is not what is measured
KEEPALIVE_S = 600


async def session(
    spec: dict[str, Any], i: int, got: list[list[float]], ready: asyncio.Event, total: list[int]
) -> None:
    client = aiomqtt.Client(
        "127.0.0.1",
        spec["port"],
        identifier=f"{spec['prefix']}-{i}",
        keepalive=KEEPALIVE_S,
        max_queued_incoming_messages=0,
    )
    async with client:
        await client.subscribe(spec["topic"], qos=1)
        ready.set()
        async for msg in client.messages:
            payload = msg.payload
            got.append([time.time(), len(payload) if isinstance(payload, bytes | bytearray) else 0])
            total[0] += 1


async def host(spec: dict[str, Any]) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    arrivals: list[list[list[float]]] = [[] for _ in range(spec["count"])]
    total = [0]
    tasks: list[asyncio.Task[None]] = []
    for start in range(0, spec["count"], GROUP):
        events = []
        for i in range(start, min(start + GROUP, spec["count"])):
            ev = asyncio.Event()
            events.append(ev)
            tasks.append(asyncio.create_task(session(spec, i, arrivals[i], ev, total)))
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 120)
    print(f"READY {len(tasks)}", flush=True)
    shown = -1
    while not stop.is_set():
        if total[0] != shown:
            shown = total[0]
            print(f"COUNT {shown}", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)
        failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
        if failed:
            print(f"FAILED {len(failed)}: {failed[0].exception()!r}", flush=True)
            break
    await asyncio.to_thread(Path(spec["out"]).write_text, json.dumps({"arrivals": arrivals}))
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(host(json.loads(Path(sys.argv[1]).read_text()))))

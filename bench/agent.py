"""Bench: resident memory of an idle agent and of one playing, and process start to ready (connected and
subscribed). Prints one JSON line. Run: .venv/bin/python bench/agent.py"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.mosquitto import MosquittoProcess
from tests.agent.harness import AgentProcess, FakeHub, wait_until, window_clock


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, MosquittoProcess(Path(tmp) / "mq") as broker:
        hub = FakeHub(Path(tmp), broker, window_clock(), f"bench{uuid.uuid4().hex[:6]}/v1")
        await hub.start()
        agent = AgentProcess(Path(tmp) / "agent", hub, clock=hub.clock, sim_speed=1.0)
        t0 = time.monotonic()
        agent.start()
        await agent.ready(30)
        ready_s = time.monotonic() - t0
        await asyncio.sleep(3)
        assert agent.proc is not None
        idle = rss_mb(agent.proc.pid)
        item = hub.bulletin("bench", 8)
        await hub.send_programme(hub.programme([(item, hub.clock.now() + timedelta(seconds=1))]))
        await wait_until(lambda: agent.status().get("now_playing") == "bench", 20, "playing")
        await asyncio.sleep(2)
        playing = rss_mb(agent.proc.pid)
        agent.stop()
        await hub.stop()
    print(
        json.dumps(
            {
                "idle_rss_mb": idle,
                "playing_rss_mb": playing,
                "start_to_ready_s": round(ready_s, 2),
                "target_idle_mb": 40,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())

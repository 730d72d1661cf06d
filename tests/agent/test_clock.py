"""Clock trust "ntp": with the OS saying "not synchronised", scheduled items wait and emergencies play;
a fresh signed message within tolerance makes the clock trusted; the status says which."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

from tests.agent.harness import AgentProcess, Collector, FakeHub, wait_until


def fake_timedatectl(bin_dir: Path) -> Path:
    """A `timedatectl` that says the clock is not synchronised and notes each call."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    calls = bin_dir / "calls"
    script = bin_dir / "timedatectl"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\necho no\n')
    script.chmod(0o755)
    return calls


async def test_untrusted_clock_holds_schedule_not_emergencies(
    hub: FakeHub, collector: Collector, tmp_path: Path
) -> None:
    calls = fake_timedatectl(tmp_path / "bin")
    agent = AgentProcess(
        tmp_path / "agent",
        hub,
        clock=hub.clock,
        clock_trust="ntp",
        env={"PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"},
    )
    item = hub.bulletin("tin-lich", 60)  # 6 s at sim_speed 10
    await hub.send_programme(hub.programme([(item, hub.clock.now() + timedelta(seconds=1))]))
    agent.start()
    try:
        await agent.ready()
        await wait_until(lambda: collector.status.get("clock") == "unsynced", 10, "status clock unsynced")
        assert "NTPSynchronized" in calls.read_text()
        await asyncio.sleep(2.0)
        assert not agent.plays(), "nothing scheduled plays on an unsynchronised clock"

        # An emergency plays regardless; one issued 10 minutes "ago" by our clock does not vouch for it.
        em = hub.bulletin("khan", 10, priority="emergency", freq=880)
        body, expires = hub.alert(em)
        await hub.send_alert(body, expires, issued=hub.clock.now() - timedelta(minutes=10))
        await wait_until(lambda: collector.plays("khan", "completed"), 10, "emergency played")
        await asyncio.sleep(1.0)
        assert {p["bulletin_id"] for p in agent.plays()} == {"khan"}
        assert agent.status()["clock"] == "unsynced"

        # A fresh signed message within tolerance (here a command): the clock is trusted, the item plays.
        await hub.send_command(agent.device_id, "report")
        await wait_until(lambda: collector.status.get("clock") == "hub", 10, "status clock hub")
        done = await wait_until(lambda: collector.plays("tin-lich", "completed"), 15, "item played")
        assert done[0]["started_at"] > done[0]["scheduled_at"]
        assert "đồng hồ chưa được đồng bộ" in agent.log_text()
    finally:
        agent.stop()

"""Emergencies: preemption with resume, repeat and cancel (real broker, real agent process, sim hardware)."""

from __future__ import annotations

from datetime import timedelta

from protocol.messages import Repeat
from tests.agent.harness import AgentProcess, Collector, FakeHub, wait_until


async def test_emergency_preempts_and_item_resumes(
    hub: FakeHub, collector: Collector, agent: AgentProcess
) -> None:
    item = hub.bulletin("tin-thuong", 40, after_interrupt="resume")  # 4 s at sim_speed 10
    await hub.send_programme(hub.programme([(item, hub.clock.now() + timedelta(seconds=2))]))
    agent.start()
    await agent.ready()
    await wait_until(lambda: agent.status().get("now_playing") == "tin-thuong", 15, "item playing")
    await __import__("asyncio").sleep(1.0)
    storm = hub.bulletin("bao-so-9", 10, priority="emergency", freq=880)
    body, expires = hub.alert(storm)
    await hub.send_alert(body, expires)
    await wait_until(lambda: collector.plays("tin-thuong", "completed"), 25, "item resumed and completed")
    cut = collector.plays("tin-thuong", "interrupted")
    assert len(cut) == 1 and cut[0]["interrupted_by"] == "bao-so-9"
    em = collector.plays("bao-so-9", "completed")
    assert len(em) == 1 and em[0]["emergency"] is True and em[0]["scheduled_at"] is None
    done = collector.plays("tin-thuong", "completed")[0]
    assert done["offset_ms"] > 5000, "resumed at its offset, not from the start"
    assert cut[0]["started_at"] < em[0]["started_at"] < done["started_at"]
    # The relay stayed on from the item through the emergency and back.
    offs = [r for r in agent.relay_log() if not r["on"]]
    assert not [r for r in offs if cut[0]["started_at"] < r["at"] < done["started_at"]]


async def test_repeat_then_cancel(hub: FakeHub, collector: Collector, agent: AgentProcess) -> None:
    agent.start()
    await agent.ready()
    fire = hub.bulletin("chay-rung", 5, priority="emergency")
    body, expires = hub.alert(fire, repeat=Repeat(count=2, interval_s=1, then_every_s=1))
    await hub.send_alert(body, expires)
    await wait_until(lambda: len(collector.plays("chay-rung", "completed")) >= 3, 20, "three plays")
    cancel, _ = hub.alert(None, msg_type="Cancel", identifier="chay-rung")
    await hub.send_alert(cancel, expires)
    await __import__("asyncio").sleep(1.0)
    n = len(collector.plays("chay-rung"))
    await __import__("asyncio").sleep(2.5)
    assert len(collector.plays("chay-rung")) == n, "no play after Cancel"
    starts = [p["started_at"] for p in collector.plays("chay-rung", "completed")]
    assert starts == sorted(starts)

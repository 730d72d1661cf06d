"""Outages: hub and broker down for a whole window, broker restart, kill -9 mid-play."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.agent.harness import AgentProcess, Collector, FakeHub, wait_until


async def test_hub_down_for_whole_window_then_reports(
    hub: FakeHub, collector: Collector, agent: AgentProcess
) -> None:
    now = hub.clock.now()
    a, b = hub.bulletin("tin-a", 10), hub.bulletin("tin-b", 10, freq=660)
    await hub.send_programme(
        hub.programme([(a, now + timedelta(seconds=4)), (b, now + timedelta(seconds=6))])
    )
    agent.start()
    await agent.ready()
    await wait_until(
        lambda: len(list((agent.data / "media").glob("[0-9a-f]" * 64))) == 2, 10, "media fetched"
    )
    # The hub and the network go away before the window's items.
    await hub.stop()
    await collector.stop()
    hub.broker.stop()
    await wait_until(
        lambda: (
            {p["bulletin_id"] for p in agent.plays() if p["outcome"] == "completed"} == {"tin-a", "tin-b"}
        ),
        20,
        "both items played offline",
    )
    assert not agent.status().get("connected")
    wavs = sorted((agent.data / "played").glob("*.wav"))
    assert len(wavs) == 2 and all(w.stat().st_size > 10_000 for w in wavs)
    # Broker back: everything played is reported, once each.
    hub.broker.start()
    await hub.start()
    collector2 = Collector(hub.broker, hub.topics.prefix)
    await collector2.start()
    try:
        await wait_until(lambda: len(collector2.plays(outcome="completed")) == 2, 25, "backlog drained")
        assert agent.status().get("connected")
        # Broker restart did not break the live path: an emergency still gets through and plays.
        em = hub.bulletin("khan-1", 5, priority="emergency")
        body, expires = hub.alert(em)
        await hub.send_alert(body, expires)
        await wait_until(
            lambda: collector2.plays("khan-1", "completed"), 15, "emergency after broker restart"
        )
        await asyncio.sleep(0.5)
        ids = [e["id"] for e in collector2.events if e["type"] == "play"]
        assert len(ids) == len(set(ids)) == 3
    finally:
        await collector2.stop()


async def test_kill9_mid_play_resumes_and_reports_once(
    hub: FakeHub, collector: Collector, agent: AgentProcess
) -> None:
    now = hub.clock.now()
    long_item = hub.bulletin("tin-dai", 60)  # 6 s at sim_speed 10
    await hub.send_programme(hub.programme([(long_item, now + timedelta(seconds=2))]))
    agent.start()
    await agent.ready()
    await wait_until(lambda: agent.status().get("now_playing") == "tin-dai", 15, "playing")
    await asyncio.sleep(1.0)
    agent.kill9()
    agent.start()
    await agent.ready()
    await wait_until(lambda: collector.plays("tin-dai", "completed"), 25, "restarted item completed")
    cut = collector.plays("tin-dai", "interrupted")
    assert len(cut) == 1 and "khởi động lại" in cut[0]["detail"]
    # A clean restart afterwards does not report it again.
    agent.stop()
    agent.start()
    await agent.ready()
    await asyncio.sleep(1.5)
    assert len(collector.plays("tin-dai", "interrupted")) == 1
    assert len(collector.plays("tin-dai", "completed")) == 1
    assert collector.status.get("state") in ("idle", "window")


async def test_kill9_mid_emergency_resumes_at_the_saved_position(
    hub: FakeHub, collector: Collector, agent: AgentProcess
) -> None:
    agent.start()
    await agent.ready()
    flood = hub.bulletin("lu-dem", 100, priority="emergency", after_interrupt="resume")  # 10 s at 10x
    body, expires = hub.alert(flood)
    await hub.send_alert(body, expires)
    await wait_until(lambda: agent.status().get("now_playing") == "lu-dem", 10, "emergency playing")
    await asyncio.sleep(6.0)  # past the first progress save (every 5 s: ~50 s into the audio)
    agent.kill9()
    agent.start()
    await agent.ready()
    await wait_until(lambda: collector.plays("lu-dem", "completed"), 20, "emergency resumed and completed")
    (cut,) = collector.plays("lu-dem", "interrupted")
    assert "khởi động lại" in cut["detail"] and "phát tiếp từ chỗ dừng" in cut["detail"], cut
    (done,) = collector.plays("lu-dem", "completed")
    # The first save comes ~5 s after the start (~50 s of audio at 10x); under a loaded machine the simulated
    # output lags the wall clock (39.6 s was seen at load 15), so the bound only proves "not from the start".
    assert 20_000 <= done["offset_ms"] < 100_000, "resumed near where it was killed, not from the start"
    assert cut["offset_ms"] == done["offset_ms"]

"""Emergencies: preemption with resume, repeat and cancel (real broker, real agent process, sim hardware)."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import replace
from datetime import datetime, timedelta

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


async def test_newer_emergency_preempts_older_which_resumes_or_restarts(
    hub: FakeHub, collector: Collector, agent: AgentProcess
) -> None:
    agent.start()
    await agent.ready()
    flood = hub.bulletin("lu", 60, priority="emergency", after_interrupt="resume")  # 6 s at sim_speed 10
    fire = hub.bulletin("chay", 30, priority="emergency", freq=660)  # restart (the default)
    quake = hub.bulletin("dong-dat", 10, priority="emergency", freq=880)
    for b, wait_s in ((flood, 1.5), (fire, 1.0), (quake, 0)):
        body, expires = hub.alert(b)
        await hub.send_alert(body, expires)
        await wait_until(lambda b=b: agent.status().get("now_playing") == b.id, 10, f"{b.id} playing")
        await asyncio.sleep(wait_s)
    await wait_until(lambda: collector.plays("lu", "completed"), 25, "the oldest comes back and completes")
    (flood_cut,) = collector.plays("lu", "interrupted")
    assert flood_cut["interrupted_by"] == "chay" and "phát tiếp từ chỗ dừng" in flood_cut["detail"]
    (fire_cut,) = collector.plays("chay", "interrupted")
    assert fire_cut["interrupted_by"] == "dong-dat" and "phát lại từ đầu" in fire_cut["detail"]
    done = {bid: collector.plays(bid, "completed") for bid in ("lu", "chay", "dong-dat")}
    assert all(len(v) == 1 for v in done.values()), done
    # newest first, then the one it cut off (from the start), then the oldest (at its offset)
    assert done["dong-dat"][0]["started_at"] < done["chay"][0]["started_at"] < done["lu"][0]["started_at"]
    assert done["chay"][0]["offset_ms"] == 0
    assert done["lu"][0]["offset_ms"] >= 3_000, "resumed where the newer one cut it off"

    # An Update of an emergency already played plays it again; a repeat of the Alert does not.
    again, expires = hub.alert(quake)
    await hub.send_alert(again, expires)
    update, expires = hub.alert(quake, msg_type="Update")
    await hub.send_alert(update, expires)
    await wait_until(lambda: len(collector.plays("dong-dat", "completed")) == 2, 10, "update replayed")
    await asyncio.sleep(1.0)
    assert len(collector.plays("dong-dat")) == 2


async def test_emergency_learnt_from_retained_programme_repeats(
    hub: FakeHub, collector: Collector, agent: AgentProcess
) -> None:
    storm = replace(
        hub.bulletin(
            "bao-muon", 5, priority="emergency", valid_until=hub.clock.now() + timedelta(minutes=10)
        ),
        repeat=Repeat(count=2, interval_s=1),
    )
    await hub.send_programme(hub.programme([], emergencies=[storm]))  # retained: the agent joins late
    agent.start()
    await agent.ready()
    await wait_until(lambda: len(collector.plays("bao-muon", "completed")) == 2, 15, "played twice")
    await asyncio.sleep(1.5)
    assert len(collector.plays("bao-muon")) == 2, "count=2 and no then_every_s: exactly two plays"


async def test_attached_audio_plays_without_a_download_and_a_bad_one_is_downloaded(
    hub: FakeHub, collector: Collector, agent: AgentProcess
) -> None:
    """The hub attaches an emergency's audio to the alert: the agent checks it against the signed sha256,
    caches it and plays with no request to the hub. Bytes that do not match are not used: it downloads."""
    agent.start()
    await agent.ready()
    flood = hub.bulletin("lu-kem-am-thanh", 10, priority="emergency")
    body, expires = hub.alert(flood)
    await hub.send_alert(body, expires, attach=True)
    await wait_until(lambda: collector.plays("lu-kem-am-thanh", "completed"), 15, "attached audio played")
    sha = flood.media.sha256  # type: ignore[union-attr]
    assert sha not in hub.requests, "played from the attachment, not downloaded"
    cached = agent.data / "media" / sha
    assert cached.read_bytes() == hub.media[sha]
    assert not list((agent.data / "media").glob("*.inline")), "no half-written file left"
    # the status showing it playing says when it started (it is sent up to a second later: the hub times
    # the emergency by playing_since, not by the status's own `at`)
    playing = [s for s in collector.statuses if s.get("now_playing") == "lu-kem-am-thanh"]
    assert playing, collector.statuses
    started = datetime.fromisoformat(collector.plays("lu-kem-am-thanh", "completed")[0]["started_at"])
    for s in playing:
        since = datetime.fromisoformat(s["playing_since"])
        assert abs((since - started).total_seconds()) < 0.2 and datetime.fromisoformat(s["at"]) >= since
    assert all(s["playing_since"] is None for s in collector.statuses if s.get("now_playing") is None)

    fire = hub.bulletin("chay-kem-hong", 10, priority="emergency", freq=660)
    body, expires = hub.alert(fire)
    wire = json.loads(
        hub.sign(
            "alert",
            body.to_dict(),
            to=hub.topics.alert("67"),
            expires=expires,
            attachments=[hub.media[fire.media.sha256]],
        )
    )  # type: ignore[union-attr]
    (key,) = wire["attachments"]
    wire["attachments"][key] = base64.b64encode(b"\0" * fire.media.size).decode()  # type: ignore[union-attr]
    await hub.publish(hub.topics.alert("67"), json.dumps(wire).encode())
    await wait_until(lambda: collector.plays("chay-kem-hong", "completed"), 15, "downloaded audio played")
    assert fire.media.sha256 in hub.requests, "the bad attachment was not used: the audio was downloaded"  # type: ignore[union-attr]
    assert (agent.data / "media" / key).read_bytes() == hub.media[key]
    assert "không khớp sha256" in agent.log_text()

"""Signed commands through the broker, each answered by a "command_result" event (real agent process)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tests.agent.harness import AgentProcess, Collector, FakeHub, wait_until


async def test_commands_end_to_end(hub: FakeHub, collector: Collector, agent: AgentProcess) -> None:
    now = hub.clock.now()
    later = hub.bulletin("tin-sau", 5)  # scheduled in a minute: its media is fetched ahead
    long_item = hub.bulletin("tin-dai", 60)  # 6 s at sim_speed 10
    await hub.send_programme(
        hub.programme([(long_item, now + timedelta(seconds=4)), (later, now + timedelta(seconds=60))])
    )
    agent.start()
    await agent.ready()

    async def command(name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        n = len(collector.of_type("command_result"))
        command_id = await hub.send_command(agent.device_id, name, args)
        results = await wait_until(
            lambda: collector.of_type("command_result")[n:], 15, f"result of {name} {args or ''}"
        )
        # the hub matches the answer to its command by the envelope's id
        assert results[0]["command"] == name and results[0]["command_id"] == command_id
        return results[0]

    # volume: done, seen in the status and the mixer's log; bad levels refused with the reason
    r = await command("volume", {"level": 35})
    assert r["ok"] and "35" in r["detail"]
    await wait_until(lambda: agent.status().get("volume") == 35, 5, "status volume 35")
    assert json.loads((agent.data / "mixer.jsonl").read_text().splitlines()[-1])["level"] == 35
    for bad in ({"level": 140}, {"level": "to"}, {"level": True}, {}, {"level": 50, "mute": 1}):
        r = await command("volume", bad)
        assert not r["ok"] and r["detail"], bad
    assert "0 đến 100" in (await command("volume", {"level": 140}))["detail"]
    assert agent.status()["volume"] == 35
    r = await command("reboot")
    assert not r["ok"] and "không biết" in r["detail"]
    r = await command("stop", {"now": 1})
    assert not r["ok"] and "không nhận tham số" in r["detail"]

    # stop: cuts what is playing; the play is reported interrupted "lệnh dừng" and not resumed
    await wait_until(lambda: agent.status().get("now_playing") == "tin-dai", 15, "item playing")
    r = await command("test_tone")
    assert not r["ok"] and "đang phát" in r["detail"]
    r = await command("stop")
    assert r["ok"] and "tin-dai" in r["detail"]
    cut = await wait_until(lambda: collector.plays("tin-dai", "interrupted"), 10, "stop reported")
    assert "lệnh dừng" in cut[0]["detail"]
    r = await command("stop")
    assert r["ok"] and r["detail"] == "không có gì đang phát"

    # test_tone: played through the (sim) output with the amplifier on
    r = await command("test_tone")
    assert r["ok"], r
    index = [json.loads(x) for x in (agent.data / "played" / "index.jsonl").read_text().splitlines()]
    assert index[-1]["label"] == "test_tone"

    # resync: a corrupted cached file is found, dropped and fetched again
    cached = agent.data / "media" / later.media.sha256  # type: ignore[union-attr]
    await wait_until(cached.exists, 10, "media fetched ahead")
    cached.write_bytes(b"bit rot")
    r = await command("resync")
    assert r["ok"] and "1 tệp hỏng" in r["detail"]
    await wait_until(
        lambda: cached.exists() and cached.read_bytes() == hub.media[later.media.sha256],
        10,  # type: ignore[union-attr]
        "fetched again",
    )

    # report: the status goes out at once with the outbox size
    r = await command("report")
    assert r["ok"] and "sự kiện chờ gửi" in r["detail"]
    assert not collector.plays("tin-dai", "completed"), "a stopped item is not resumed"

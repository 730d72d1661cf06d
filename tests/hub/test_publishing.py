"""Publishing over a real Mosquitto: signatures verified with protocol.Verifier; ingest of events/status."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt

from hub.app import HubRuntime
from hub.mosquitto import MosquittoProcess
from hub.roles import SYSTEM
from protocol.clock import FrozenClock
from protocol.envelope import Verifier, check_attachment
from protocol.messages import AlertBody, ProgrammeBody
from protocol.topics import Topics
from tests.hub.conftest import PASSWORD, SAMPLE, T0, Hub, broker_config


async def test_emergency_and_programmes_signed_over_broker(  # noqa: PLR0915 - one story, told in order
    tmp_path: Path, broker: MosquittoProcess
) -> None:
    cfg = broker_config(tmp_path, broker.host, broker.port)
    prefix = cfg.mqtt.topic_prefix
    clock = FrozenClock(T0)
    topics = Topics(prefix)
    async with HubRuntime(cfg, clock=clock, scheduler=False) as hub:
        s = hub.services
        assert s is not None
        s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
        s.accounts.create_user(SYSTEM, username="ed", password=PASSWORD, role="editor", area="67")
        s.devices.register(SYSTEM, device_id="radio-a", kind="radio", area="67/660/24613")
        verifier = Verifier([s.envelopes.key.public])
        got: dict[str, list[bytes]] = {}
        async with aiomqtt.Client(
            broker.host,
            broker.port,
            identifier=f"sub-{uuid.uuid4().hex[:6]}",
            protocol=aiomqtt.ProtocolVersion.V5,
        ) as sub:
            await sub.subscribe(topics.alert("67"), qos=1)
            await sub.subscribe(topics.program("67/660/24613", "radio"), qos=1)
            async with aiohttp.ClientSession(hub.url) as http:
                r = await http.post("/api/v1/auth/login", json={"username": "ed", "password": PASSWORD})
                auth = {"Authorization": "Bearer " + (await r.json())["token"]}
                r = await http.post(
                    "/api/v1/bulletins",
                    headers=auth,
                    json={
                        "title": "Cảnh báo lũ",
                        "priority": "emergency",
                        "text": "Lũ đang lên, sơ tán ngay.",
                        "targets": ["67"],
                        "kinds": ["radio"],
                        "repeat": {"count": 3, "interval_s": 60},
                    },
                )
                b = await r.json()
                assert r.status == 201, b
                r = await http.post(f"/api/v1/bulletins/{b['id']}/approve", headers=auth)
                assert r.status == 200, await r.json()

            async def collect() -> None:
                async for msg in sub.messages:
                    got.setdefault(str(msg.topic), []).append(bytes(msg.payload))  # type: ignore[arg-type]
                    prog = got.get(topics.program("67/660/24613", "radio"), [])
                    if got.get(topics.alert("67")) and any(b["id"].encode() in p for p in prog):
                        return

            await asyncio.wait_for(collect(), 10)
        alert = verifier.verify(got[topics.alert("67")][0], now=clock.now())
        body = AlertBody.from_dict(dict(alert.body))
        assert alert.type == "alert" and body.identifier == b["id"] and body.msg_type == "Alert"
        assert body.repeat.count == 3 and body.bulletin is not None and body.bulletin.media is not None
        assert alert.expires_at is not None and alert.expires_at > clock.now()
        envs = [verifier.verify(w, now=clock.now()) for w in got[topics.program("67/660/24613", "radio")]]
        assert [e.seq for e in envs] == sorted(e.seq for e in envs)
        prog = ProgrammeBody.from_dict(dict(envs[-1].body))
        assert prog.emergencies == [b["id"]] and len(prog.days) == 3
        assert {i.id for i in prog.bulletins} == {b["id"]}
        assert alert.seq < envs[-1].seq
        # media the agent will fetch is served and matches the signed hash
        async with aiohttp.ClientSession(hub.url) as http:
            ref = prog.bulletins[0].media
            assert ref is not None
            r = await http.get(ref.url)
            served = await r.read()
            assert r.status == 200 and len(served) == ref.size
        # ... and the alert that went over the broker carried its Opus copy (no download needed), which
        # is served by URL too; the MP3 is what an agent of an earlier release downloads
        opus = body.alert_audio
        assert opus is not None and opus.mime == "audio/ogg" and opus.size * 3 < ref.size
        assert check_attachment(alert, ref.sha256, ref.size) is None
        async with aiohttp.ClientSession(hub.url) as http:
            r = await http.get(opus.url)
            assert r.status == 200 and check_attachment(alert, opus.sha256, opus.size) == await r.read()

        # agent -> hub: status (retained) and a batch of events, one delivered twice
        async with aiomqtt.Client(broker.host, broker.port, identifier="radio-a") as dev:
            await dev.publish(
                topics.status("radio-a"),
                json.dumps(
                    {
                        "device_id": "radio-a",
                        "kind": "radio",
                        "state": "emergency",
                        "at": clock.now().isoformat(),
                        "area": "67/660/24613",
                        "now_playing": b["id"],
                        "volume": 80,
                    }
                ),
                qos=1,
                retain=True,
            )
            ev = {
                "id": "radio-a:1",
                "device_id": "radio-a",
                "type": "play",
                "at": clock.now().isoformat(),
                "data": {
                    "bulletin_id": b["id"],
                    "outcome": "completed",
                    "emergency": True,
                    "started_at": clock.now().isoformat(),
                    "ended_at": clock.now().isoformat(),
                },
            }
            await dev.publish(topics.event("radio-a"), json.dumps([ev, ev]), qos=1)
            await dev.publish(topics.event("radio-a"), json.dumps(ev), qos=1)

        async def stored() -> None:
            while True:
                devs = s.devices.list(SYSTEM)
                plays = s.devices.plays(SYSTEM, device="radio-a")
                if (
                    devs
                    and devs[0]["state"] == "emergency"
                    and plays
                    and hub.ingest
                    and hub.ingest.received >= 3
                ):
                    return
                await asyncio.sleep(0.05)

        await asyncio.wait_for(stored(), 10)
        assert len(s.devices.plays(SYSTEM, bulletin=b["id"])) == 1
        assert s.bulletins.get(SYSTEM, b["id"]).status == "on_air"


async def test_emergency_alert_carries_its_audio_up_to_the_configured_size(hub: Hub) -> None:
    """The alert carries the speech as an attachment (devices play without a download); 0 turns it off."""
    verifier = Verifier([hub.s.envelopes.key.public])
    alert_topic = "nguon/v1/area/67/alert"

    async def approve_emergency() -> tuple[AlertBody, Any]:
        status, b = await hub.call(
            "POST",
            "/api/v1/bulletins",
            "editor67",
            json={
                "title": "Cảnh báo lũ",
                "priority": "emergency",
                "text": f"Lũ đang lên ở bản {uuid.uuid4().hex[:4]}, sơ tán ngay.",
                "targets": ["67"],
                "kinds": ["radio"],
            },
        )
        assert status == 201, b
        status, out = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
        assert status == 200, out
        wire = [p for t, p, _ in hub.publisher.messages if t == alert_topic][-1]
        env = verifier.verify(wire, now=hub.clock.now())
        body = AlertBody.from_dict(dict(env.body))
        assert body.identifier == b["id"] and body.bulletin is not None and body.bulletin.media is not None
        return body, env

    body, env = await approve_emergency()
    assert body.areas == ["67"] and body.area_names == ["Tỉnh Mẫu Ba Cấp"]  # what an LED board shows
    media, opus = body.bulletin.media, body.alert_audio  # type: ignore[union-attr]
    assert media is not None and opus is not None
    r = await hub.client.get(media.url)
    assert r.status == 200 and len(await r.read()) == media.size  # the MP3, for earlier releases
    r = await hub.client.get(opus.url)
    served = await r.read()
    assert r.status == 200 and len(served) == opus.size < 256 * 1024
    assert list(env.attachments) == [opus.sha256] and check_attachment(env, opus.sha256, opus.size) == served
    # a third of the MP3's bytes, the same speech: same duration, same loudness
    assert opus.size * 3 < media.size and opus.duration_ms == media.duration_ms
    mp3_file, opus_file = hub.s.media.path_for(media.sha256), hub.s.media.path_for(opus.sha256)
    assert abs(probe_ms(opus_file) - probe_ms(mp3_file)) < 100
    assert abs(loudness(opus_file) - loudness(mp3_file)) < 1.0

    cfg = hub.s.ctx.config
    hub.s.ctx.config = cfg.model_copy(update={"media": cfg.media.model_copy(update={"alert_inline_kb": 0})})
    body, env = await approve_emergency()
    assert env.attachments == {} and body.bulletin.media is not None  # type: ignore[union-attr]
    assert body.alert_audio is None


def probe_ms(path: Path) -> int:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return round(float(out.stdout) * 1000)


def loudness(path: Path) -> float:
    """Integrated loudness (LUFS, EBU R128), as ffmpeg measures it."""
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", out.stderr)[-1])


async def test_hub_mqtt_client_warns_only_past_its_own_in_flight_bound() -> None:
    """`hub serve` used to log aiomqtt's "pending publish calls" warning at every approval burst."""
    from hub.config import MqttConfig  # noqa: PLC0415
    from hub.mqtt import MAX_IN_FLIGHT, make_client  # noqa: PLC0415

    assert make_client(MqttConfig(), "", "t").pending_calls_threshold == MAX_IN_FLIGHT

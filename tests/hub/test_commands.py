"""Device commands end to end over a real Mosquitto: signed command out, command_result in, in the API."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt

from hub.app import HubRuntime
from hub.mosquitto import MosquittoProcess
from hub.roles import SYSTEM
from protocol.clock import FrozenClock
from protocol.envelope import Verifier
from protocol.messages import CommandBody
from protocol.topics import Topics
from tests.hub.conftest import PASSWORD, SAMPLE, T0, Hub, broker_config

DEVICE, AREA = "radio-cmd-1", "67/660/24613"


async def test_command_round_trip_and_roles(tmp_path: Path, broker: MosquittoProcess) -> None:  # noqa: PLR0915
    cfg = broker_config(tmp_path, broker.host, broker.port)
    prefix = cfg.mqtt.topic_prefix
    clock = FrozenClock(T0)
    topics = Topics(prefix)
    async with HubRuntime(cfg, clock=clock, scheduler=False) as hub:
        s = hub.services
        assert s is not None and hub.ingest is not None
        s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
        for name, role, area in (
            ("oper", "operator", "67"),
            ("viewer", "viewer", "67"),
            ("oper611", "operator", "67/660/24611"),
        ):
            s.accounts.create_user(SYSTEM, username=name, password=PASSWORD, role=role, area=area)
        s.devices.register(SYSTEM, device_id=DEVICE, kind="radio", area=AREA)
        await asyncio.wait_for(hub.ingest.connected.wait(), 10)
        verifier = Verifier([s.envelopes.key.public])
        received: list[Any] = []

        async with aiomqtt.Client(
            broker.host, broker.port, identifier=DEVICE, protocol=aiomqtt.ProtocolVersion.V5
        ) as dev:
            await dev.subscribe(topics.cmd(DEVICE), qos=1)

            async def fake_device() -> None:
                """Verifies each command like an agent and answers with a command_result event."""
                async for msg in dev.messages:
                    env = verifier.verify(bytes(msg.payload), now=clock.now())  # type: ignore[arg-type]
                    cmd = CommandBody.from_dict(dict(env.body))
                    received.append((env, cmd))
                    ev = {
                        "id": f"{DEVICE}:{uuid.uuid4()}",
                        "device_id": DEVICE,
                        "type": "command_result",
                        "at": clock.now().isoformat(),
                        "data": {
                            "command": cmd.command,
                            "ok": True,
                            "detail": f"âm lượng {cmd.args['level']}",
                        },
                    }
                    await dev.publish(topics.event(DEVICE), json.dumps(ev), qos=1)

            device_task = asyncio.create_task(fake_device(), name="fake-device")
            try:
                async with aiohttp.ClientSession(hub.url) as http:

                    async def auth(user: str) -> dict[str, str]:
                        r = await http.post(
                            "/api/v1/auth/login", json={"username": user, "password": PASSWORD}
                        )
                        return {"Authorization": "Bearer " + (await r.json())["token"]}

                    oper, viewer, oper611 = await auth("oper"), await auth("viewer"), await auth("oper611")
                    url = f"/api/v1/devices/{DEVICE}/commands"
                    cmd = {"command": "volume", "args": {"level": 55}}
                    r = await http.post(url, headers=viewer, json=cmd)
                    assert r.status == 403, await r.text()
                    r = await http.post(url, headers=oper611, json=cmd)
                    assert r.status == 403 and "ngoài phạm vi" in (await r.json())["error"]["message"]
                    r = await http.post(url, headers=oper, json={"command": "volume", "args": {"level": 101}})
                    assert r.status == 422 and (await r.json())["error"]["field"] == "args.level"
                    r = await http.post(url, headers=oper, json=cmd)
                    issued = await r.json()
                    assert r.status == 202, issued

                    async def answered() -> dict[str, Any]:
                        while True:
                            r = await http.get(url, headers=viewer)  # reading is open to any role in the area
                            rows = (await r.json())["commands"]
                            if rows and rows[0]["answered"]:
                                return rows[0]
                            await asyncio.sleep(0.05)

                    row = await asyncio.wait_for(answered(), 10)
                    r = await http.get(url, headers=oper611)
                    assert r.status == 404  # a device outside the caller's area is not shown
            finally:
                device_task.cancel()
        env, body = received[0]
        assert len(received) == 1 and env.type == "command" and env.id == issued["id"]
        assert body == CommandBody("volume", {"level": 55})
        assert env.expires_at == env.issued_at + timedelta(seconds=60)
        assert row["id"] == issued["id"] and row["ok"] is True and row["detail"] == "âm lượng 55"
        denied = [e for e in s.audit(SYSTEM, action="device.command") if e["outcome"] == "denied"]
        assert {e["username"] for e in denied} == {"viewer", "oper611"}
        assert [e["username"] for e in s.audit(SYSTEM, action="device.command") if e["outcome"] == "ok"] == [
            "oper"
        ]


async def test_answers_match_commands_in_order_and_skip_expired(hub: Hub) -> None:
    hub.s.devices.register(SYSTEM, device_id=DEVICE, kind="radio", area=AREA)
    stale = await hub.s.command(SYSTEM, DEVICE, "volume", {"level": 10})  # never delivered: device offline
    hub.clock.advance(300)
    first = await hub.s.command(SYSTEM, DEVICE, "volume", {"level": 20})
    hub.clock.advance(1)
    second = await hub.s.command(SYSTEM, DEVICE, "volume", {"level": 30})
    at = hub.clock.now().isoformat()
    hub.s.devices.ingest_events(
        DEVICE,
        [
            {
                "id": f"{DEVICE}:a",
                "type": "command_result",
                "at": at,
                "data": {"command": "volume", "ok": True, "detail": "20"},
            },
            {
                "id": f"{DEVICE}:b",
                "type": "command_result",
                "at": at,
                "data": {"command": "volume", "ok": False, "detail": "30"},
            },
        ],
    )
    rows = {c["id"]: c for c in hub.s.devices.commands(SYSTEM, DEVICE)}
    assert (rows[first["id"]]["detail"], rows[second["id"]]["detail"]) == ("20", "30")
    assert rows[second["id"]]["ok"] is False and not rows[stale["id"]]["answered"]

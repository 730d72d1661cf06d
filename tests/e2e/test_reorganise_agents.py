"""A reorganisation reaches the field without a visit: real agents of three communes merged into one get a
signed set_area, run again in the new commune, take its programme and play an emergency sent to it; the old
communes' topics carry nothing new. Real Mosquitto, real hub, real agents (simulated speakers)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest
from sqlalchemy import select

from edge_agent.__main__ import run
from edge_agent.config import load_settings
from hub.app import HubRuntime
from hub.models import Device, Play, PublishedProgramme
from hub.mosquitto import MosquittoProcess
from hub.roles import SYSTEM
from protocol.keys import public_key_b64
from tests.hub.conftest import PASSWORD, SAMPLE, broker_config

OLD = ("67/660/24611", "67/660/24613", "67/660/24631")
MERGED = "67/24611"
PLAN = {
    "name": "NQ-merge-gia-nghia",
    "effective": "2025-07-01",
    "merge": [{"from": list(OLD), "into": {"code": "24611", "name": "Phường Bắc Gia Nghĩa", "parent": "67"}}],
    "retire": ["660"],
}


async def until(pred: Callable[[], Any], timeout: float, what: str) -> Any:  # noqa: ASYNC109 - a deadline
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(pred)
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.mark.slow
async def test_agents_of_merged_communes_follow_their_new_commune(  # noqa: PLR0915
    tmp_path: Path, broker: MosquittoProcess
) -> None:
    cfg = broker_config(tmp_path, broker.host, broker.port)
    prefix = cfg.mqtt.topic_prefix
    async with HubRuntime(cfg, scheduler=False) as hub:
        s = hub.services
        assert s is not None
        s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
        s.accounts.create_user(SYSTEM, username="admin1", password=PASSWORD, role="admin")
        devices = [f"loa-{p.rsplit('/', 1)[1]}" for p in OLD]
        for dev, area in zip(devices, OLD, strict=True):
            s.devices.register(SYSTEM, device_id=dev, kind="radio", area=area)
        s.publishing.republish_soon(None)
        key = public_key_b64(s.envelopes.key.public)

        def status_of(dev: str) -> dict[str, Any]:
            with s.ctx.db.session() as sess:
                d = sess.get(Device, dev)
                return dict(d.last_status or {}) if d is not None else {}

        stop = asyncio.Event()
        agents = [
            asyncio.create_task(
                run(load_settings(None, env={}, raw={
                    "device_id": dev, "area": area, "hub_public_keys": [key], "hub_url": hub.url,
                    "data_dir": str(tmp_path / dev), "topic_prefix": prefix, "clock_trust": "always",
                    "heartbeat_s": 2, "mqtt": {"host": broker.host, "port": broker.port},
                    "hardware": {"mode": "sim", "sim_speed": 20.0, "sim_record": False},
                }), stop=stop),
                name=f"agent:{dev}",
            )
            for dev, area in zip(devices, OLD, strict=True)
        ]
        new_on_old: list[str] = []
        try:
            for dev, area in zip(devices, OLD, strict=True):
                await until(lambda d=dev, a=area: status_of(d).get("area") == a
                            and status_of(d).get("programme_version", 0) > 0, 30, f"{dev} online in {area}")
            async with aiomqtt.Client(broker.host, broker.port, protocol=aiomqtt.ProtocolVersion.V5) as spy:
                await spy.subscribe(f"{prefix}/area/67/660/#", qos=1)

                async def watch() -> None:
                    async for msg in spy.messages:
                        if not msg.retain:  # a retained one is what was there before
                            new_on_old.append(str(msg.topic))

                watcher = asyncio.create_task(watch(), name="spy")
                try:
                    with s.ctx.db.session() as sess:
                        before = sess.execute(select(PublishedProgramme.area_path, PublishedProgramme.version)
                                              .where(PublishedProgramme.kind == "radio")).all()
                    out = await s.reorganise(SYSTEM, PLAN)
                    assert {d["id"] for d in out.devices} == set(devices)
                    # each agent is told its new commune, runs again there and takes its programme (the
                    # merged commune's versions continue above the highest of the three old ones)
                    await s.publishing.flush()
                    with s.ctx.db.session() as sess:
                        version = sess.scalars(select(PublishedProgramme.version).where(
                            PublishedProgramme.area_path == MERGED, PublishedProgramme.kind == "radio")).one()
                    assert version > max(v for _, v in before)
                    for dev in devices:
                        await until(lambda d=dev: status_of(d).get("area") == MERGED
                                    and status_of(d).get("state") != "offline"
                                    and status_of(d).get("programme_version", 0) == version, 30,
                                    f"{dev} running in {MERGED} with programme v{version}")
                    # an emergency for the new commune reaches all three
                    async with aiohttp.ClientSession(hub.url) as http:
                        r = await http.post("/api/v1/auth/login",
                                            json={"username": "admin1", "password": PASSWORD})
                        auth = {"Authorization": "Bearer " + (await r.json())["token"]}
                        r = await http.post("/api/v1/bulletins", headers=auth, json={
                            "title": "Sạt lở", "priority": "emergency", "form": "text", "targets": [MERGED],
                            "kinds": ["radio"], "text": "Khẩn cấp: sạt lở đất, người dân tránh xa bờ suối."})
                        assert r.status == 201, await r.text()
                        bid = (await r.json())["id"]
                        r = await http.post(f"/api/v1/bulletins/{bid}/approve", headers=auth)
                        assert r.status == 200, await r.text()

                    def played() -> set[tuple[str, str]]:
                        with s.ctx.db.session() as sess:
                            rows = sess.scalars(select(Play).where(Play.bulletin_id == bid)).all()
                            return {(p.device_id, p.area_path) for p in rows}

                    await until(lambda: played() >= {(d, MERGED) for d in devices}, 60,
                                "every agent of the merged commune to play the emergency")
                    await asyncio.sleep(0.5)
                finally:
                    watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watcher
            assert new_on_old == [], f"old communes' topics carried new messages: {new_on_old}"
        finally:
            stop.set()
            await asyncio.wait(agents, timeout=20)
            for t in agents:
                t.cancel()
            await asyncio.gather(*agents, return_exceptions=True)

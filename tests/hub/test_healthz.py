"""GET /healthz for monitoring: 200 while the hub can publish and hear devices, 503 when it cannot, and the
devices' counts by the Thiết bị page's rules."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from hub.app import HubRuntime
from hub.mosquitto import MosquittoProcess
from hub.roles import SYSTEM
from tests.hub.conftest import make_config


async def _get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz") as r:
        return r.status, await r.json()


async def _until(url: str, status: int, timeout: float = 20) -> Any:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got, body = await _get(url)
        if got == status:
            return body
        assert asyncio.get_running_loop().time() < deadline, (got, body)
        await asyncio.sleep(0.2)


async def test_healthz_follows_the_broker_and_counts_devices(
    tmp_path: Path, fresh_broker: MosquittoProcess
) -> None:
    cfg = make_config(
        tmp_path,
        mqtt={
            "enabled": True,
            "host": fresh_broker.host,
            "port": fresh_broker.port,
            "topic_prefix": f"t{uuid.uuid4().hex[:8]}/v1",
            "client_id": f"hub-{uuid.uuid4().hex[:6]}",
        },
        http={"port": 0},
    )
    async with HubRuntime(cfg, scheduler=False) as hub:
        s = hub.services
        assert s is not None
        s.areas.import_tree(
            {
                "code": "67",
                "name": "Tỉnh",
                "level": "province",
                "children": [{"code": "24613", "name": "Xã", "level": "commune"}],
            },
            SYSTEM,
        )
        for dev in ("loa-1", "loa-2"):
            s.devices.register(SYSTEM, device_id=dev, kind="radio", area="67/24613")
        s.devices.ingest_status("loa-1", {"state": "idle", "clock": "synced"})
        body = await _until(hub.url, 200)
        assert body["ok"] is True and body["mqtt"]["publisher"] and body["mqtt"]["ingest"]
        assert body["devices"] == {"total": 2, "online": 1, "attention": 1}  # loa-2 never connected

        fresh_broker.stop()
        body = await _until(hub.url, 503)
        assert body["ok"] is False and not (body["mqtt"]["publisher"] and body["mqtt"]["ingest"])
        fresh_broker.start()
        await _until(hub.url, 200, 30)  # reconnected by itself

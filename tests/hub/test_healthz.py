"""GET /healthz for monitoring: 200 while the hub can publish and hear devices, 503 when it cannot, and the
devices' counts by the Thiết bị page's rules."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import aiomqtt
import pytest

from hub import scheduler
from hub.app import HubRuntime
from hub.config import ConfigError, MqttConfig
from hub.mosquitto import MosquittoProcess, free_port
from hub.mqtt import Publisher, make_client
from hub.roles import SYSTEM
from tests.hub.conftest import broker_config, make_config
from tests.tls import make_tls


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
    cfg = broker_config(tmp_path, fresh_broker.host, fresh_broker.port)
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


async def test_hub_over_tls_publishes_and_hears_devices(tmp_path: Path) -> None:
    tls = make_tls(tmp_path / "tls")
    port = free_port()
    with MosquittoProcess(tmp_path / "mq", extra_config=tls.listener(port)):
        cfg = broker_config(tmp_path, "127.0.0.1", port, tls=True, ca_file=str(tls.ca))
        async with HubRuntime(cfg, scheduler=False) as hub:
            body = await _until(hub.url, 200)
            assert body["mqtt"]["publisher"] and body["mqtt"]["ingest"]


def test_hub_config_refuses_an_unusable_ca_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="set tls = true"):
        make_config(tmp_path, mqtt={"ca_file": "/etc/ssl/ca.pem"})
    with pytest.raises(ConfigError, match="does not exist"):
        make_config(tmp_path, mqtt={"tls": True, "ca_file": str(tmp_path / "none.pem")})


class _FailingClient(aiomqtt.Client):
    """A real aiomqtt client (it connects to the broker) whose publish fails with an error that is not the
    broker's: a library bug, say. The publisher's task dies of it."""

    async def publish(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        raise RuntimeError("lỗi không lường trước")


def _failing_connect(cfg: MqttConfig, password: str, suffix: str) -> aiomqtt.Client:
    return make_client(cfg, password, suffix, cls=_FailingClient)


async def test_healthz_says_the_publisher_task_died_of_an_unexpected_error(
    tmp_path: Path, broker: MosquittoProcess
) -> None:
    cfg = broker_config(tmp_path, broker.host, broker.port)
    publisher = Publisher(cfg.mqtt, cfg.mqtt_password(), connect=_failing_connect)
    async with HubRuntime(cfg, scheduler=False, publisher=publisher) as hub:
        assert hub.services is not None
        body = await _until(hub.url, 200)
        assert body["mqtt"]["publisher"] and "dead_tasks" not in body
        hub.services.areas.import_tree(
            {"code": "67", "name": "Tỉnh", "level": "province",
             "children": [{"code": "24613", "name": "Xã", "level": "commune"}]},
            SYSTEM,
        )
        hub.services.publishing.republish_soon(None)  # a programme to send: the publish fails
        body = await _until(hub.url, 503)
        assert body["ok"] is False
        assert body["dead_tasks"]["publisher"] == "RuntimeError: lỗi không lường trước"
        assert "tác vụ nền publisher đã dừng (RuntimeError: lỗi không lường trước)" in body["reason"]
        assert "không gửi được tin tới thiết bị" in body["reason"]
        # the link alone still says connected: only the task's death tells the truth
        assert publisher.link.connected.is_set()
    # every stop step ran although a task had died: the publisher lock is free for the next hub
    async with HubRuntime(cfg, scheduler=False) as again:
        await _until(again.url, 200)


async def test_the_midnight_job_is_one_of_the_hubs_tasks(tmp_path: Path) -> None:
    async with HubRuntime(make_config(tmp_path, http={"port": 0}), scheduler=True) as hub:
        assert hub.tasks is not None and hub.tasks.running("midnight")
        assert hub.tasks.running("stats-catchup")  # the statistics' past days, in the background
        body = await _until(hub.url, 200)
        assert "dead_tasks" not in body
    async with HubRuntime(make_config(tmp_path, http={"port": 0}), scheduler=False) as hub:
        assert hub.tasks is not None and not hub.tasks.running("midnight")
        assert not hub.tasks.running("stats-catchup")


async def test_healthz_says_the_midnight_task_died(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(now: datetime, tz: ZoneInfo) -> datetime:
        raise RuntimeError("lịch hỏng")

    monkeypatch.setattr(scheduler, "next_midnight", broken)
    async with HubRuntime(make_config(tmp_path, http={"port": 0}), scheduler=True) as hub:
        body = await _until(hub.url, 503)
        assert body["dead_tasks"]["midnight"] == "RuntimeError: lịch hỏng"  # (the group stopped the others)
        assert "không chuyển chương trình sang ngày mới lúc nửa đêm" in body["reason"]

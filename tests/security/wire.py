"""For the wire tests: a real hub (HubRuntime: HTTP, SQLite, publisher and ingest) on a real Mosquitto, with
real agent processes in two communes of the sample province (the `stack` fixture in conftest.py), and an
attacker: any other client of that broker (a stolen broker login), which can capture what the hub publishes
and re-publish it anywhere."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt

from hub.app import HubRuntime
from hub.mosquitto import MosquittoProcess
from protocol import KeyPair, ShiftedClock, Topics
from tests.agent.harness import AgentProcess, wait_until
from tests.hub.conftest import PASSWORD

A_AREA, B_AREA = "67/660/24611", "67/660/24613"


class Stack:
    """The hub, its HTTP API as the editor and the operator, two agents (A in 24611, B in 24613)."""

    def __init__(self, hub: HubRuntime, broker: MosquittoProcess, clock: ShiftedClock, tmp: Path) -> None:
        assert hub.services is not None
        self.runtime, self.broker, self.clock = hub, broker, clock
        self.s = hub.services
        self.topics = Topics(hub.config.mqtt.topic_prefix)
        self.url = hub.url
        self.keys: KeyPair = self.s.envelopes.key
        self.http = aiohttp.ClientSession(hub.url)
        self._tokens: dict[str, str] = {}
        self.a = AgentProcess(tmp / "a", self, clock=clock, device_id="loa-24611-1", area=A_AREA)
        self.b = AgentProcess(tmp / "b", self, clock=clock, device_id="loa-24613-1", area=B_AREA)

    async def call(self, method: str, path: str, who: str = "ed", **kw: Any) -> tuple[int, Any]:
        if who not in self._tokens:
            r = await self.http.post("/api/v1/auth/login", json={"username": who, "password": PASSWORD})
            assert r.status == 200, await r.text()
            self._tokens[who] = (await r.json())["token"]
        headers = {"Authorization": f"Bearer {self._tokens[who]}"}
        r = await self.http.request(method, f"/api/v1{path}", headers=headers, **kw)
        return r.status, await r.json()

    async def rejected_reasons(self, device_id: str) -> list[str]:
        """What Thiết bị (the hub's devices API) says this device refused."""
        status, data = await self.call("GET", "/devices", who="oper")
        assert status == 200, data
        (dev,) = [d for d in data["devices"] if d["id"] == device_id]
        return [r for p in dev["problems"] if p["code"] == "rejected" for r in p["reasons"]]


class Attacker:
    """Another client of the broker: records what the hub publishes on some topics, publishes anything."""

    def __init__(self, broker: MosquittoProcess) -> None:
        self.broker = broker
        self.got: dict[str, list[bytes]] = {}
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Attacker:
        self._client = aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            identifier=f"attacker-{uuid.uuid4().hex[:6]}",
            protocol=aiomqtt.ProtocolVersion.V5,
        )
        await self._client.__aenter__()
        self._task = asyncio.create_task(self._collect(), name="attacker-collect")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None:
            await self._client.__aexit__(None, None, None)

    async def _collect(self) -> None:
        assert self._client is not None
        async for msg in self._client.messages:
            self.got.setdefault(str(msg.topic), []).append(bytes(msg.payload))  # type: ignore[arg-type]

    async def listen(self, topic: str) -> None:
        assert self._client is not None
        await self._client.subscribe(topic, qos=1)

    async def captured(self, topic: str, timeout: float = 15) -> bytes:  # noqa: ASYNC109 - a bound
        got = await wait_until(lambda: self.got.get(topic), timeout, f"a message on {topic}")
        return bytes(got[-1])

    async def publish(self, topic: str, wire: bytes) -> None:
        assert self._client is not None
        await self._client.publish(topic, wire, qos=1, timeout=10)

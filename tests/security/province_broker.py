"""A Mosquitto configured as a province's (hub/broker.py `mosquitto_conf`, as `./run demo` and
`python -m hub broker conf` do): the hub's listener with the hub's account only, the devices' listener where
the client id is the user name, an account and ACL per device, the size limits. And a real hub on it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt

from hub.broker import DeviceGrant, PasswordFile, acl_text, write_private
from hub.config import HubConfig
from hub.mosquitto import MosquittoProcess
from tests.hub.conftest import SAMPLE, make_config

HUB_USER = "hub"
HUB_CLIENT_ID = "nguon-hub"  # the hub's default client-id prefix: its publisher is nguon-hub-pub
DEVICES = (
    DeviceGrant("loa-24611-1", "radio", "67/660/24611"),
    DeviceGrant("loa-24613-1", "radio", "67/660/24613"),
    DeviceGrant("bang-24613-1", "led", "67/660/24613"),
)
SAMPLE_TREE = json.loads(SAMPLE.read_text(encoding="utf-8"))


def secret(user: str) -> str:
    return f"secret-{user}-0123456789"


def client(
    port: int, user: str, *, identifier: str | None = None, host: str = "127.0.0.1", **kw: Any
) -> aiomqtt.Client:
    """An MQTT 5 client with `user`'s credentials on host:port."""
    return aiomqtt.Client(
        host,
        port,
        username=user,
        password=secret(user),
        identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V5,
        timeout=5,
        **kw,
    )


@dataclass
class ProvinceBroker:
    mq: MosquittoProcess
    tmp: Path
    devices: tuple[DeviceGrant, ...] = DEVICES
    hub_secret_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.hub_secret_file = self.tmp / "hub_mqtt_password"
        write_private(self.hub_secret_file, secret(HUB_USER) + "\n")

    def hub_config(self, **over: Any) -> HubConfig:
        return make_config(
            self.tmp,
            mqtt={
                "enabled": True,
                "host": self.mq.host,
                "port": self.mq.port,
                "username": HUB_USER,
                "password_file": str(self.hub_secret_file),
                "client_id": HUB_CLIENT_ID,
            },
            http={"port": 0},
            **over,
        )

    def device_client(
        self, device: str, *, identifier: str | None = None, port: int | None = None, **kw: Any
    ) -> aiomqtt.Client:
        """A client with `device`'s credentials, on the devices' listener unless `port` says otherwise."""
        return client(
            port or self.mq.device_port, device, identifier=identifier or device, host=self.mq.host, **kw
        )

    def hub_client(self, *, identifier: str | None = None) -> aiomqtt.Client:
        """A client with the hub's credentials on the hub's listener (a second hub, a stolen hub login)."""
        return client(self.mq.port, HUB_USER, identifier=identifier, host=self.mq.host)


@contextlib.contextmanager
def province_broker(tmp: Path, devices: tuple[DeviceGrant, ...] = DEVICES) -> Iterator[ProvinceBroker]:
    pw = PasswordFile(tmp / "passwd")
    for d in devices:
        pw.set(d.id, secret(d.id))
    pw.save()
    hub_pw = PasswordFile(tmp / "passwd-hub")
    hub_pw.set(HUB_USER, secret(HUB_USER))
    hub_pw.save()
    write_private(tmp / "acl", acl_text(devices, hub_user=HUB_USER))
    mq = MosquittoProcess(
        tmp / "mq",
        password_file=tmp / "passwd",
        hub_password_file=tmp / "passwd-hub",
        acl_file=tmp / "acl",
    )
    with mq:
        yield ProvinceBroker(mq, tmp, devices)


async def healthz(url: str) -> tuple[int, Any]:
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as http, http.get(f"{url}/healthz") as r:
        return r.status, await r.json()


async def healthz_until(url: str, status: int, timeout: float) -> tuple[float, Any]:  # noqa: ASYNC109
    """Poll /healthz every 50 ms until it answers `status`; (seconds it took, body)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while True:
        got, body = await healthz(url)
        if got == status:
            return loop.time() - start, body
        assert loop.time() - start < timeout, f"/healthz still {got} after {timeout} s: {body}"
        await asyncio.sleep(0.05)

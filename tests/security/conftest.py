"""Security tests: a real hub (HTTP server on a port, SQLite, espeak-ng, ffmpeg) attacked from outside."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

import hub.services.accounts as accounts_module
from hub.app import HubRuntime, build_app, build_services
from hub.config import build_config
from hub.models import AuditEntry
from hub.mosquitto import MosquittoProcess
from hub.roles import SYSTEM
from hub.services import Services
from hub.services.publishing import RecordingPublisher
from protocol.clock import FrozenClock, ShiftedClock
from tests.hub.conftest import _task_leak_check, broker_config, no_leaked_tasks  # noqa: F401 - fixtures
from tests.security.wire import Stack
from tests.web.conftest import PASSWORD, SAMPLE, T0, USERS, Browserish


class SecHub:
    """The hub under attack: API clients with bearer tokens, browser-like clients, and database counts."""

    def __init__(self, services: Services, server: TestServer, clock: FrozenClock) -> None:
        self.s, self.server, self.clock = services, server, clock
        self._clients: list[TestClient] = []

    async def client(self) -> TestClient:
        c = TestClient(self.server)
        await c.start_server()
        self._clients.append(c)
        return c

    async def api(self, username: str) -> tuple[TestClient, dict[str, str]]:
        """A client and the Authorization header of `username` (logged in through the API)."""
        c = await self.client()
        r = await c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status == 200, await r.text()
        return c, {"Authorization": f"Bearer {(await r.json())['token']}"}

    async def browser(self, username: str | None = None) -> Browserish:
        b = Browserish(await self.client())
        if username:
            r = await b.login(username)
            assert r.status == 303, await r.text()
        return b

    def count(self, model: Any = AuditEntry) -> int:
        with self.s.ctx.db.session() as sess:
            return int(sess.scalar(select(func.count()).select_from(model)) or 0)

    def audit_bytes(self) -> int:
        """Characters stored in the audit log (what a stranger could grow)."""
        with self.s.ctx.db.session() as sess:
            rows = sess.scalars(select(AuditEntry)).all()
            return sum(len(r.username) + len(r.target) + len(r.ip) + len(json.dumps(r.detail)) for r in rows)

    async def close(self) -> None:
        for c in self._clients:
            await c.close()


async def start_hub(tmp: Path, **config: Any) -> SecHub:
    data: dict[str, Any] = {
        "data_dir": str(tmp / "hub"),
        "mqtt": {"enabled": False},
        "programme": {"scheduler": False},
    }
    for k, v in config.items():
        data[k] = {**data.get(k, {}), **v} if isinstance(v, dict) else v
    cfg = build_config(data, environ={})
    clock = FrozenClock(T0)
    services = build_services(cfg, clock=clock, publisher=RecordingPublisher())
    services.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
    real = accounts_module.hash_password
    once = real(PASSWORD)  # argon2id is slow by design: hash the shared test password once
    accounts_module.hash_password = lambda p: once if p == PASSWORD else real(p)  # type: ignore[assignment]
    try:
        for name, role, area in USERS:
            services.accounts.create_user(SYSTEM, username=name, password=PASSWORD, role=role, area=area)
    finally:
        accounts_module.hash_password = real  # type: ignore[assignment]
    server = TestServer(build_app(cfg, services=services))
    await server.start_server()
    return SecHub(services, server, clock)


async def stop_hub(h: SecHub) -> None:
    await h.close()
    await h.server.close()
    h.s.ctx.db.dispose()


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[SecHub]:
    h = await start_hub(tmp_path)
    try:
        yield h
    finally:
        await stop_hub(h)


@pytest.fixture
async def stack(tmp_path: Path, broker: MosquittoProcess) -> AsyncIterator[Stack]:
    """A real hub publishing to a real Mosquitto, with two real agent processes (tests/security/wire.py)."""
    cfg = broker_config(tmp_path, broker.host, broker.port)
    clock = ShiftedClock()  # hub and agents on the real clock: what one signs, the other finds current
    async with HubRuntime(cfg, clock=clock, scheduler=False) as runtime:
        s = runtime.services
        assert s is not None and runtime.ingest is not None
        s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
        s.accounts.create_user(SYSTEM, username="ed", password=PASSWORD, role="editor", area="67")
        s.accounts.create_user(SYSTEM, username="oper", password=PASSWORD, role="operator", area="67")
        await asyncio.wait_for(runtime.ingest.connected.wait(), 10)
        st = Stack(runtime, broker, clock, tmp_path)
        for agent in (st.a, st.b):
            s.devices.register(SYSTEM, device_id=agent.device_id, kind="radio", area=agent.area)
        try:
            yield st
        finally:
            st.a.stop()
            st.b.stop()
            await st.http.close()

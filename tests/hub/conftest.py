"""Hub test fixtures: a real SQLite file, real espeak-ng/ffmpeg speech, an in-process server."""

from __future__ import annotations

import asyncio
import inspect
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import create_engine, text

from hub.app import build_app, build_services
from hub.config import HubConfig, build_config
from hub.roles import SYSTEM
from hub.services import Services
from hub.services.publishing import RecordingPublisher
from protocol.clock import FrozenClock

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "province_3tier.json"
PASSWORD = "Mat-khau-an-toan-2026"  # noqa: S105 - the test accounts' password
# 2026-11-23 04:00 local: before the morning window.
T0 = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# Tests of other rules approve the bulletins their editor wrote; tests/hub/test_review.py runs the
# province's default policy (authors of province and district bulletins may not approve them).
SELF_APPROVE_ALL = {"review": {"self_approve": {"central": True, "province": True, "district": True}}}


def make_config(tmp: Path, **over: Any) -> HubConfig:
    data: dict[str, Any] = {
        "data_dir": str(tmp / "hub"),
        "mqtt": {"enabled": False},
        "programme": {"scheduler": False},
        **SELF_APPROVE_ALL,
    }
    for k, v in over.items():
        data[k] = {**data.get(k, {}), **v} if isinstance(v, dict) else v
    return build_config(data, environ={})


def broker_config(tmp: Path, host: str, port: int, **mqtt: Any) -> HubConfig:
    """A hub config that publishes to the broker at host:port, under a topic prefix and client id of its
    own (tests share a broker), HTTP on a free port; `mqtt` adds settings (tls, ca_file...)."""
    return make_config(
        tmp,
        mqtt={
            "enabled": True,
            "host": host,
            "port": port,
            "topic_prefix": f"t{uuid.uuid4().hex[:8]}/v1",
            "client_id": f"hub-{uuid.uuid4().hex[:6]}",
            **mqtt,
        },
        http={"port": 0},
    )


@pytest.fixture(autouse=True)
def no_leaked_tasks(request: pytest.FixtureRequest) -> None:
    """An async test fails when a task it started (itself or through its fixtures) outlives it."""
    if inspect.iscoroutinefunction(request.function):
        request.getfixturevalue("_task_leak_check")


LEAK_GRACE_S = 2.0  # a task already finishing (a closed connection's last callback) may take this long


@pytest.fixture
async def _task_leak_check() -> AsyncIterator[None]:
    before = asyncio.all_tasks()
    yield
    me = asyncio.current_task()
    left = {t for t in asyncio.all_tasks() - before if t is not me and not t.done()}
    if left:
        await asyncio.wait(left, timeout=LEAK_GRACE_S)
    leaked = sorted(t.get_name() for t in left if not t.done())
    for t in left:
        t.cancel()
    assert not leaked, f"tasks left running after the test: {leaked}"


class Hub:
    """A test hub: services plus an HTTP client and helpers to log in as the sample users."""

    def __init__(
        self, services: Services, client: TestClient, publisher: RecordingPublisher, clock: FrozenClock
    ) -> None:
        self.s, self.client, self.publisher, self.clock = services, client, publisher, clock
        self.tokens: dict[str, str] = {}

    def user(self, name: str, role: str, area: str | None = None) -> None:
        self.s.accounts.create_user(SYSTEM, username=name, password=PASSWORD, role=role, area=area)

    async def login(self, name: str) -> dict[str, str]:
        if name not in self.tokens:
            r = await self.client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
            assert r.status == 200, await r.text()
            self.tokens[name] = (await r.json())["token"]
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    async def call(self, method: str, path: str, who: str, **kw: Any) -> tuple[int, Any]:
        headers = {**(await self.login(who)), **kw.pop("headers", {})}
        r = await self.client.request(method, path, headers=headers, **kw)
        return r.status, await r.json()

    def count(self, model: Any) -> int:
        from sqlalchemy import func, select  # noqa: PLC0415

        with self.s.ctx.db.session() as sess:
            return int(sess.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(make_config(tmp_path)) as h:
        yield h


@asynccontextmanager
async def running_hub(cfg: HubConfig) -> AsyncIterator[Hub]:
    """A test hub on this config with the sample province and one account per role."""
    clock = FrozenClock(T0)
    publisher = RecordingPublisher()
    services = build_services(cfg, clock=clock, publisher=publisher)
    services.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
    app = build_app(cfg, services=services)
    client = TestClient(TestServer(app))
    await client.start_server()
    h = Hub(services, client, publisher, clock)
    h.user("admin1", "admin")
    h.user("editor67", "editor", "67")
    h.user("editor660", "editor", "67/660")
    h.user("reviewer67", "reviewer", "67")
    h.user("chair24613", "commune_chair", "67/660/24613")
    h.user("chair24611", "commune_chair", "67/660/24611")
    h.user("viewer", "viewer", "67")
    h.user("oper", "operator", "67")
    try:
        yield h
    finally:
        await client.close()
        services.ctx.db.dispose()


@contextmanager
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database (dropped after); skips the test when no server answers on
    127.0.0.1:5432."""
    name = f"nguon_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.skip(
            f"PostgreSQL at 127.0.0.1:5432 (user postgres) is not reachable: {exc.__class__.__name__}"
        )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database; the test is skipped when no server answers on 127.0.0.1:5432."""
    with pg_database() as url:
        yield url

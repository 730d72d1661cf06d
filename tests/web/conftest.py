"""Web UI fixtures: the real hub app (SQLite in tmp_path, espeak-ng speech) and browser-like clients."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import re
import traceback
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from aiohttp import ClientResponse
from aiohttp import web as web_app
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Handler
from argon2 import PasswordHasher

import hub.services.accounts as accounts_module
from hub.app import build_app, build_services
from hub.config import build_config
from hub.db import Database
from hub.roles import SYSTEM
from hub.security import hash_password
from hub.services import Services
from hub.services.publishing import RecordingPublisher
from protocol.clock import FrozenClock

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "province_3tier.json"
PASSWORD = "Mat-khau-an-toan-2026"  # noqa: S105 - a test account's password
T0 = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)  # 2026-11-23 04:00 local, before the morning window
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
USERS = [
    ("admin1", "admin", None),
    ("editor67", "editor", "67"),
    ("editor660", "editor", "67/660"),
    ("reviewer67", "reviewer", "67"),
    ("chair24613", "commune_chair", "67/660/24613"),
    ("chair24611", "commune_chair", "67/660/24611"),
    ("viewer", "viewer", "67"),
    ("oper", "operator", "67"),
]


# Tests of other rules approve what their editor wrote; the review tests pass the default policy.
SELF_APPROVE_ALL = {"self_approve": {"central": True, "province": True, "district": True}}


def make_services(
    tmp: Path,
    clock: Any,
    publisher: Any = None,
    *,
    review: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Services:
    cfg = build_config(
        {
            "data_dir": str(tmp / "hub"),
            "mqtt": {"enabled": False},
            "programme": {"scheduler": False},
            "review": SELF_APPROVE_ALL if review is None else review,
            **(extra or {}),
        },
        environ={},
    )
    services = build_services(cfg, clock=clock, publisher=publisher or RecordingPublisher())
    services.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
    # argon2id is slow by design: hash the shared test password once (each user still gets a real hash).
    once = hash_password(PASSWORD)

    def fast_hash(p: str) -> str:
        return once if p == PASSWORD else hash_password(p)

    with mock.patch.object(accounts_module, "hash_password", fast_hash):
        for name, role, area in USERS:
            services.accounts.create_user(SYSTEM, username=name, password=PASSWORD, role=role, area=area)
    return services


class Browserish:
    """A TestClient with its own cookie jar that logs in through the form and posts with the page's CSRF."""

    def __init__(self, client: TestClient[web_app.Request, web_app.Application]) -> None:
        self.client = client
        self.csrf = ""

    async def login(self, username: str, password: str = PASSWORD) -> ClientResponse:
        page = await self.client.get("/login")
        token = CSRF_RE.search(await page.text())
        assert token, "login form has no CSRF field"
        r = await self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf": token.group(1), "next": "/"},
            allow_redirects=False,
        )
        return r

    async def get(self, path: str, **kw: Any) -> tuple[int, str]:
        r = await self.client.get(path, **kw)
        text = await r.text()
        m = CSRF_RE.search(text)
        if m:
            self.csrf = m.group(1)
        return r.status, text

    async def post(self, path: str, data: Any, *, csrf: str | None = None, **kw: Any) -> ClientResponse:
        if not self.csrf:
            await self.get("/bulletins")
        if isinstance(data, dict):
            data = [*data.items()]
        data = [*data, ("csrf", self.csrf if csrf is None else csrf)]
        kw.setdefault("allow_redirects", False)
        return await self.client.post(path, data=data, **kw)


class WebHub:
    def __init__(
        self, services: Services, server: TestServer, clock: FrozenClock, publisher: RecordingPublisher
    ) -> None:
        self.s, self.server, self.clock, self.publisher = services, server, clock, publisher
        self._clients: list[TestClient[web_app.Request, web_app.Application]] = []

    async def as_user(self, username: str | None) -> Browserish:
        client = TestClient(self.server)
        await client.start_server()
        self._clients.append(client)
        b = Browserish(client)
        if username:
            r = await b.login(username)
            assert r.status == 303, await r.text()
        return b

    async def close(self) -> None:
        for c in self._clients:
            await c.close()


IN_REQUEST: contextvars.ContextVar[str] = contextvars.ContextVar("in_request", default="")


@web_app.middleware
async def _mark_request(request: web_app.Request, handler: Handler) -> web_app.StreamResponse:
    IN_REQUEST.set(f"{request.method} {request.path}")
    return await handler(request)


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def blocking_on_loop(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What a request did on the event loop that blocks it: a database transaction or an argon2id hash
    (the pages, like the API, send these to worker threads: hub/workers.py). Every `web` test checks it."""
    seen: list[str] = []

    def guard(what: str, real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if IN_REQUEST.get() and _on_loop():
                seen.append(f"{IN_REQUEST.get()}: {what}\n{''.join(traceback.format_stack(limit=6)[:-1])}")
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(Database, "session", guard("database session", Database.session))
    monkeypatch.setattr(PasswordHasher, "verify", guard("argon2 verify", PasswordHasher.verify))
    monkeypatch.setattr(PasswordHasher, "hash", guard("argon2 hash", PasswordHasher.hash))
    return seen


@contextlib.asynccontextmanager
async def served(
    services: Services, clock: FrozenClock, publisher: RecordingPublisher
) -> AsyncIterator[WebHub]:
    """The real app over these services on a test server (marking each request for blocking_on_loop)."""
    app = build_app(services.ctx.config, services=services)
    app.middlewares.append(_mark_request)
    server = TestServer(app)
    await server.start_server()
    hub = WebHub(services, server, clock, publisher)
    try:
        yield hub
    finally:
        await hub.close()
        await server.close()
        services.ctx.db.dispose()


@pytest.fixture
async def web(tmp_path: Path, blocking_on_loop: list[str]) -> AsyncIterator[WebHub]:
    clock = FrozenClock(T0)
    publisher = RecordingPublisher()
    async with served(make_services(tmp_path, clock, publisher), clock, publisher) as hub:
        yield hub
    assert not blocking_on_loop, "a page blocked the event loop:\n" + "\n".join(blocking_on_loop[:3])

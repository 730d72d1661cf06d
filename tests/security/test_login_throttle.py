"""A stranger failing logins: throttled per address as well as per account, so one address can neither
guess on and on nor lock the staff out (docs/SECURITY.md, Login throttling)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from hub.models import AuditEntry
from tests.security.conftest import SecHub, start_hub, stop_hub
from tests.web.conftest import PASSWORD, USERS

STRANGER = "203.0.113.9"
OFFICE = "198.51.100.7"


@pytest.fixture
async def proxied(tmp_path: Path) -> AsyncIterator[SecHub]:
    """A hub behind a reverse proxy on 127.0.0.1 (docs/OPERATIONS.md): X-Forwarded-For names the client."""
    h = await start_hub(tmp_path, http={"trusted_proxies": ["127.0.0.1"]})
    try:
        yield h
    finally:
        await stop_hub(h)


async def _login(c: TestClient, user: str, password: str, addr: str | None = None) -> tuple[int, dict]:
    headers = {"X-Forwarded-For": f"10.9.9.9, {addr}"} if addr else {}  # the left part is the client's lie
    r = await c.post("/api/v1/auth/login", json={"username": user, "password": password}, headers=headers)
    return r.status, {"retry": r.headers.get("Retry-After"), **(await r.json()).get("error", {})}


async def test_one_address_failing_for_every_account_is_throttled_not_the_staff(proxied: SecHub) -> None:
    c = await proxied.client()
    statuses = []
    for _ in range(2):
        for user, _role, _area in USERS:  # 8 accounts, twice: 16 attempts
            statuses.append((await _login(c, user, "sai-mat-khau-123", STRANGER))[0])
    assert statuses[:10] == [401] * 10
    assert set(statuses[10:]) == {429}
    status, err = await _login(c, "admin1", PASSWORD, STRANGER)  # even the right password: the address waits
    assert status == 429 and err["code"] == "too_many_failures" and int(err["retry"]) > 0
    assert "thử lại sau" in err["message"]
    rows = proxied.count(AuditEntry)
    for _ in range(20):
        assert (await _login(c, "viewer", "x", STRANGER))[0] == 429
    assert proxied.count(AuditEntry) == rows  # a throttled address writes nothing
    for user, _role, _area in USERS:  # no account was locked: every staff member logs in from the office
        assert (await _login(c, user, PASSWORD, OFFICE))[0] == 200, user
    proxied.clock.advance(901)  # after the window the address may try again
    assert (await _login(c, "admin1", PASSWORD, STRANGER))[0] == 200


async def test_a_locked_account_still_lets_its_owner_in_from_a_known_address(proxied: SecHub) -> None:
    c = await proxied.client()
    assert (await _login(c, "admin1", PASSWORD, OFFICE))[0] == 200
    for _ in range(6):
        await _login(c, "admin1", "doan-mo-mat-khau", STRANGER)
    status, err = await _login(c, "admin1", PASSWORD, STRANGER)
    assert status == 429 and err["code"] == "locked"  # the account is locked for the guesser...
    assert (await _login(c, "admin1", PASSWORD, "192.0.2.50"))[0] == 429  # ...and for unknown addresses
    assert (await _login(c, "admin1", PASSWORD, OFFICE))[0] == 200  # not for its owner's office
    status, err = await _login(c, "admin1", "doan-mo-mat-khau", "192.0.2.50")
    assert status == 429  # the owner's success did not lift the lock for others


async def test_forwarded_for_is_ignored_without_a_trusted_proxy(hub: SecHub) -> None:
    c = await hub.client()
    results = [(await _login(c, "editor67", "sai-mat-khau-123", f"203.0.113.{i}"))[0] for i in range(12)]
    assert results[-1] == 429  # a rotating X-Forwarded-For does not escape the per-address limit


async def test_the_login_page_answers_429_with_retry_after(proxied: SecHub) -> None:
    b = await proxied.browser()
    b.client.session.headers["X-Forwarded-For"] = STRANGER  # type: ignore[index]
    codes = [(await b.login(user, "sai-mat-khau-123")).status for user, _r, _a in USERS * 2]
    assert codes[-1] == 429
    r = await b.login("admin1")
    assert r.status == 429 and int(r.headers["Retry-After"]) > 0
    assert "thử lại sau" in await r.text()


def test_trusted_proxies_must_be_addresses() -> None:
    from hub.config import ConfigError, build_config  # noqa: PLC0415

    with pytest.raises(ConfigError, match=r"trusted_proxies.*'nginx' is not an IP address"):
        build_config({"http": {"trusted_proxies": ["nginx"]}}, environ={})

"""Managed broker files ([broker_files], hub/broker_sync.py) against a real Mosquitto and the real hub: a
device registered through the API can connect and read its commune's programme with no manual step; after a
reorganisation through the API it reads its new commune and is refused the old one; a new secret replaces
the old; a removed device cannot connect; a failing reload shows on /healthz and the next change retries."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest

from hub.__main__ import main
from hub.app import HubRuntime, build_services
from hub.broker import PasswordFile, acl_text, check_password, read_password_lines, write_private
from hub.broker_files import BrokerFilesConfig
from hub.config import ConfigError, HubConfig, build_config, load_config
from hub.errors import Conflict
from hub.mosquitto import MosquittoProcess
from hub.roles import SYSTEM
from protocol.topics import Topics
from tests.hub.conftest import PASSWORD, SAMPLE, broker_config, make_config

HUB_SECRET = "secret-hub-0123456789"  # noqa: S105 - a test broker's
OLD, MERGED = "67/660/24611", "67/24611"
PLAN = {
    "name": "NQ-merge",
    "effective": "2025-07-01",
    "merge": [{"from": ["67/660/24611", "67/660/24613"],
               "into": {"code": "24611", "name": "Phường Bắc Gia Nghĩa", "parent": "67"}}],
}


def _rig(
    tmp: Path, retry_s: float = 2, extra: tuple[dict[str, Any], ...] = (), **target: Any
) -> tuple[MosquittoProcess, Callable[[], HubConfig]]:
    """A secured broker (hub and devices' listeners) whose files start with no device."""
    hub_pw = PasswordFile(tmp / "passwd-hub")
    hub_pw.set("hub", HUB_SECRET)
    hub_pw.save()
    write_private(tmp / "passwd", "")
    write_private(tmp / "acl", acl_text([]))
    (tmp / "hub-secret").write_text(HUB_SECRET)
    mq = MosquittoProcess(tmp / "mq", password_file=tmp / "passwd", hub_password_file=tmp / "passwd-hub",
                          acl_file=tmp / "acl")

    def config() -> HubConfig:
        cfg = broker_config(tmp, mq.host, mq.port, username="hub", password_file=str(tmp / "hub-secret"))
        broker = {"acl": str(tmp / "acl"), "password_file": str(tmp / "passwd"), **target}
        return cfg.model_copy(update={"broker_files": BrokerFilesConfig.model_validate(
            {"brokers": [broker, *extra], "debounce_s": 0.2, "poll_s": 30, "retry_s": retry_s,
             "retry_max_s": 60})})

    return mq, config


@contextlib.asynccontextmanager
async def _admin(hub: HubRuntime) -> AsyncIterator[aiohttp.ClientSession]:
    s = hub.services
    assert s is not None
    s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
    s.accounts.create_user(SYSTEM, username="admin1", password=PASSWORD, role="admin")
    async with aiohttp.ClientSession(hub.url) as http:
        r = await http.post("/api/v1/auth/login", json={"username": "admin1", "password": PASSWORD})
        http.headers["Authorization"] = "Bearer " + (await r.json())["token"]
        yield http


def _device(mq: MosquittoProcess, user: str, password: str) -> aiomqtt.Client:
    return aiomqtt.Client(mq.host, mq.device_port, username=user, password=password,
                          protocol=aiomqtt.ProtocolVersion.V5, timeout=3)


async def _can_connect(mq: MosquittoProcess, user: str, password: str) -> bool:
    try:
        async with _device(mq, user, password):
            return True
    except aiomqtt.MqttError:
        return False


async def _until(pred: Callable[[], Any], what: str, timeout: float = 8) -> Any:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = await pred()
        if got:
            return got
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}")


async def _reads(mq: MosquittoProcess, user: str, password: str, topics: list[str]) -> set[str]:
    """The retained topics among `topics` the device receives when it subscribes."""
    got: set[str] = set()
    async with _device(mq, user, password) as dev:
        for t in topics:
            await dev.subscribe(t, qos=1)

        async def loop() -> None:
            async for msg in dev.messages:
                got.add(str(msg.topic))

        with contextlib.suppress(TimeoutError):  # listening for a fixed time is the point
            await asyncio.wait_for(loop(), 0.7)
    return got


async def _admin_home(hub: HubRuntime) -> str:
    """The admin's start page (Tài khoản và hệ thống), logged in through the form."""
    async with aiohttp.ClientSession(hub.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as web:  # an IP
        page = await (await web.get("/login")).text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf
        r = await web.post("/login", data={"username": "admin1", "password": PASSWORD, "csrf": csrf.group(1),
                                           "next": "/"})
        assert r.status == 200, r.status
        return await (await web.get("/")).text()


async def _health(hub: HubRuntime) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/healthz") as r:
        return r.status, await r.json()


async def test_registry_changes_reach_the_broker_by_themselves(tmp_path: Path) -> None:
    mq, config = _rig(tmp_path, pid_file=str(tmp_path / "mq" / "mosquitto.pid"))
    (tmp_path / "passwd").chmod(0o640)  # given to the mosquitto group by the operator: stays so
    with mq:
        cfg = config()
        t = Topics(cfg.mqtt.topic_prefix)
        async with HubRuntime(cfg, scheduler=False) as hub, _admin(hub) as http:
            r = await http.post("/api/v1/devices", json={"id": "loa-1", "kind": "radio", "area": OLD})
            assert r.status == 201, await r.text()
            secret = (await r.json())["broker_password"]
            r = await http.post("/api/v1/devices", json={"id": "loa-2", "kind": "radio", "area": OLD})
            other = (await r.json())["broker_password"]
            async with aiomqtt.Client(mq.host, mq.port, username="hub", password=HUB_SECRET) as hubc:
                for area in (OLD, MERGED, "67/660/24631"):
                    await hubc.publish(t.program(area, "radio"), f"prog {area}".encode(), qos=1, retain=True)
            await _until(lambda: _can_connect(mq, "loa-1", secret), "loa-1 connects after registration")
            neighbour = t.program("67/660/24631", "radio")
            seen = await _reads(mq, "loa-1", secret, [t.program(OLD, "radio"), neighbour])
            assert seen == {t.program(OLD, "radio")}  # its commune's programme, not a neighbour's
            assert not await _can_connect(mq, "loa-1", other)  # another device's password

            r = await http.post("/api/v1/areas/reorganise", json={"plan": PLAN})
            assert r.status == 200, await r.text()

            async def moved() -> bool:
                got = await _reads(mq, "loa-1", secret, [t.program(OLD, "radio"), t.program(MERGED, "radio")])
                return got == {t.program(MERGED, "radio")}

            await _until(moved, "loa-1 reads its new commune's programme and not the old one")

            hub.services.accounts.create_user(  # type: ignore[union-attr]
                SYSTEM, username="op-b", password=PASSWORD, role="operator", area="67/661")
            async with aiohttp.ClientSession(hub.url) as other_op:  # someone else's device: not found
                r = await other_op.post("/api/v1/auth/login", json={"username": "op-b", "password": PASSWORD})
                token = {"Authorization": "Bearer " + (await r.json())["token"]}
                r = await other_op.post("/api/v1/devices/loa-1/broker-secret", headers=token)
                assert r.status == 404, await r.text()
            r = await http.post("/api/v1/devices/nope/broker-secret")
            assert r.status == 404, await r.text()
            r = await http.post("/api/v1/devices/loa-1/broker-secret")
            assert r.status == 200, await r.text()
            new = (await r.json())["broker_password"]
            await _until(lambda: _can_connect(mq, "loa-1", new), "the new secret works")
            assert not await _can_connect(mq, "loa-1", secret)

            async with aiohttp.ClientSession(hub.url) as other_op:  # not in op-b's area
                r = await other_op.delete("/api/v1/devices/loa-2", headers=token)
                assert r.status == 404, await r.text()
            r = await http.delete("/api/v1/devices/loa-2")
            assert r.status == 200, await r.text()

            async def refused() -> bool:
                return not await _can_connect(mq, "loa-2", other)

            await _until(refused, "a removed device is refused")
            status, body = await _health(hub)
            assert status == 200 and body["ok"], body
            assert (tmp_path / "acl").stat().st_mode & 0o777 == 0o600
            assert (tmp_path / "passwd").read_text().startswith("loa-1:$7$")
            assert (tmp_path / "passwd").stat().st_mode & 0o777 == 0o640


async def test_failing_reload_shows_on_healthz_and_next_change_retries(tmp_path: Path) -> None:
    """Two brokers: B's reload (its push script) fails. A is updated all the same, /healthz and the admin's
    start page say B is behind, and the next change retries at once (not after the 30 s backoff)."""
    block, pushed = tmp_path / "b-unreachable", tmp_path / "b-pushed"
    script = tmp_path / "push-b.sh"
    script.write_text(f'[ ! -e "{block}" ] || {{ echo "broker B unreachable" >&2; exit 3; }}\n'
                      f'cp "{tmp_path}/b/passwd" "{pushed}"\n')
    b = {"acl": str(tmp_path / "b" / "acl"), "password_file": str(tmp_path / "b" / "passwd"),
         "reload_command": ["/bin/sh", str(script)]}
    mq, config = _rig(tmp_path, retry_s=30, extra=(b,), pid_file=str(tmp_path / "mq" / "mosquitto.pid"))
    block.touch()  # from the start
    with mq:
        async with HubRuntime(config(), scheduler=False) as hub, _admin(hub) as http:
            r = await http.post("/api/v1/devices", json={"id": "loa-1", "kind": "radio", "area": OLD})
            secret = (await r.json())["broker_password"]

            async def stale() -> Any:
                status, body = await _health(hub)
                return body if status == 503 else None

            body = await _until(stale, "/healthz says the ACL is stale")
            assert "ACL của máy chủ MQTT chưa cập nhật từ" in body["reason"]
            assert "broker B unreachable" in body["reason"] and str(tmp_path / "b" / "acl") in body["reason"]
            assert body["broker_files"]["failing_since"] and "exited 3" in body["broker_files"]["error"]
            await _until(lambda: _can_connect(mq, "loa-1", secret), "broker A, not held back by B")
            assert not pushed.exists()
            assert (await _health(hub))[0] == 503
            assert "ACL của máy chủ MQTT chưa cập nhật từ" in await _admin_home(hub)  # the admin sees it too

            block.unlink()
            started = time.monotonic()
            r = await http.post("/api/v1/devices", json={"id": "loa-3", "kind": "radio", "area": OLD})
            assert r.status == 201

            async def b_has_both() -> bool:
                return pushed.exists() and {"loa-1", "loa-3"} <= set(read_password_lines(pushed))

            await _until(b_has_both, "the next change retries broker B at once")
            assert time.monotonic() - started < 15  # not the backoff's 30 s
            _, body = await _until(lambda: _health_ok(hub), "/healthz back to 200")
            assert body["broker_files"]["synced_at"] and body["broker_files"]["failing_since"] is None
            assert "ACL của máy chủ MQTT" not in await _admin_home(hub)


async def _health_ok(hub: HubRuntime) -> tuple[int, Any] | None:
    status, body = await _health(hub)
    return (status, body) if status == 200 else None


@pytest.mark.parametrize(("target", "error"), [
    ({"reload_command": ["/usr/sbin/no-such-reload"]}, "is not an executable file"),
    ({"reload_command": ["no-such-reload-cmd"]}, "not found on PATH"),
    ({}, "exactly one of reload_command"),
    ({"reload_command": ["true"], "pid_file": "/run/mosquitto.pid"}, "exactly one of reload_command"),
    ({"reload_command": ["true"], "acl": "acl"}, "absolute path"),
])
def test_bad_broker_files_config_is_refused_at_start(target: dict[str, Any], error: str) -> None:
    broker = {"acl": "/etc/mosquitto/acl", **target}
    with pytest.raises(ConfigError, match=error):
        build_config({"broker_files": {"brokers": [broker]}}, environ={})


def test_two_brokers_may_not_share_a_file() -> None:
    a = {"acl": "/etc/mosquitto/acl", "password_file": "/etc/mosquitto/passwd", "reload_command": ["true"]}
    b = {**a, "acl": "/srv/mqtt-b/acl"}
    with pytest.raises(ConfigError, match="/etc/mosquitto/passwd: each broker needs files of its own"):
        build_config({"broker_files": {"brokers": [a, b]}}, environ={})
    env = {"NGUON_HUB_BROKER_FILES__BROKERS": json.dumps([a, {**b, "password_file": "/srv/mqtt-b/passwd"}])}
    assert len(build_config({}, environ=env).broker_files.brokers) == 2  # from the environment too


def test_cli_device_add_secret_and_sync(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI: `device add` gives the password once, `device secret` a new one, `broker sync` writes the
    files and reloads now; a failing reload is an error naming the command."""
    marker = tmp_path / "reloaded"
    cfg_file = tmp_path / "hub.toml"
    cfg_file.write_text(
        f'data_dir = "{tmp_path / "hub"}"\n[mqtt]\nenabled = false\n[programme]\nscheduler = false\n'
        f'[[broker_files.brokers]]\nacl = "{tmp_path / "acl"}"\npassword_file = "{tmp_path / "passwd"}"\n'
        f'reload_command = ["/bin/sh", "-c", "echo x >> {marker}"]\n', encoding="utf-8")
    services = build_services(load_config(cfg_file), speech=object())
    services.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
    args = ["--config", str(cfg_file)]
    assert main([*args, "device", "add", "loa-9", "--kind", "radio", "--area", OLD]) == 0
    first = capsys.readouterr().err.rsplit(": ", 1)[1].strip()
    assert main([*args, "device", "secret", "loa-9"]) == 0
    second = capsys.readouterr().out.strip()
    assert len(second) > 20 and second != first
    assert main([*args, "device", "add", "loa-8", "--kind", "radio", "--area", OLD]) == 0
    assert main([*args, "device", "remove", "loa-8"]) == 0
    assert main([*args, "broker", "sync"]) == 0
    assert marker.read_text() == "x\n"
    assert "loa-8" not in (tmp_path / "acl").read_text()
    hashed = (tmp_path / "passwd").read_text().removeprefix("loa-9:").strip()
    assert check_password(second, hashed) and not check_password(first, hashed)
    assert "user loa-9" in (tmp_path / "acl").read_text()
    cfg_file.write_text(cfg_file.read_text().replace('"echo x', '"exit 4; echo x'), encoding="utf-8")
    assert main([*args, "broker", "sync"]) == 2
    assert "exited 4" in capsys.readouterr().err


def test_manual_mode_issues_no_secret(tmp_path: Path) -> None:
    manual = build_services(make_config(tmp_path), speech=object())
    manual.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
    out = manual.devices.register(SYSTEM, device_id="loa-y", kind="radio", area="67/660/24613")
    assert "broker_password" not in out
    with pytest.raises(Conflict, match="broker passwd"):
        manual.broker_secrets.rotate(SYSTEM, "loa-y")
    manual.ctx.db.dispose()
